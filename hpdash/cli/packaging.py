"""``--package-path``: build an sdist of a local package the way gcloud does
(``command_lib/ml_engine/jobs_prep.py`` ``BuildPackages``), then stage it where the server can
read it.

- The package is the directory itself (it must hold ``__init__.py``); its *parent* is the
  build context. If the parent has a ``setup.py``, that is used; otherwise a minimal one
  (``name=<package>``, ``packages=find_packages()``) is generated.
- ``python setup.py sdist`` runs in a temporary copy, so the user's tree is left untouched
  (gcloud runs in place and deletes its generated ``setup.py`` afterwards).
- The archive is staged as ``<staging root>/<jobId>/<sha256[:12]>/<name>.tar.gz`` (gcloud:
  ``gs://<staging bucket>/<job>/<checksum>/<name>.tar.gz``): a resubmission under the same job
  id never overwrites a package a queued job still needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_SETUP_PY = """\
from setuptools import find_packages, setup

setup(name={name!r}, packages=find_packages())
"""

# Not part of a package's source: never copied into the build context.
_IGNORE = shutil.ignore_patterns(
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "*.pyc",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules", "build", "dist",
    "*.egg-info",
)


class PackagingError(Exception):
    pass


def default_staging_root(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if env.get("HPDASH_STAGING_DIR"):
        return Path(env["HPDASH_STAGING_DIR"]).expanduser()
    cache = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hpdash" / "staging"


def _run_sdist(python: str, context: Path, dist: Path, work: Path) -> None:
    # gcloud's fallbacks: the full invocation keeps egg-info and build dirs out of the context;
    # plain `sdist` also works for distutils-only setup.py files.
    attempts = [
        ["egg_info", "--egg-base", str(work), "sdist", "--dist-dir", str(dist)],
        ["sdist", "--dist-dir", str(dist)],
    ]
    output = ""
    for args in attempts:
        proc = subprocess.run([python, "setup.py", *args], check=False, cwd=context,
                              capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        if proc.returncode == 0:
            return
        output = (proc.stdout + proc.stderr).strip()
        if "No module named 'setuptools'" in output:
            break
    raise PackagingError(output)


def build_sdist(package_path: str | os.PathLike[str], output_dir: str | os.PathLike[str],
                python: str | None = None) -> list[Path]:
    """Build ``package_path`` into ``output_dir``; returns the archives built."""
    package = Path(package_path).expanduser().resolve()
    if not package.is_dir():
        raise PackagingError(f"--package-path {package_path}: not a directory")
    if not (package / "__init__.py").is_file():
        raise PackagingError(
            f"[{package}] is not a valid Python package because it does not contain an "
            "`__init__.py` file. Please create one and try again. Also, please ensure that "
            "--package-path refers to a local directory.")
    root = package.parent
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hpdash-sdist-") as tmp:
        context = Path(tmp) / "context"
        generated = not (root / "setup.py").is_file()
        try:
            if generated:
                shutil.copytree(package, context / package.name, ignore=_IGNORE)
                (context / "setup.py").write_text(DEFAULT_SETUP_PY.format(name=package.name))
            else:
                shutil.copytree(root, context, ignore=_IGNORE, symlinks=True)
        except (OSError, shutil.Error) as exc:
            raise PackagingError(f"cannot copy {package} to build it: {exc}") from None
        dist, work = Path(tmp) / "dist", Path(tmp) / "work"
        work.mkdir()
        try:
            _run_sdist(python or sys.executable, context, dist, work)
        except PackagingError as exc:
            hint = ("Try manually writing a setup.py file at your package root and rerunning "
                    "the command." if generated else
                    "Try building it yourself (`python setup.py sdist`) and pass the archive "
                    "with --packages.")
            if "No module named 'setuptools'" in str(exc):
                hint = ("Building --package-path needs setuptools: `pip install setuptools`, or "
                        "build the archive yourself and pass it with --packages.")
            raise PackagingError(
                f"Packaging of user Python code failed with message:\n\n{exc}\n\n{hint}"
            ) from None
        built = sorted(p for p in dist.iterdir() if p.is_file()) if dist.is_dir() else []
        if not built:
            raise PackagingError(f"`python setup.py sdist` built nothing for {package}")
        results = []
        for archive in built:
            target = out / archive.name
            shutil.move(str(archive), target)
            results.append(target.resolve())
        return results


def stage(archive: Path, staging_root: str | os.PathLike[str], job_id: str) -> Path:
    """Copy ``archive`` to ``<root>/<job_id>/<sha256[:12]>/<name>``; returns its absolute path."""
    # The job id is validated by the server only later: never let it leave the staging root.
    if not job_id or job_id in (".", "..") or "/" in job_id or os.sep in job_id:
        raise PackagingError(f"invalid job id {job_id!r}: letters, digits and underscores")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:12]
    folder = Path(staging_root).expanduser().resolve() / job_id / digest
    target = folder / archive.name
    if target.is_file():  # the very same bytes were staged before
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".staging-")
    os.close(fd)
    try:
        shutil.copyfile(archive, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def staged_files(staging_root: str | os.PathLike[str], job_id: str) -> set[Path]:
    """The archives already staged for ``job_id`` (absolute paths)."""
    folder = Path(staging_root).expanduser().resolve() / job_id
    if not job_id or "/" in job_id or job_id in (".", "..") or not folder.is_dir():
        return set()
    return {p.resolve() for p in folder.glob("*/*") if p.is_file()}


def unstage(archives: list[Path]) -> None:
    """Remove archives this submission staged, and their checksum folder once empty."""
    for archive in archives:
        archive.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: another archive of the same build
            archive.parent.rmdir()


def build_and_stage(package_path: str, staging_root: str | os.PathLike[str], job_id: str
                    ) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="hpdash-dist-") as out:
        return [str(stage(a, staging_root, job_id)) for a in build_sdist(package_path, out)]
