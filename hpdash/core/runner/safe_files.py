"""Files and directories a trainer can write, handled by a worker that runs as root.

Everything below a trial's own directories (its cwd, its metric file's folder, its
``<jobDir>/<trialId>``) is the trainer's: it may plant a symbolic link, a FIFO, a device node
or a 10 GB file there, or swap a directory for a link between two calls.  So the worker never
resolves such a path by name.  It starts from an *anchor* it trusts (a directory no trainer
can write: the data dir's own folders, or a jobDir checked by :func:`open_trusted_dir`), walks
down one component at a time relative to directory fds with ``O_NOFOLLOW`` (a link anywhere
is refused, not followed), opens files ``O_NONBLOCK`` (a FIFO does not block the open), reads
only what ``fstat`` says is a regular file, and reads at most a cap.  Ownership and modes are
changed with ``fchown``/``fchmod`` on an fd it opened, never on a path.

Plain Python, no Django: the local executor, the metric readers, the worker's trial log and
the dashboard's log download share it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_APPEND_FLAGS = (os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                 | os.O_CLOEXEC)


class UnsafePath(OSError):
    """A path the worker refuses to use: a symbolic link, a special file, or a directory a
    trainer controls, where hpdash expected its own."""


def _parts(rel: str | Path) -> list[str]:
    parts = [p for p in str(rel).split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePath(errno.EINVAL, f"'..' in {rel}")
    return parts


def _open_component(dir_fd: int, name: str, flags: int, mode: int = 0o600) -> int:
    try:
        return os.open(name, flags, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePath(exc.errno, f"{name} is a symbolic link or not a directory") from exc
        raise


def open_dir(anchor: str | Path, rel: str | Path = "") -> int:
    """An fd of the directory ``anchor/rel``; ``anchor`` is trusted (opened as named), no
    component of ``rel`` may be a link.  The caller closes the fd."""
    fd = os.open(anchor, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in _parts(rel):
            nxt = _open_component(fd, part, _DIR_FLAGS)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def dir_fd(anchor: str | Path, rel: str | Path = "") -> Iterator[int]:
    fd = open_dir(anchor, rel)
    try:
        yield fd
    finally:
        os.close(fd)


def open_regular(anchor: str | Path, rel: str | Path) -> int:
    """An fd, open for reading, of the regular file ``anchor/rel`` (no link followed on the
    way, and a FIFO, socket or device is refused without blocking)."""
    parts = _parts(rel)
    if not parts:
        raise UnsafePath(errno.EISDIR, f"{anchor}: no file named")
    with dir_fd(anchor, "/".join(parts[:-1])) as parent:
        fd = _open_component(parent, parts[-1], _READ_FLAGS)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePath(errno.EINVAL, f"{parts[-1]} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def read_regular(anchor: str | Path, rel: str | Path, cap: int, offset: int = 0) -> bytes:
    """At most ``cap`` bytes of the regular file ``anchor/rel`` from ``offset``.  Raises
    ``FileNotFoundError`` when it is not there, :class:`UnsafePath` when it is not a regular
    file reached without links."""
    fd = open_regular(anchor, rel)
    try:
        # Not a cap-sized buffer for a small file (what grows meanwhile is read next time).
        size = os.fstat(fd).st_size
        return os.pread(fd, max(0, min(cap, size - offset)), offset)
    finally:
        os.close(fd)


def open_append(path: str | Path, *, trusted: str | Path | None = None) -> int:
    """An fd appending to the regular file ``path`` (created 0600 if missing), refusing a link
    or a special file at any component below ``trusted`` (default: its directory)."""
    path = Path(path)
    anchor = Path(trusted) if trusted is not None else path.parent
    rel = path.relative_to(anchor)
    with dir_fd(anchor, rel.parent) as parent:
        fd = _open_component(parent, rel.name, _APPEND_FLAGS)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePath(errno.EINVAL, f"{path} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def make_dir(parent: int, name: str, mode: int = 0o700, *,
             accept: Callable[[os.stat_result], bool] | None = None) -> int:
    """An fd of the directory ``name`` in the directory fd ``parent``: created with ``mode``,
    or, if something is already there, that directory when ``accept(its fstat)`` says so.
    A link is refused always, anything else that exists unless accepted."""
    try:
        os.mkdir(name, mode, dir_fd=parent)
        created = True
    except FileExistsError:
        created = False
    fd = _open_component(parent, name, _DIR_FLAGS)
    if created:
        os.fchmod(fd, mode)  # mkdir's mode is cut by the umask
    elif accept is None or not accept(os.fstat(fd)):
        st = os.fstat(fd)
        os.close(fd)
        raise UnsafePath(errno.EEXIST, f"{name} already exists and is not hpdash's own (owner "
                                       f"uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):o})")
    return fd


def fresh_dir(parent: int, name: str, mode: int = 0o700) -> int:
    """``name`` in ``parent``, emptied of whatever was there (links removed, never followed)
    and created anew: an fd of it."""
    with contextlib.suppress(FileNotFoundError):
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            remove_tree(parent, name)
        else:
            os.unlink(name, dir_fd=parent)
    return make_dir(parent, name, mode)


def remove_tree(parent: int, name: str) -> None:
    """Remove ``name`` in the directory fd ``parent`` and all below it, fd-relative, never
    following a link."""
    shutil.rmtree(name, dir_fd=parent, ignore_errors=True)


def walk_files(root: int, prefix: str = "", *, limit: int = 100_000
               ) -> Iterator[tuple[str, os.stat_result]]:
    """Every regular file below the directory fd ``root``, as (relative path, lstat), links
    and special files skipped; at most ``limit`` entries visited."""
    stack: list[tuple[int, str]] = [(os.dup(root), prefix)]
    seen = 0
    try:
        while stack:
            fd, here = stack.pop()
            try:
                with os.scandir(fd) as it:
                    entries = list(it)
                for entry in entries:
                    seen += 1
                    if seen > limit:
                        return
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    rel = f"{here}{entry.name}"
                    if stat.S_ISDIR(st.st_mode):
                        with contextlib.suppress(OSError):
                            stack.append((_open_component(fd, entry.name, _DIR_FLAGS),
                                          rel + "/"))
                    elif stat.S_ISREG(st.st_mode):
                        yield rel, st
            finally:
                os.close(fd)
    finally:
        for fd, _ in stack:
            os.close(fd)
