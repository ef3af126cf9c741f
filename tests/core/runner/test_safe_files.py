"""What the root worker does with files a trainer could have planted: no link followed, no
FIFO opened for reading, no directory taken over that is not hpdash's, sizes capped."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from hpdash.core.runner import safe_files
from hpdash.core.runner.metrics import HypertuneFollower
from hpdash.core.runner.sandbox import SandboxError, TrialUser, own_job_dir

NOBODY = TrialUser("nobody", 65534, 65534)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root (CI runs as root)")


def test_a_regular_file_is_read_up_to_its_cap(tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x" * 100)
    assert safe_files.read_regular(tmp_path, "d/f", 10) == b"x" * 10


def test_a_link_anywhere_below_the_anchor_is_refused(tmp_path: Path):
    secret = tmp_path / "secret"
    secret.write_text("s")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").symlink_to(secret)
    (tmp_path / "dirlink").symlink_to(tmp_path / "d")
    (tmp_path / "d" / "real").write_text("r")
    with pytest.raises(safe_files.UnsafePath):
        safe_files.read_regular(tmp_path, "d/f", 10)
    with pytest.raises(safe_files.UnsafePath):
        safe_files.read_regular(tmp_path, "dirlink/real", 10)
    with pytest.raises(safe_files.UnsafePath):
        safe_files.open_append(tmp_path / "d" / "f")


def test_a_fifo_is_refused_at_once_for_reading_and_appending(tmp_path: Path):
    os.mkfifo(tmp_path / "fifo")
    started = time.monotonic()
    with pytest.raises(safe_files.UnsafePath):
        safe_files.read_regular(tmp_path, "fifo", 10)
    with pytest.raises(OSError):  # no reader: ENXIO, never a wait
        safe_files.open_append(tmp_path / "fifo")
    assert time.monotonic() - started < 1


def test_a_directory_that_exists_is_taken_only_when_accepted(tmp_path: Path):
    (tmp_path / "theirs").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "theirs")
    with safe_files.dir_fd(tmp_path) as parent:
        with pytest.raises(safe_files.UnsafePath, match="already exists"):
            safe_files.make_dir(parent, "theirs")
        with pytest.raises(safe_files.UnsafePath):
            safe_files.make_dir(parent, "link", accept=lambda st: True)
        os.close(safe_files.make_dir(parent, "theirs", accept=lambda st: True))
        fd = safe_files.make_dir(parent, "new", 0o751)
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o751  # whatever the umask
        os.close(fd)


def test_a_fresh_dir_removes_a_planted_link_without_touching_its_target(tmp_path: Path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_text("k")
    (tmp_path / "trial").symlink_to(target)
    with safe_files.dir_fd(tmp_path) as parent:
        os.close(safe_files.fresh_dir(parent, "trial"))
    assert (tmp_path / "trial").is_dir() and not (tmp_path / "trial").is_symlink()
    assert (target / "keep").read_text() == "k"


def test_walking_a_tree_skips_links_and_special_files(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "events.out.tfevents.1").write_text("x")
    root = tmp_path / "root"
    (root / "train").mkdir(parents=True)
    (root / "train" / "events.out.tfevents.2").write_text("y")
    (root / "escape").symlink_to(outside)
    (root / "file-link").symlink_to(outside / "events.out.tfevents.1")
    os.mkfifo(root / "fifo")
    with safe_files.dir_fd(root) as fd:
        assert [rel for rel, _ in safe_files.walk_files(fd)] == ["train/events.out.tfevents.2"]


def test_the_metric_follower_never_blocks_on_a_fifo_nor_reads_through_a_link(tmp_path: Path):
    trial = tmp_path / "trials" / "1" / "hypertune"
    trial.mkdir(parents=True)
    secret = tmp_path / "secret.json"
    secret.write_text('{"score": "TOPSECRET"}\n')
    metric = trial / "output.metrics"
    metric.symlink_to(secret)
    follower = HypertuneFollower(str(metric), "score", trusted=str(tmp_path / "trials"))
    assert follower.poll() == [] and "TOPSECRET" not in " ".join(follower.rejected)
    assert "is not a regular file" in follower.rejected[0]
    metric.unlink()
    os.mkfifo(metric)
    started = time.monotonic()
    assert follower.poll() == []
    assert time.monotonic() - started < 1


@as_root
def test_a_job_dir_through_a_trainers_folder_is_refused(tmp_path: Path):
    out = tmp_path / "out"
    own_job_dir(out / "1", NOBODY)
    assert (out / "1").stat().st_uid == NOBODY.uid
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o700)
    (out / "1" / "1").symlink_to(victim)  # planted by trial 1
    with pytest.raises(SandboxError, match="a directory a trainer owns"):
        own_job_dir(out / "1" / "1", NOBODY)
    assert victim.stat().st_uid == 0


@as_root
def test_a_trials_job_dir_takes_the_job_dirs_group_and_is_setgid(tmp_path: Path):
    tmp_path.chmod(0o711)
    out = tmp_path / "out"
    out.mkdir(mode=0o750)
    os.chown(out, 0, 100)
    out.chmod(0o751)
    own_job_dir(out / "3", NOBODY)
    st = (out / "3").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY.uid, 100, 0o2750)
    own_job_dir(out / "3", NOBODY)  # a later attempt takes it over


@as_root
def test_a_trial_job_dir_someone_else_made_is_refused(tmp_path: Path):
    tmp_path.chmod(0o711)
    (tmp_path / "out" / "2").mkdir(parents=True)
    (tmp_path / "out").chmod(0o755)
    os.chown(tmp_path / "out" / "2", 4242, 4242)
    with pytest.raises(SandboxError, match="not hpdash's own"):
        own_job_dir(tmp_path / "out" / "2", NOBODY)


@as_root
def test_a_link_a_trainer_made_on_the_way_to_the_job_dir_is_refused(tmp_path: Path):
    tmp_path.chmod(0o711)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    (tmp_path / "out").symlink_to(elsewhere)  # as a trainer would in /tmp
    os.lchown(tmp_path / "out", NOBODY.uid, NOBODY.gid)
    with pytest.raises(SandboxError, match="a symbolic link a trainer made"):
        own_job_dir(tmp_path / "out" / "1", NOBODY)
    assert not (elsewhere / "1").exists()
