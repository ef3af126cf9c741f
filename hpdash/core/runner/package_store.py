"""A job's packages by content hash, so that a worker machine that shares nothing with the
server but the network can run its trials.

When a job is created, each of its ``packageUris`` is packed into one blob of the server's
store, ``<data>/packages/blobs/<sha256>``: an uncompressed tar holding a single top-level
entry, the package under its own name (a directory as its tree, an sdist or wheel as the file).
The name is part of the content, so the hash names exactly what a trainer will import.  A
worker finds the blob in its own store (the main machine's workers share the server's data
dir), or fetches it from the server and keeps it only when its SHA-256 is the one the job
recorded (:mod:`hpdash.worker.packages`).  :func:`open_blob` unpacks a blob once per machine,
atomically, into ``<data>/packages/open/<sha256>/<name>``: the path the job's staging reads
instead of the original (:mod:`hpdash.core.runner.packages`).

Packing follows what staging a directory always did: regular files and directories only, a
symbolic link only when it stays inside the package (others are left out, as FIFOs and devices
are, never opened), ``__pycache__``, ``*.pyc`` and ``.git`` left out, at most
``MAX_UNPACKED_BYTES`` in all.  Pure Python, no Django.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from hpdash.core.runner import packages as staging
from hpdash.core.runner.packages import PackageError

SHA256_CHARS = 64
_SKIPPED_DIRS = ("__pycache__", ".git")


@dataclass(frozen=True)
class StoredPackage:
    sha256: str
    name: str  # the single top-level entry of the blob: what staging sees
    size: int  # the blob's bytes


def is_sha256(text: str) -> bool:
    return len(text) == SHA256_CHARS and all(c in "0123456789abcdef" for c in text)


class _Hashing(io.RawIOBase):
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, out: io.BufferedWriter) -> None:
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.out.write(data)
        self.sha.update(data)
        self.size += len(data)
        if self.size > staging.MAX_UNPACKED_BYTES + 1024**2:
            raise PackageError(
                f"a package holds more than {staging.MAX_UNPACKED_BYTES // 1024**2} "
                "MiB: give a smaller one")
        return len(data)


def _entries(root: str, base: str) -> Iterator[tuple[str, str]]:
    """(path on disk, name in the blob) of a package directory, sorted, links not followed."""
    yield root, base
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        rel = os.path.relpath(here, root)
        for name in [*sorted(f for f in files if not f.endswith(".pyc")), *dirs]:
            arc = os.path.normpath(os.path.join(base, rel, name))
            yield os.path.join(here, name), arc


def _link_stays_inside(arcname: str, target: str) -> bool:
    if os.path.isabs(target):
        return False
    resolved = os.path.normpath(os.path.join(os.path.dirname(arcname), target))
    top = arcname.split("/", 1)[0]
    return resolved == top or resolved.startswith(top + "/")


def _add(tar: tarfile.TarFile, path: str, arcname: str) -> None:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        if not _link_stays_inside(arcname, target):
            return  # a link out of the package means nothing on another machine
    elif not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return  # a FIFO, socket or device: never opened
    info = tar.gettarinfo(path, arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode &= 0o755
    if info.isreg():
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return  # replaced by something else meanwhile
            tar.addfile(info, f)
    else:
        tar.addfile(info)


def store_package(path: str, store: Path, *, check: Callable[[], None] | None = None
                  ) -> StoredPackage:
    """Pack the package at local ``path`` into ``store`` (once per content) and say what
    was stored.  Raises :class:`PackageError` saying why it cannot be."""
    name = os.path.basename(path.rstrip("/"))
    real = os.path.realpath(path)  # the package itself when its path is a link to it
    if not os.path.isdir(real) and not os.path.isfile(real):
        raise PackageError(f"package {path} is not a regular file or a directory")
    blobs = store / "blobs"
    blobs.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=blobs, prefix=".pack-")
    try:
        with os.fdopen(fd, "wb") as out:
            hashing = _Hashing(out)
            with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                entries = (_entries(real, name) if os.path.isdir(real)
                           else iter([(real, name)]))
                for disk, arc in entries:
                    if check is not None:
                        check()
                    _add(tar, disk, arc)
        sha = hashing.sha.hexdigest()
        os.replace(tmp, blobs / sha)  # the same content twice: the same bytes
    except OSError as exc:
        raise PackageError(f"cannot read package {path}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return StoredPackage(sha256=sha, name=name, size=hashing.size)


def blob_path(store: Path, sha256: str) -> Path:
    if not is_sha256(sha256):
        raise PackageError(f"{sha256!r} is not a SHA-256")
    return store / "blobs" / sha256


def open_blob(store: Path, package: StoredPackage) -> Path:
    """The unpacked package (``<store>/open/<sha256>/<name>``), unpacked from its blob the
    first time, atomically (concurrent workers race safely)."""
    done = store / "open" / package.sha256
    if not done.is_dir():
        done.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=done.parent, prefix=".open-"))
        try:
            _unpack_blob(blob_path(store, package.sha256), tmp, package.name)
            os.rename(tmp, done)
        except OSError as exc:
            if not done.is_dir():  # else another worker won the race
                raise PackageError(f"cannot unpack package {package.name}: {exc}") from exc
        except tarfile.TarError as exc:
            raise PackageError(f"cannot unpack package {package.name}: {exc}") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return done / package.name


def _unpack_blob(blob: Path, target: Path, name: str) -> None:
    with tarfile.open(blob, mode="r:") as tar:
        members = tar.getmembers()
        for m in members:
            top = m.name.split("/", 1)[0]
            if (top != name or m.name.startswith("/") or ".." in m.name.split("/")
                    or not (m.isfile() or m.isdir() or m.issym())):
                raise PackageError(f"package {name}: unexpected member {m.name!r} in its blob")
            if m.issym() and not _link_stays_inside(m.name, m.linkname):
                raise PackageError(f"package {name}: link {m.name!r} points outside it")
            m.uid = m.gid = 0
            m.mode &= 0o755
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, members=members, filter="data")
        else:  # Python before 3.11.4 (Debian 12's 3.11.2) has no extraction filters
            tar.extractall(target, members=members)  # noqa: S202 - every member checked above


# A blob younger than this (seconds since it was last stored) is never pruned: a job being
# created stores its packages before its transaction records them (store_package replaces the
# blob, so its time is that of the last store).
PRUNE_GRACE = 600.0


def prune(store: Path, keep: Collection[str], *, now: float, grace: float = PRUNE_GRACE
          ) -> list[str]:
    """Remove the blobs (and their unpacked copies) that no job records any more: every
    SHA-256 not in ``keep`` whose blob was last stored more than ``grace`` seconds before
    ``now``.  Links and anything not named by a SHA-256 are left alone; what was removed is
    returned (sorted)."""
    removed = []
    for sub in ("blobs", "open"):
        try:
            parent = os.open(store / sub, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            continue
        try:
            for name in sorted(os.listdir(parent)):
                if not is_sha256(name) or name in keep:
                    continue
                blob = store / "blobs" / name
                with contextlib.suppress(FileNotFoundError):
                    if now - os.stat(blob, follow_symlinks=False).st_mtime < grace:
                        continue
                try:
                    st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        shutil.rmtree(name, dir_fd=parent, ignore_errors=True)
                    elif stat.S_ISREG(st.st_mode):
                        os.unlink(name, dir_fd=parent)
                    else:
                        continue
                except FileNotFoundError:  # pruned at the same time by another process
                    continue
                if sub == "blobs":
                    removed.append(name)
        finally:
            os.close(parent)
    return removed
