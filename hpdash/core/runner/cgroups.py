"""Enforcing a trial's :class:`~hpdash.core.runner.limits.TrialLimits`: a cgroup of its own per
controller where this machine lets hpdash make one, else ``setrlimit`` (through util-linux's
``prlimit``), else nothing, which :func:`unenforced` says.

cgroup v1 (hybrid machines, as here): for each of ``memory``, ``pids`` and ``cpu`` the trial's
cgroup is made under the worker's own (``<mount>/<worker's path>/hpdash/<name>``), so whatever
limits the worker's own cgroup has still hold.  The trainer's first process joins them before
it execs (:meth:`TrialCgroup.join`, run between fork and exec), so not one of its children
escapes.  A pure cgroup v2 machine cannot place a process in a child cgroup of the worker's
own (its "no internal processes" rule): there hpdash falls back to rlimits and says so.

Fallback rlimits: ``RLIMIT_AS`` for memory (address space, which overcounts what a process
touches: a trial with a large mapping can fail early) and ``RLIMIT_NPROC`` for processes
(meaningful because each trial has a uid of its own); no CPU limit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .limits import TrialLimits

CONTROLLERS = ("memory", "pids", "cpu")
_CFS_PERIOD_US = 100_000


def _own_paths(proc_cgroup: str = "/proc/self/cgroup") -> dict[str, str]:
    """This process's cgroup path per v1 controller (``{"memory": "/a/b", ...}``)."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError), open(proc_cgroup) as f:
        for line in f:
            _id, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(","):
                if name:
                    paths[name] = path
    return paths


@dataclass(frozen=True)
class CgroupSupport:
    """Where this worker can make trial cgroups, per controller (absent: it cannot)."""

    parents: dict[str, Path] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    @classmethod
    def probe(cls, root: Path = Path("/sys/fs/cgroup")) -> CgroupSupport:
        """Try each controller: make (and remove) a cgroup where trials' will go."""
        own = _own_paths()
        parents: dict[str, Path] = {}
        problems: dict[str, str] = {}
        for name in CONTROLLERS:
            mount = root / name
            if name not in own or not (mount / "cgroup.procs").exists():
                problems[name] = "no cgroup v1 controller mounted"
                continue
            parent = mount / own[name].lstrip("/") / "hpdash"
            try:
                parent.mkdir(exist_ok=True)
                probe = parent / f"probe-{os.getpid()}"
                probe.mkdir(exist_ok=True)
                probe.rmdir()
            except OSError as exc:
                problems[name] = f"cannot make a cgroup under {parent.parent} ({exc.strerror})"
                continue
            parents[name] = parent
        return cls(parents, problems)


    def sweep(self) -> None:
        """Remove the empty trial cgroups of trials whose workers died (a running trial's
        cgroup is busy, and stays)."""
        for parent in self.parents.values():
            with contextlib.suppress(OSError):
                for child in parent.iterdir():
                    if child.is_dir():
                        _rmdir(child)


def rlimit_prefix(limits: TrialLimits, support: CgroupSupport) -> list[str]:
    """``prlimit --as=… --nproc=… --`` for what no cgroup enforces ([] when nothing)."""
    exe = shutil.which("prlimit")
    opts = []
    if limits.memory_bytes and "memory" not in support.parents:
        opts.append(f"--as={limits.memory_bytes}")
    if limits.processes and "pids" not in support.parents:
        opts.append(f"--nproc={limits.processes}")
    return [exe, *opts, "--"] if exe and opts else []


def unenforced(support: CgroupSupport) -> list[str]:
    """What of a trial's limits this machine does not enforce, or enforces only roughly, each
    with why: for the worker's start-up log."""
    rough = shutil.which("prlimit") is not None
    notes = []
    for name, why in support.problems.items():
        if name == "cpu":
            notes.append(f"CPU limit not enforced ({why})")
        elif rough:
            kind = "RLIMIT_AS" if name == "memory" else "RLIMIT_NPROC per trial uid"
            notes.append(f"{name} limited by {kind} only ({why})")
        else:
            notes.append(f"{name} limit not enforced ({why}; and no prlimit)")
    return notes


class TrialCgroup:
    """One trial's cgroups, made with its limits; :meth:`join` runs in the trainer's first
    process; :meth:`remove` after the trial's every process ended."""

    def __init__(self, support: CgroupSupport, name: str, limits: TrialLimits) -> None:
        self.dirs: list[Path] = []
        try:
            for controller, parent in support.parents.items():
                path = parent / name
                path.mkdir(exist_ok=True)
                self.dirs.append(path)
                if controller == "memory" and limits.memory_bytes:
                    _write(path / "memory.limit_in_bytes", limits.memory_bytes)
                    # No swap past the limit either (where the kernel accounts swap).
                    with contextlib.suppress(OSError):
                        _write(path / "memory.memsw.limit_in_bytes", limits.memory_bytes)
                elif controller == "pids" and limits.processes:
                    _write(path / "pids.max", limits.processes)
                elif controller == "cpu" and limits.cpus:
                    _write(path / "cpu.cfs_period_us", _CFS_PERIOD_US)
                    _write(path / "cpu.cfs_quota_us", int(limits.cpus * _CFS_PERIOD_US))
        except OSError:
            self.remove()
            raise
        # Encoded now: join() runs between fork and exec, where as little as possible should.
        self._procs = [os.fsencode(d / "cgroup.procs") for d in self.dirs]
        # entered(): each trial cgroup's v1 ``tasks`` (one thread) and the worker's own.
        self._tasks = [(d / "tasks", d.parent.parent / "tasks") for d in self.dirs]
        self._memory = next((d for d in self.dirs if d.parent == support.parents.get("memory")),
                            None)

    def join(self) -> None:
        """Move the calling process into the trial's cgroups ("0" is the writer itself)."""
        for path in self._procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """The calling thread (not its process: v1 ``tasks``) in the trial's cgroups for the
        block, then back in the worker's own: a process it starts meanwhile is born in them,
        so not one of its children escapes, and the worker is never forked to join them from
        a ``preexec_fn`` (``subprocess`` can ``vfork``).  Moving one thread (the writer, "0"
        to ``tasks``) skips the kernel's threadgroup lock, and so the RCU grace period that
        moving a whole process (``cgroup.procs``, as :meth:`join` does) waits for.  The
        worker's memory stays charged to the worker (v1 charges a process's memory to the
        cgroup of its mm's owner, the thread group's leader)."""
        moved: list[Path] = []
        try:
            for trial, home in self._tasks:
                _write(trial, 0)  # "0": the writing thread
                moved.append(home)
            yield
        finally:
            for home in moved:
                # Never fails the start of a process that has started (it would run untracked).
                with contextlib.suppress(OSError):
                    _write(home, 0)

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the trial for its memory limit."""
        if self._memory is None:
            return False
        with contextlib.suppress(OSError, ValueError):
            for line in (self._memory / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
            return int((self._memory / "memory.failcnt").read_text()) > 0
        return False

    def remove(self, timeout: float = 5.0) -> None:
        """Remove the cgroups.  A cgroup goes once its last process has been reaped, which
        the kernel finishes a moment after the trial's end: what is still busy is retried in
        the background, so that the trial's end is not held up."""
        busy = [path for path in self.dirs if not _rmdir(path)]
        if busy:
            threading.Thread(target=_remove_later, args=(busy, timeout), daemon=True).start()


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _remove_later(paths: list[Path], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while paths and time.monotonic() < deadline:
        time.sleep(0.05)
        paths = [path for path in paths if not _rmdir(path)]


def _write(path: Path, value: int) -> None:
    path.write_text(str(value))
