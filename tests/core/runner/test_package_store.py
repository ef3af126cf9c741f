"""A job's packages by content hash (issue 20): what a worker machine fetches is exactly what
was submitted, and only what is inside the package."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from hpdash.core.runner.package_store import StoredPackage, open_blob, store_package
from hpdash.core.runner.packages import PackageError, stage_packages


def _pkg(root: Path, body: str = "print('ran')\n") -> Path:
    pkg = root / "trainer"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "task.py").write_text(body)
    return pkg


def _runs(paths: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run([sys.executable, "-m", "trainer.task"], env=env, capture_output=True,
                          text=True, cwd="/", check=True).stdout


def test_a_stored_directory_is_staged_from_the_store_once_the_original_is_gone(tmp_path):
    data = tmp_path / "data"
    store = data / "packages"
    stored = store_package(str(_pkg(tmp_path / "src")), store)
    assert stored.name == "trainer" and len(stored.sha256) == 64
    (tmp_path / "src" / "trainer" / "task.py").unlink()  # another machine: no original
    opened = open_blob(store, stored)
    assert opened == store / "open" / stored.sha256 / "trainer"
    # The data dir's store is the one place inside it that staging reads from.
    paths = stage_packages([str(opened)], str(tmp_path / "stage"), data_dir=str(data))
    assert _runs(paths) == "ran\n"


def test_the_same_content_is_one_blob_and_an_edit_is_another(tmp_path):
    store = tmp_path / "store"
    first = store_package(str(_pkg(tmp_path / "a")), store)
    again = store_package(str(tmp_path / "a" / "trainer"), store)
    assert first == again
    (tmp_path / "a" / "trainer" / "task.py").write_text("print('edited')\n")
    edited = store_package(str(tmp_path / "a" / "trainer"), store)
    assert edited.sha256 != first.sha256
    assert _runs([str(open_blob(store, first).parent)]) == "ran\n"
    assert _runs([str(open_blob(store, edited).parent)]) == "edited\n"


def test_links_out_of_the_package_and_fifos_are_left_out(tmp_path):
    pkg = _pkg(tmp_path / "src")
    (tmp_path / "secret").write_text("s3cret")
    (pkg / "leak").symlink_to(tmp_path / "secret")
    (pkg / "inside").symlink_to("task.py")
    os.mkfifo(pkg / "pipe")  # opening it would block the server
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "task.cpython-311.pyc").write_bytes(b"stale")
    store = tmp_path / "store"
    opened = open_blob(store, store_package(str(pkg), store))
    assert sorted(p.name for p in opened.iterdir()) == ["__init__.py", "inside", "task.py"]
    assert (opened / "inside").read_text() == "print('ran')\n"


def test_a_wheel_keeps_its_file_name(tmp_path):
    whl = tmp_path / "trainer-0.1-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("trainer/__init__.py", "")
        zf.writestr("trainer/task.py", "print('ran')\n")
    store = tmp_path / "store"
    opened = open_blob(store, store_package(str(whl), store))
    assert opened.name == whl.name and opened.read_bytes() == whl.read_bytes()
    assert _runs(stage_packages([str(opened)], str(tmp_path / "stage"))) == "ran\n"


def test_a_blob_with_anything_beside_its_package_is_refused(tmp_path):
    store = tmp_path / "store"
    (store / "blobs").mkdir(parents=True)
    evil = tmp_path / "evil.tar"
    (tmp_path / "x").write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(tmp_path / "x", arcname="trainer/x")
        tar.add(tmp_path / "x", arcname="other/x")
    sha = "a" * 64
    evil.rename(store / "blobs" / sha)
    with pytest.raises(PackageError, match="unexpected member 'other/x'"):
        open_blob(store, StoredPackage(sha256=sha, name="trainer", size=0))
    assert not (store / "open" / sha).exists()


def test_a_package_past_the_cap_is_refused(tmp_path, monkeypatch):
    from hpdash.core.runner import packages

    monkeypatch.setattr(packages, "MAX_UNPACKED_BYTES", 100_000)
    pkg = _pkg(tmp_path / "src")
    (pkg / "big.bin").write_bytes(os.urandom(3_000_000))
    with pytest.raises(PackageError, match="more than 0 MiB"):
        store_package(str(pkg), tmp_path / "store")
    assert os.listdir(tmp_path / "store" / "blobs") == []


def test_prune_removes_only_old_packages_no_job_records_and_never_follows_a_link(tmp_path):
    from hpdash.core.runner.package_store import prune

    store = tmp_path / "packages"
    kept = store_package(str(_pkg(tmp_path / "a")), store)
    gone = store_package(str(_pkg(tmp_path / "b", "print('b')\n")), store)
    young = store_package(str(_pkg(tmp_path / "c", "print('c')\n")), store)
    open_blob(store, gone)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("x")
    (store / "open" / ("f" * 64)).symlink_to(victim)  # planted: never followed
    now = os.stat(store / "blobs" / young.sha256).st_mtime
    for p in (kept, gone):
        os.utime(store / "blobs" / p.sha256, (now - 3600, now - 3600))
    assert prune(store, {kept.sha256}, now=now + 1) == [gone.sha256]
    assert sorted(os.listdir(store / "blobs")) == sorted([kept.sha256, young.sha256])
    assert not (store / "open" / gone.sha256).exists()
    assert (victim / "keep.txt").exists()
    assert prune(tmp_path / "nothing-here", set(), now=now) == []
