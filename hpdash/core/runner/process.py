"""A trainer process: its own process group, a capped log, waiting, stopping, ending.

The child is started without a shell (``argv`` list), in a new session (so the whole group can
be signalled), and asks the kernel to SIGKILL it if the worker that started it dies
(``PR_SET_PDEATHSIG``, Linux).  Stopping sends SIGTERM to the group, then SIGKILL after
``grace`` seconds; whatever is left of the group when the trainer exits is killed too.

``PR_SET_PDEATHSIG`` is set by util-linux's ``setpriv --pdeathsig KILL`` when it is there (it
sets the flag and execs the trainer in the same process, so pid, process group and parent are
unchanged): then ``subprocess`` can start the child with ``vfork``, ~0.2 ms, where a Python
``preexec_fn`` forces a full ``fork`` of the worker (4–8 ms for a worker with Django loaded,
per trial).  Without ``setpriv`` the flag is set by ``preexec_fn``.

The local executor (:mod:`hpdash.core.runner.executors.local`) is built on it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import IO

from hpdash.core.states import StopReason

from .safe_files import open_append

_PR_SET_PDEATHSIG = 1
_LINUX = sys.platform.startswith("linux")


def _load_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None).prctl
        return prctl
    except Exception:  # noqa: BLE001 - no libc prctl: best effort, as below
        return None


# Resolved once, here: the child of a fork should run as little Python as possible.
_prctl = _load_prctl() if _LINUX else None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _prctl is not None:
        try:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except Exception:  # noqa: BLE001, S110 - best effort; never block the trainer starting
            pass


@functools.cache  # probed once per process
def _pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig KILL --`` if this machine's setpriv supports it, else []."""
    exe = shutil.which("setpriv") if _LINUX else None
    if not exe:
        return []
    prefix = [exe, "--pdeathsig", "KILL", "--"]
    try:
        ok = subprocess.run([*prefix, "true"], check=False, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return prefix if ok else []


@dataclass(frozen=True)
class RunAs:
    """The OS user and group a trainer runs as (its supplementary groups are dropped)."""

    uid: int
    gid: int


_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make this process the reaper of every orphan below it (Linux ``PR_SET_CHILD_SUBREAPER``),
    so that a trainer's descendant that left its process group with ``setsid()`` is still ours
    to end (:func:`end_orphans`).  The worker calls it once at start."""
    if _prctl is None:
        return False
    try:
        return _prctl(_PR_SET_CHILD_SUBREAPER, 1) == 0
    except Exception:  # noqa: BLE001 - not Linux, or an old kernel: process groups only
        return False


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def end_orphans(timeout: float = 5.0) -> int:
    """SIGKILL every child this (subreaper) process has left, over and over as their own
    orphans are handed to it, and reap them; returns how many were ended.  Called after a
    trial's process group is gone, when the worker has no other children."""
    ended = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = _children(os.getpid())
        for kid in kids:
            try:
                os.kill(kid, signal.SIGKILL)
                ended += 1
            except ProcessLookupError:
                pass
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        if not kids:
            break
        time.sleep(0.02)
    return ended


@dataclass(frozen=True)
class ProcessOutcome:
    returncode: int | None  # exit status, or None if killed by a signal
    signal: int | None  # the signal that ended it
    timed_out: bool
    stop_reason: StopReason | None  # why *we* stopped it (the timeout included)
    duration: float
    log_truncated: bool
    cause: str = ""  # ExitStatus.cause

    def describe(self) -> str:
        """How the process ended, as a failure cause users can act on, or "" for a clean exit
        (a stop hpdash asked for is ``stop_reason``, not described here)."""
        if self.cause:
            return self.cause
        if self.timed_out:
            return f"timed out after {self.duration:.0f} s"
        if self.signal is not None:
            valid = self.signal in signal.valid_signals()
            name = signal.Signals(self.signal).name if valid else str(self.signal)
            hint = " (possibly out of memory)" if self.signal == signal.SIGKILL else ""
            return f"killed by signal {self.signal} ({name}){hint}"
        if self.returncode:
            return f"exit code {self.returncode}"
        return ""


class _LogPump(threading.Thread):
    """Copies the child's output to the log file, up to ``cap`` bytes, then drains the rest."""

    def __init__(self, stream: IO[bytes], log: IO[bytes], cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.log, self.cap = stream, log, cap
        self.written = 0
        self.truncated = False

    def run(self) -> None:
        while True:
            chunk = self.stream.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                break
            room = self.cap - self.written
            if room > 0:
                self.log.write(chunk[:room])
                self.log.flush()
                self.written += min(room, len(chunk))
            if len(chunk) > room and not self.truncated:
                self.truncated = True
                self.log.write(f"\n[hpdash] log truncated at {self.cap} bytes\n".encode())
                self.log.flush()


class _ExitWaiter:
    """Waits for the child's exit with a timeout, waking the moment it exits (a pidfd, Linux
    5.3+), where ``Popen.wait(timeout)`` sleeps in steps of up to 50 ms."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.fd: int | None = None
        try:
            self.fd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            pass

    def wait(self, timeout: float) -> bool:
        if self.fd is not None:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return False
        try:
            self.proc.wait(timeout=None if self.fd is not None else timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _child_setup(flag_set: bool,
                 before_exec: Callable[[], None] | None) -> Callable[[], None] | None:
    """The ``preexec_fn``: none at all when possible (then ``subprocess`` can ``vfork``).
    ``flag_set``: something else sees to ``PR_SET_PDEATHSIG`` (a setpriv prefix, or the
    program itself)."""
    if before_exec is None:
        return None if flag_set else _die_with_parent

    def setup() -> None:
        if not flag_set:
            _die_with_parent()
        before_exec()
    return setup


def signal_uid(uid: int, sig: int) -> int:
    """Send ``sig`` to every process running as ``uid`` (each pinned by a pidfd first, so a
    reused pid is never signalled); how many.  For a uid of one trial's own."""
    sent = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fd = os.pidfd_open(int(entry))
        except OSError:
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                signal.pidfd_send_signal(fd, sig)
                sent += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return sent


@dataclass(frozen=True)
class ExitStatus:
    """How a trainer process ended, as the executor saw it."""

    returncode: int | None  # exit status, or None if killed by a signal
    signal: int | None  # the signal that ended it
    log_truncated: bool = False
    # A cause the executor knows better than the exit status ("out of memory (limit 2 GiB)").
    cause: str = ""

    @classmethod
    def from_returncode(cls, rc: int, *, log_truncated: bool = False) -> ExitStatus:
        """``Popen.returncode`` (negative: the signal; 128+n, a box's way of saying signal n,
        when ``rc`` is a boxed trainer's: see :meth:`unboxed`)."""
        return cls(returncode=rc if rc >= 0 else None, signal=-rc if rc < 0 else None,
                   log_truncated=log_truncated)

    def unboxed(self) -> ExitStatus:
        """bubblewrap exits with 128+n when its trainer was killed by signal n."""
        if self.returncode is not None and 128 < self.returncode < 128 + 65:
            return replace(self, returncode=None, signal=self.returncode - 128)
        return self


@dataclass(frozen=True)
class Start:
    """How a trainer's first process is started, beyond its argv.

    ``before_exec`` runs in the child between fork and exec (a ``preexec_fn``: the worker is
    forked, not ``vfork``ed); ``spawn_in`` is a context the child is started in (the launching
    thread in the trial's cgroups, which the child inherits, without a ``preexec_fn``);
    ``dies_with_parent``: the program sees to its own end when the worker dies (bubblewrap's
    ``--die-with-parent``), so hpdash sets no ``PR_SET_PDEATHSIG`` for it."""

    before_exec: Callable[[], None] | None = None
    spawn_in: Callable[[], AbstractContextManager[None]] | None = None
    dies_with_parent: bool = False


class TrainerProcess:
    """One trainer process, started without a shell in its own session (so its whole process
    group can be signalled), its output copied to ``log_path`` up to ``log_cap_bytes``.

    The caller drives it: ``wait`` for its exit a while, ``stop`` it, and always ``end`` it,
    which ends whatever the trainer left in its process group (and, for a subreaper caller,
    every orphan below it) and returns how it ended."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: str, log_path: str, *,
                 run_as: RunAs | None = None, log_cap_bytes: int = 10 * 1024 * 1024,
                 umask: int = -1, pass_fds: Sequence[int] = (),
                 start: Start = Start(), stop_uid: int | None = None) -> None:
        """``umask``: the trainer's (-1: the worker's); ``start``: how the first process is
        started (see :class:`Start`); ``stop_uid``: :meth:`stop` sends SIGTERM to every
        process of that uid (a boxed trial's, whose first processes are its box's, which must
        outlive the grace period) instead of the process group."""
        self.started = time.monotonic()
        os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
        # With a before_exec there is a preexec_fn (a fork) anyway: it sets the flag itself.
        prefix = (_pdeathsig_prefix() if start.before_exec is None and not start.dies_with_parent
                  else [])
        # setpriv would turn "no such program" into its own exit status: keep Popen's error.
        if prefix and not (os.path.isabs(argv[0]) and os.access(argv[0], os.X_OK)):
            prefix = []
        # Never through a link or into a FIFO, whoever could write the log's folder.
        self._log = os.fdopen(open_append(log_path), "ab")  # closed by end()
        try:
            with start.spawn_in() if start.spawn_in is not None else contextlib.nullcontext():
                self.proc = subprocess.Popen(
                    [*prefix, *argv],
                    env=dict(env),
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_child_setup(bool(prefix) or start.dies_with_parent,  # noqa: PLW1509
                                            start.before_exec),
                    close_fds=True,
                    pass_fds=tuple(pass_fds),
                    user=run_as.uid if run_as else None,
                    group=run_as.gid if run_as else None,
                    extra_groups=[] if run_as else None,
                    umask=umask,
                )
        except BaseException:
            self._log.close()
            raise
        assert self.proc.stdout is not None
        self._pump = _LogPump(self.proc.stdout, self._log, log_cap_bytes)
        self._pump.start()
        self._waiter = _ExitWaiter(self.proc)
        self._ended: ExitStatus | None = None
        self._stop_uid = stop_uid

    @property
    def pid(self) -> int:
        """The trainer's pid, which is also its process group's id."""
        return self.proc.pid

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the trainer to exit (waking the moment it does);
        whether it has."""
        return self.proc.returncode is not None or self._waiter.wait(timeout)

    def stop(self, grace: float) -> None:
        """SIGTERM to the process group, then SIGKILL to it after ``grace`` seconds."""
        if self.proc.returncode is not None:
            return
        if self._stop_uid is not None:
            signal_uid(self._stop_uid, signal.SIGTERM)
        else:
            _signal_group(self.proc.pid, signal.SIGTERM)
        if not self._waiter.wait(grace):
            _signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def end(self, *, orphans: bool = False) -> ExitStatus:
        """End what is left of the trial (the trainer, if still running, and its process
        group; with ``orphans``, a subreaper's every orphan: see :func:`end_orphans`) and
        return how the trainer ended.  Idempotent."""
        if self._ended is not None:
            return self._ended
        # Children the trainer left behind belong to the trial: end them too.
        _signal_group(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._waiter.close()
        if orphans:
            end_orphans()
        self._pump.join(timeout=5)
        self._log.close()
        self._ended = ExitStatus.from_returncode(self.proc.returncode,
                                                 log_truncated=self._pump.truncated)
        return self._ended
