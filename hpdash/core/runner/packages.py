"""Makes a job's ``packageUris`` importable by its trials.

Each URI is a local absolute path or a ``file://`` URI to one of:

- a package directory containing ``__init__.py`` (what gcloud's ``--package-path`` points at):
  its parent directory goes on ``PYTHONPATH``;
- any other directory (a source tree): itself goes on ``PYTHONPATH``, or its ``src/`` if it has
  one (src layout);
- an sdist (``.tar.gz``/``.tgz``/``.zip``): unpacked, then treated as a source tree;
- a wheel (``.whl``): unpacked (a wheel is importable as unpacked).

Every package is copied (a directory) or unpacked (an archive) into the job's own ``dest`` the
first time one of its trials starts, atomically (concurrent workers race safely), and made
readable there: later edits of the original do not change a running job, and a sandboxed
trainer reads its packages without access to where they came from.  Archives unpack to at most
``MAX_UNPACKED_BYTES``, a directory copies at most as much (only regular files and links: a
FIFO or device in it is skipped, never opened); the copy asks ``cancelled()`` as it goes and
stops when it says so (the job was cancelled).  Before copying, the path is checked again
against :mod:`hpdash.core.path_policy` (it may have become a link into the data dir since the
job was created).  Dependencies declared by the package are *not* installed: the worker's
environment must have them (decision recorded in the README).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable

from hpdash.core.path_policy import PathUse, path_refusal
from hpdash.core.spec.types import local_path


class PackageError(Exception):
    pass


MAX_UNPACKED_BYTES = 1024**3  # 1 GiB: a 204 KB zip once unpacked to 200 MB


def _source_root(path: str) -> str:
    if os.path.isfile(os.path.join(path, "__init__.py")):
        return os.path.dirname(path.rstrip("/"))
    src = os.path.join(path, "src")
    if os.path.isdir(src) and not any(
        os.path.isfile(os.path.join(path, d, "__init__.py")) for d in os.listdir(path)
    ):
        return src
    return path


def _too_large(archive: str, total: int) -> None:
    if total > MAX_UNPACKED_BYTES:
        raise PackageError(f"{archive} would unpack to {total / 1024**2:.0f} MiB, more than "
                           f"{MAX_UNPACKED_BYTES // 1024**2} MiB")


def _unpack(archive: str, target: str) -> None:
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in name.split("/"):
                    raise PackageError(f"{archive}: unsafe path {name!r} in archive")
            _too_large(archive, sum(i.file_size for i in zf.infolist()))
            zf.extractall(target)  # noqa: S202 - every member name was checked above
    else:
        with tarfile.open(archive) as tf:
            _too_large(archive, sum(m.size for m in tf.getmembers()))
            if hasattr(tarfile, "data_filter"):
                tf.extractall(target, filter="data")
            else:  # Python before 3.11.4 (Debian 12's 3.11.2) has no extraction filters
                members = [_safe_member(archive, m) for m in tf.getmembers()]
                tf.extractall(target, members=members)  # noqa: S202 - checked just above


def _safe_member(archive: str, m: tarfile.TarInfo) -> tarfile.TarInfo:
    """What the "data" filter allows: regular files, directories and links that stay inside
    the target, owned by the extracting user, without set-id bits."""
    def escapes(name: str) -> bool:
        return name.startswith("/") or ".." in name.split("/")

    if escapes(m.name) or not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
        raise PackageError(f"{archive}: unsafe member {m.name!r} in archive")
    if (m.issym() or m.islnk()) and escapes(m.linkname):
        raise PackageError(f"{archive}: link {m.name!r} points outside the archive")
    m.mode &= 0o755
    m.uid = m.gid = 0
    m.uname = m.gname = ""
    return m


class _Budget:
    """The copy function of a directory's staging: regular files only, at most
    ``MAX_UNPACKED_BYTES`` in all, stopping when ``cancelled()`` says so."""

    def __init__(self, uri: str, cancelled: Callable[[], bool] | None) -> None:
        self.uri, self.cancelled, self.used = uri, cancelled, 0

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise PackageError(f"staging {self.uri} stopped: the job was cancelled")

    def copy(self, src: str, dst: str, *, follow_symlinks: bool = True) -> str:
        self.check()
        st = os.lstat(src)
        if not stat.S_ISREG(st.st_mode):
            return dst  # a FIFO, socket or device: never opened
        self.used += st.st_size
        if self.used > MAX_UNPACKED_BYTES:
            raise PackageError(f"{self.uri} holds more than {MAX_UNPACKED_BYTES // 1024**2} "
                               "MiB: stage a smaller package")
        return str(shutil.copy2(src, dst, follow_symlinks=False))


def _copy_dir(path: str, target: str, budget: _Budget) -> None:
    """A package directory as it is now, symlinks kept as links (never followed out)."""
    shutil.copytree(path, target, symlinks=True, copy_function=budget.copy,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))


def _share_with(path: str, group: int, *, executable: bool) -> None:
    os.chown(path, -1, group, follow_symlinks=False)
    os.chmod(path, 0o750 if executable else 0o640)


def _make_readable(root: str, group: int | None) -> None:
    """With a trial ``group``: directories 0750 and files 0640 (0750 if executable) of that
    group, so the trial user reads them and only the service writes them.  Without one the
    files stay private to the service's user, who runs the trainers."""
    if group is None:
        return
    for base, _dirs, files in os.walk(root):
        _share_with(base, group, executable=True)
        for name in files:
            full = os.path.join(base, name)
            if not os.path.islink(full):
                _share_with(full, group, executable=bool(os.stat(full).st_mode & 0o100))


def _unpacked_root(target: str, archive: str) -> str:
    if archive.endswith(".whl"):
        return target
    entries = [e for e in os.listdir(target) if not e.startswith(".")]
    # An sdist holds one top-level folder, <name>-<version>/
    if len(entries) == 1 and os.path.isdir(os.path.join(target, entries[0])):
        return _source_root(os.path.join(target, entries[0]))
    return _source_root(target)


def stage_packages(uris: list[str] | tuple[str, ...], dest: str, group: int | None = None,
                   *, data_dir: str | None = None, cancelled: Callable[[], bool] | None = None
                   ) -> list[str]:
    """Copy or unpack ``uris`` into ``dest`` (once per job) and return the ``PYTHONPATH``
    entries that make them importable, in order; with ``group`` (the trial user's), readable
    by that group."""
    paths: list[str] = []
    for uri in uris:
        path = local_path(uri)
        if (data_dir is not None and not _unpacked_from_store(path, data_dir)
                and (why := path_refusal(path, use=PathUse.PACKAGE, data_dir=data_dir,
                                         allowed=("/",)))):
            raise PackageError(f"package {why}")
        if not os.path.exists(path):
            raise PackageError(f"package {uri} does not exist on this worker")
        is_dir = os.path.isdir(path)
        if not is_dir and not os.path.isfile(path):  # a FIFO would block the worker's open
            raise PackageError(f"package {uri} is not a regular file or a directory")
        if not is_dir and not path.endswith((".whl", ".zip", ".tar.gz", ".tgz", ".tar")):
            raise PackageError(
                f"package {uri} is not a directory, an sdist (.tar.gz/.zip) or a wheel (.whl)"
            )
        if is_dir:
            digest = hashlib.sha256(f"dir:{os.path.abspath(path)}".encode()).hexdigest()
        else:
            stat = os.stat(path)
            digest = hashlib.sha256(
                f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
        target = os.path.join(dest, digest[:16])
        if not os.path.isdir(target):
            _stage(uri, path, dest, target, is_dir=is_dir, group=group,
                   budget=_Budget(uri, cancelled))
        paths.append(_staged_root(target, path, is_dir))
    return paths


def _unpacked_from_store(path: str, data_dir: str) -> bool:
    """A package hpdash unpacked itself from its content store (``<data>/packages/open/``),
    not one a job named: the only packages read from inside the data dir besides uploads."""
    store = os.path.join(os.path.realpath(data_dir), "packages", "open", "")
    return os.path.realpath(path).startswith(store)


def _staged_root(target: str, path: str, is_dir: bool) -> str:
    if not is_dir:
        return _unpacked_root(target, path)
    copy = os.path.join(target, os.path.basename(os.path.abspath(path)))
    return _source_root(copy)


def _stage(uri: str, path: str, dest: str, target: str, *, is_dir: bool,
           group: int | None, budget: _Budget) -> None:
    os.makedirs(dest, exist_ok=True)
    if group is not None:
        _share_with(dest, group, executable=True)
    tmp = tempfile.mkdtemp(dir=dest, prefix=".stage-")
    try:
        budget.check()
        if is_dir:
            _copy_dir(path, os.path.join(tmp, os.path.basename(os.path.abspath(path))), budget)
        else:
            _unpack(path, tmp)
        _make_readable(tmp, group)
        os.rename(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.isdir(target):  # another worker won the race
            raise PackageError(f"cannot stage {uri}: {exc}") from exc
    except PackageError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except (tarfile.TarError, zipfile.BadZipFile) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"cannot unpack {uri}: {exc}") from exc
