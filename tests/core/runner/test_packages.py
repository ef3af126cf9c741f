import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

from hpdash.core.runner.packages import PackageError, stage_packages


def _make_pkg(root, name="trainer"):
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "task.py").write_text("print('ran', __name__)\n")
    return pkg


def _runs(paths, module="trainer.task"):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    out = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True,
                         text=True, cwd="/")
    return out.returncode == 0 and "ran" in out.stdout


def test_a_package_directory_puts_its_parent_on_the_path(tmp_path):
    pkg = _make_pkg(tmp_path / "src")
    assert _runs(stage_packages([str(pkg)], str(tmp_path / "stage")))


def test_a_source_tree_and_a_file_uri_work(tmp_path):
    _make_pkg(tmp_path / "proj")
    assert _runs(stage_packages([f"file://{tmp_path / 'proj'}"], str(tmp_path / "stage")))


def test_an_sdist_is_unpacked_and_importable(tmp_path):
    _make_pkg(tmp_path / "trainer-0.1")
    (tmp_path / "trainer-0.1" / "setup.py").write_text("")
    sdist = tmp_path / "trainer-0.1.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        tf.add(tmp_path / "trainer-0.1", arcname="trainer-0.1")
    assert _runs(stage_packages([str(sdist)], str(tmp_path / "stage")))


def test_a_wheel_is_unpacked_and_importable(tmp_path):
    whl = tmp_path / "trainer-0.1-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("trainer/__init__.py", "")
        zf.writestr("trainer/task.py", "print('ran')\n")
    assert _runs(stage_packages([str(whl)], str(tmp_path / "stage")))


def test_a_missing_package_is_a_clear_error(tmp_path):
    with pytest.raises(PackageError, match="does not exist"):
        stage_packages([str(tmp_path / "nope.tar.gz")], str(tmp_path / "stage"))


def test_an_archive_with_path_traversal_is_refused(tmp_path):
    whl = tmp_path / "evil-0.1-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("../../escape.py", "")
    with pytest.raises(PackageError, match="unsafe"):
        stage_packages([str(whl)], str(tmp_path / "stage"))


def test_a_package_directory_is_copied_so_later_edits_do_not_change_the_running_job(tmp_path):
    pkg = _make_pkg(tmp_path / "src")
    paths = stage_packages([str(pkg)], str(tmp_path / "stage"))
    assert paths[0].startswith(str(tmp_path / "stage"))
    (pkg / "task.py").write_text("raise SystemExit('edited after the job started')\n")
    assert _runs(stage_packages([str(pkg)], str(tmp_path / "stage")))  # the job's own copy


def test_an_archive_that_unpacks_past_the_cap_is_refused(tmp_path, monkeypatch):
    from hpdash.core.runner import packages

    monkeypatch.setattr(packages, "MAX_UNPACKED_BYTES", 1_000_000)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("trainer/__init__.py", "")
        zf.writestr("trainer/zeros.bin", b"\0" * 5_000_000)  # ~5 KB compressed
    assert bomb.stat().st_size < 50_000
    with pytest.raises(PackageError, match="would unpack to 5 MiB, more than 0 MiB"):
        stage_packages([str(bomb)], str(tmp_path / "stage"))
    assert not list((tmp_path / "stage").glob("[!.]*"))


def test_with_a_trial_group_the_staged_files_are_readable_by_that_group_only(tmp_path):
    pkg = _make_pkg(tmp_path / "src")
    gid = os.getgid()
    root = stage_packages([str(pkg)], str(tmp_path / "stage"), group=gid)[0]
    task = os.path.join(root, "trainer", "task.py")
    assert os.stat(task).st_mode & 0o777 == 0o640 and os.stat(task).st_gid == gid
    assert os.stat(root).st_mode & 0o777 == 0o750


def test_a_cancelled_job_stops_its_staging_and_leaves_nothing_behind(tmp_path):
    pkg = _make_pkg(tmp_path / "src")
    for i in range(50):
        (pkg / f"data{i}.bin").write_bytes(b"x" * 1000)
    asked = []

    def cancelled():
        asked.append(1)
        return len(asked) > 5

    with pytest.raises(PackageError, match="the job was cancelled"):
        stage_packages([str(pkg)], str(tmp_path / "dest"), cancelled=cancelled)
    assert os.listdir(tmp_path / "dest") == []


def test_a_directory_over_the_size_cap_is_refused(tmp_path, monkeypatch):
    from hpdash.core.runner import packages

    monkeypatch.setattr(packages, "MAX_UNPACKED_BYTES", 10_000)
    pkg = _make_pkg(tmp_path / "src")
    for i in range(3):
        (pkg / f"data{i}.bin").write_bytes(b"x" * 5000)
    with pytest.raises(PackageError, match="holds more than"):
        stage_packages([str(pkg)], str(tmp_path / "dest"))


def test_a_fifo_in_a_package_is_skipped_not_opened(tmp_path):
    pkg = _make_pkg(tmp_path / "src")
    os.mkfifo(pkg / "trap")
    paths = stage_packages([str(pkg)], str(tmp_path / "dest"))
    assert _runs(paths)
    assert not os.path.lexists(os.path.join(paths[0], "trainer", "trap"))


def test_the_worker_refuses_a_package_that_became_a_link_into_the_data_dir(tmp_path):
    data = tmp_path / "data"
    (data / "jobs").mkdir(parents=True)
    (tmp_path / "pkg").symlink_to(data / "jobs")
    with pytest.raises(PackageError, match="data directory"):
        stage_packages([str(tmp_path / "pkg")], str(tmp_path / "dest"), data_dir=str(data))


def test_a_fifo_named_like_an_archive_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "trainer.tar.gz")
    with pytest.raises(PackageError, match="not a regular file"):
        stage_packages([str(tmp_path / "trainer.tar.gz")], str(tmp_path / "dest"))
