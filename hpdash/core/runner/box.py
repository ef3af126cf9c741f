"""A trial in a box of its own: bubblewrap namespaces, and a uid no other running trial has.

Each trial runs in its own mount, PID, IPC and UTS namespaces (and network namespace with
``network=False``), as a uid (gid the same number) leased from a range for as long as it
runs.  It sees a read-only system (``/usr``, ``/etc``, ``/bin``, ``/lib*``), the interpreter
and its environment read-only, hpdash's trainer helpers read-only, its job's packages
read-only, its own trial directory (cwd and HOME) and ``<jobDir>/<trialId>`` read-write, a
private ``/tmp``, and a ``/proc`` that shows its own processes only.  Not the data dir, the
queue's socket, other trials, or any process outside the box.

bubblewrap, as root, builds the box, then ``setpriv`` inside it drops to the trial's uid with
no capabilities, no inheritable ones, an empty bounding set and ``no_new_privs`` (a setuid
program cannot give them back).  The writable directories are bound through file descriptors
the worker opened with ``O_NOFOLLOW``, so a symlink a trainer planted is never followed.

Why bubblewrap: measured on these machines (``benchmarks/trial_box.py``) it starts a box in
~30 ms, where ``unshare`` (which makes no read-only root, no private /tmp, and switches no
user: more of it would be hpdash's own code running as root) took ~25 ms; both are under the
50 ms target, and bubblewrap is the maintained, audited tool Flatpak uses.

The uid lease: a lock file per uid under ``<data>/uids/``, held (``flock``) by the worker for
the trial's life, so several workers on one machine never share a uid; the kernel drops the
lock when a worker dies.  A uid that still has a process (a dead worker's leftover) is
skipped.  Uids only need to differ per machine: namespaces are a machine's.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hpdash

from .limits import TrialLimits


@dataclass(frozen=True)
class BoxSettings:
    """How trials are boxed on this machine (``HPDASH_TRIAL_*``, :mod:`hpdash.ops.config`)."""

    bwrap: str  # the bubblewrap executable
    uids: range  # each running trial's uid (and gid) is one of these
    share_gid: int  # a supplementary group of every trial: reads its job's staged packages
    network: bool = True  # False: the trial has a network namespace of its own (loopback only)
    defaults: TrialLimits = field(default_factory=TrialLimits)


class UidBusy(Exception):
    """Every uid of the range is taken by a running trial."""


class UidLease:
    """A uid leased to one trial while this object's lock is held; :meth:`release` ends it."""

    def __init__(self, uid: int, fd: int) -> None:
        self.uid, self._fd = uid, fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # drops the flock
            self._fd = -1


def _has_processes(uid: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    return True
    return False


def lease_uid(lock_dir: Path, uids: range, seed: int) -> UidLease:
    """The first free uid of ``uids`` from ``seed`` on (modulo its length): its lock file is
    not locked by another worker and no process runs as it."""
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for step in range(len(uids)):
        uid = uids[(seed + step) % len(uids)]
        fd = os.open(lock_dir / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if _has_processes(uid):
            os.close(fd)
            continue
        return UidLease(uid, fd)
    raise UidBusy(f"every trial uid of {uids.start}-{uids.stop - 1} (HPDASH_TRIAL_UIDS) is "
                  "in use by a running trial")


def job_wants_network(described: Mapping[str, Any]) -> bool:
    """False when a job asks that its trainers have no network: ``network: "none"`` in what
    it describes (ml v1 ``trainingInput.network``; Vertex ``trialJobSpec.network``,
    ``jobSpec.network``).  On Google's services that field names a VPC network the job's
    machines join; hpdash joins none, so any other value changes nothing."""
    value = described.get("network")
    return not (isinstance(value, str) and value.strip().lower() == "none")


def _system_binds() -> list[str]:
    """The read-only system; ``/sys`` (read-only: CPU and NUMA topology, what CUDA and
    PyTorch look up); the GPU devices (which of them a trial uses is CUDA_VISIBLE_DEVICES');
    and where ``/etc/resolv.conf`` points when it is a link (systemd-resolved's)."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--ro-bind-try", "/sys", "/sys"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    if os.path.islink("/etc/resolv.conf"):
        target = os.path.dirname(os.path.realpath("/etc/resolv.conf"))
        if not _inside(target, "/etc") and not _inside(target, "/usr"):
            args += ["--ro-bind-try", target, target]
    for dev in [*sorted(glob.glob("/dev/nvidia*")), "/dev/dri"]:
        if os.path.exists(dev):
            args += ["--dev-bind", dev, dev]
    return args


def interpreter_roots(python: str) -> list[str]:
    """What a trainer's interpreter needs to see: its virtualenv (the directory holding
    ``pyvenv.cfg``), the real interpreter's installation, and hpdash's trainer helpers."""
    roots = []
    venv = Path(python).parent.parent
    if (venv / "pyvenv.cfg").exists():
        roots.append(str(venv))
    real = Path(os.path.realpath(python)).parent.parent
    roots.append(str(real))
    # The trainer helpers (hpdash.trainer): an editable install keeps them outside the venv.
    roots.append(os.path.dirname(os.path.realpath(hpdash.__file__)))
    if sys.prefix not in roots and python == sys.executable:
        roots.append(sys.prefix)
    return roots


def _inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _parents(path: str) -> list[str]:
    """Make ``path``'s parents in the box traversable, not listable (0711): bwrap would copy
    the modes of the host's (a 0700 home directory, the data dir's 0710), which the trial's
    uid cannot pass.  The trial can pass through them; it cannot list them."""
    args: list[str] = []
    for parent in reversed(Path(path).parents):
        if str(parent) != "/":
            args += ["--perms", "0711", "--dir", str(parent)]
    return args


def box_argv(box: BoxSettings, *, uid: int, cwd: Path, writable: Sequence[tuple[int, Path]],
             readable: Sequence[str], hide: Sequence[Path]) -> list[str]:
    """The command prefix that runs a trainer in its box.  ``readable``: paths shown
    read-only at the same place (the interpreter, the job's packages); ``hide``: directories
    masked with an empty tmpfs where a readable path holds them (the data dir: whatever of it
    a trial may see is bound again on top); ``writable``: directory fds (opened by the worker
    with ``O_NOFOLLOW``, passed to bwrap) and where each appears."""
    args = [box.bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try"]
    if not box.network:
        args.append("--unshare-net")
    # /tmp first: the paths bound below may lie under /tmp, and must show through it.
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # noqa: S108 - the box's own
    args += _system_binds()
    hidden = [str(h) for h in hide]
    outside = [p for p in dict.fromkeys(readable)
               if not any(_inside(p, s) for s in ("/usr", "/etc"))]
    inside = [p for p in outside if any(_inside(p, h) for h in hidden)]
    for path in (p for p in outside if p not in inside):
        args += [*_parents(path), "--ro-bind", path, path]
    for path in hidden:
        if any(_inside(path, p) for p in [*outside, "/usr", "/etc"] if p not in inside):
            args += [*_parents(path), "--tmpfs", path]
    for path in inside:
        args += [*_parents(path), "--ro-bind", path, path]
    for fd, where in writable:
        args += [*_parents(str(where)), "--bind-fd", str(fd), str(where)]
    args += ["--chdir", str(cwd), "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
             "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
             f"--groups={box.share_gid}", "--inh-caps=-all", "--bounding-set=-all",
             "--no-new-privs", "--"]
    return args


def open_dir(path: Path) -> int:
    """A directory fd for bwrap's ``--bind-fd`` (and ``fchown``): never through a symlink at
    ``path`` itself."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


def reown_tree(dir_fd: int, uid: int, uids: range) -> int:
    """Give ``uid`` the directory ``dir_fd`` and what is in it that an earlier trial uid owns
    (a retried trial's ``<jobDir>/<trialId>``, written by its earlier attempt as another uid):
    walked by directory fds, never following a symlink, and never touching a file owned by
    anyone outside the trial ``uids`` or with more than one link (a hard link to another's
    file).  Returns how many entries changed owner."""
    changed = 0
    st = os.fstat(dir_fd)
    if st.st_uid != uid:  # the group stays: the jobDir's, through which its owners read it
        os.fchown(dir_fd, uid, -1)
        changed += 1
    for _path, dirs, files, fd in os.fwalk(".", dir_fd=dir_fd, follow_symlinks=False):
        for name in (*dirs, *files):
            with contextlib.suppress(OSError):
                entry = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if entry.st_uid != uid and entry.st_uid in uids and (
                        stat.S_ISDIR(entry.st_mode) or entry.st_nlink == 1):
                    os.chown(name, uid, -1, dir_fd=fd, follow_symlinks=False)
                    changed += 1
    return changed
