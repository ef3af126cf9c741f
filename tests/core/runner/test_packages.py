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
