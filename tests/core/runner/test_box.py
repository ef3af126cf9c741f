"""The trial box: a uid no other running trial has, and what bubblewrap is told to show."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hpdash.core.runner.box import (
    BoxSettings,
    UidBusy,
    box_argv,
    lease_uid,
    open_dir,
    reown_tree,
)

UIDS = range(230000, 230004)
BOX = BoxSettings(bwrap="/usr/bin/bwrap", uids=UIDS, share_gid=65534)


def test_two_running_trials_never_get_the_same_uid(tmp_path: Path):
    first = lease_uid(tmp_path, UIDS, seed=7)
    second = lease_uid(tmp_path, UIDS, seed=7)  # another worker, the same seed
    assert first.uid in UIDS and second.uid in UIDS
    assert first.uid != second.uid


def test_a_released_uid_can_be_leased_again(tmp_path: Path):
    first = lease_uid(tmp_path, UIDS, seed=1)
    first.release()
    assert lease_uid(tmp_path, UIDS, seed=1).uid == first.uid


def test_when_every_uid_runs_a_trial_the_next_trial_is_told_why(tmp_path: Path):
    held = [lease_uid(tmp_path, UIDS, seed=0) for _ in UIDS]
    assert sorted(lease.uid for lease in held) == list(UIDS)
    with pytest.raises(UidBusy, match="HPDASH_TRIAL_UIDS"):
        lease_uid(tmp_path, UIDS, seed=0)


def test_a_lease_held_by_another_process_is_not_given_out(tmp_path: Path):
    holder = subprocess.Popen(
        ["python3", "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(tmp_path / str(UIDS[2]))!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert lease_uid(tmp_path, UIDS, seed=2).uid == UIDS[3]
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="starting a process as another uid needs root")
def test_a_uid_that_still_has_a_process_is_skipped(tmp_path: Path):
    leftover = subprocess.Popen(["sleep", "30"], user=UIDS[0], group=UIDS[0], extra_groups=[])
    try:
        deadline = time.monotonic() + 5
        while os.stat(f"/proc/{leftover.pid}").st_uid != UIDS[0]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert lease_uid(tmp_path, UIDS, seed=0).uid == UIDS[1]
    finally:
        leftover.kill()
        leftover.wait()


def _pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_the_box_shows_the_interpreter_and_packages_read_only_and_hides_the_data_dir(
        tmp_path: Path):
    data = tmp_path / "data"
    packages = str(data / "sandbox" / "p" / "j" / "packages" / "abc")
    argv = box_argv(BOX, uid=UIDS[0], cwd=data / "trial", writable=[(9, data / "trial")],
                    readable=[str(tmp_path), packages], hide=[data])
    assert (str(tmp_path), str(tmp_path)) in _pairs(argv, "--ro-bind")
    # The data dir under a readable path is masked, then only the packages show through it.
    mask = argv.index("--tmpfs", argv.index(str(tmp_path)))
    assert argv[mask + 1] == str(data)
    assert argv.index(packages) > mask
    assert ("9", str(data / "trial")) in _pairs(argv, "--bind-fd")
    assert argv.index("--bind-fd") > mask


def test_the_trainer_runs_as_its_uid_with_no_capabilities_and_no_new_privileges(
        tmp_path: Path):
    argv = box_argv(BOX, uid=UIDS[1], cwd=tmp_path, writable=[], readable=[], hide=[])
    setpriv = argv[argv.index("/usr/bin/setpriv"):]
    assert f"--reuid={UIDS[1]}" in setpriv and f"--regid={UIDS[1]}" in setpriv
    assert {"--groups=65534", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"} <= set(
        setpriv)
    assert setpriv[-1] == "--"
    assert {"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"} <= set(argv)


def test_no_network_is_a_network_namespace_of_its_own(tmp_path: Path):
    shared = box_argv(BOX, uid=UIDS[0], cwd=tmp_path, writable=[], readable=[], hide=[])
    assert "--unshare-net" not in shared
    closed = BoxSettings(bwrap="/usr/bin/bwrap", uids=UIDS, share_gid=65534, network=False)
    assert "--unshare-net" in box_argv(closed, uid=UIDS[0], cwd=tmp_path, writable=[],
                                       readable=[], hide=[])


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap"),
                    reason="boxing needs root and bubblewrap (CI has both)")
@pytest.mark.parametrize("network", [True, False])
def test_a_boxed_trainer_reaches_the_web_port_only_with_the_hosts_network(tmp_path: Path,
                                                                          network: bool):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    box = BoxSettings(bwrap=shutil.which("bwrap") or "", uids=UIDS, share_gid=65534,
                      network=network)
    argv = box_argv(box, uid=UIDS[0], cwd=Path("/"), writable=[], readable=[], hide=[])
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"
    try:
        done = subprocess.run([*argv, "/usr/bin/python3", "-c", code], capture_output=True,
                              text=True, timeout=60, check=False)
    finally:
        server.close()
    assert (done.returncode == 0) == network, done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_retried_trial_gets_its_earlier_attempts_files_and_nobody_elses(tmp_path: Path):
    trial = tmp_path / "job" / "1"
    (trial / "ckpt").mkdir(parents=True)
    for path in (trial, trial / "ckpt", trial / "ckpt" / "model.pt"):
        if not path.exists():
            path.write_text("weights")
        os.chown(path, UIDS[0], UIDS[0])
    (trial / "root-owned").write_text("x")  # not an earlier attempt's: left alone
    os.link(trial / "ckpt" / "model.pt", tmp_path / "elsewhere")  # two links: left alone
    (trial / "solo.txt").write_text("y")
    os.chown(trial / "solo.txt", UIDS[0], UIDS[0])
    os.symlink("/etc/passwd", trial / "link")
    fd = open_dir(trial)
    try:
        reown_tree(fd, UIDS[1], UIDS)
    finally:
        os.close(fd)
    owner = {p.name: p.lstat().st_uid for p in [trial, *trial.rglob("*")]}
    assert owner["1"] == owner["ckpt"] == owner["solo.txt"] == UIDS[1]
    assert owner["model.pt"] == UIDS[0]
    assert owner["root-owned"] == 0 and owner["link"] == 0
    assert os.stat("/etc/passwd").st_uid == 0
