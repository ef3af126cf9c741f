"""--package-path builds a real sdist, with the package's own setup.py or a generated one."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from hpdash.cli.packaging import PackagingError, build_and_stage, build_sdist, stage


def _package(root: Path, name: str = "trainer") -> Path:
    pkg = root / name
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "task.py").write_text("print('training')\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "util.py").write_text("X = 1\n")
    return pkg


def _members(archive: Path) -> set[str]:
    with tarfile.open(archive) as tf:
        return {m.split("/", 1)[1] for m in tf.getnames() if "/" in m}


def test_without_setup_py_a_minimal_one_is_generated_and_the_tree_is_left_untouched(
        tmp_path: Path):
    pkg = _package(tmp_path / "src")
    [archive] = build_sdist(pkg, tmp_path / "out")
    assert archive.name == "trainer-0.0.0.tar.gz" and archive.is_absolute()
    members = _members(archive)
    assert {"trainer/__init__.py", "trainer/task.py", "trainer/sub/__init__.py",
            "trainer/sub/util.py", "setup.py"} <= members
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["trainer"]
    assert sorted(p.name for p in pkg.iterdir()) == ["__init__.py", "sub", "task.py"]


def test_the_parents_setup_py_is_used_when_there_is_one(tmp_path: Path):
    root = tmp_path / "project"
    pkg = _package(root)
    (root / "setup.py").write_text(
        "from setuptools import setup, find_packages\n"
        "setup(name='my-trainer', version='1.2', packages=find_packages())\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    [archive] = build_sdist(pkg, tmp_path / "out")
    assert archive.name in ("my_trainer-1.2.tar.gz", "my-trainer-1.2.tar.gz")
    members = _members(archive)
    assert {"trainer/__init__.py", "trainer/task.py", "trainer/sub/util.py"} <= members
    assert not any(m.startswith(".git") for m in members)
    assert not list(root.glob("*.egg-info")) and not (root / "build").exists(), \
        "the build ran in a copy"


def test_a_directory_without_init_py_is_not_a_package(tmp_path: Path):
    (tmp_path / "notpkg").mkdir()
    with pytest.raises(PackagingError, match="does not contain an `__init__.py`"):
        build_sdist(tmp_path / "notpkg", tmp_path / "out")


def test_a_missing_directory_is_reported(tmp_path: Path):
    with pytest.raises(PackagingError, match="not a directory"):
        build_sdist(tmp_path / "missing", tmp_path / "out")


def test_a_failing_setup_py_shows_its_output_and_a_hint(tmp_path: Path):
    root = tmp_path / "project"
    pkg = _package(root)
    (root / "setup.py").write_text("raise SystemExit('broken setup: boom')\n")
    with pytest.raises(PackagingError, match="(?s)broken setup: boom.*--packages"):
        build_sdist(pkg, tmp_path / "out")


def test_staging_puts_the_archive_under_job_and_checksum_and_reuses_identical_bytes(
        tmp_path: Path):
    archive = tmp_path / "t-0.0.0.tar.gz"
    archive.write_bytes(b"one")
    first = stage(archive, tmp_path / "staging", "job_1")
    assert first.is_absolute() and first.read_bytes() == b"one"
    assert first.parent.parent == (tmp_path / "staging" / "job_1").resolve()
    assert stage(archive, tmp_path / "staging", "job_1") == first
    archive.write_bytes(b"two")
    second = stage(archive, tmp_path / "staging", "job_1")
    assert second != first and first.read_bytes() == b"one", "never overwrites a staged file"


def test_build_and_stage_returns_absolute_archives_the_server_can_read(tmp_path: Path):
    pkg = _package(tmp_path / "src")
    [path] = build_and_stage(str(pkg), tmp_path / "staging", "job_2")
    staged = Path(path)
    assert staged.is_absolute() and staged.is_file()
    assert staged.is_relative_to((tmp_path / "staging" / "job_2").resolve())
    assert "trainer/task.py" in _members(staged)


@pytest.mark.parametrize("job_id", ["../escape", "a/b", "..", ""])
def test_a_job_id_cannot_place_the_archive_outside_the_staging_dir(tmp_path: Path, job_id: str):
    archive = tmp_path / "t.tar.gz"
    archive.write_bytes(b"x")
    with pytest.raises(PackagingError, match="invalid job id"):
        stage(archive, tmp_path / "staging", job_id)
    assert not (tmp_path / "escape").exists()
