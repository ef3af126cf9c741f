"""Where and how a trial runs: one small interface, :class:`Executor`, and what it is given and
gives back.  The implementations, registered by name, are in :mod:`hpdash.core.runner.executors`.

The worker drives an executor through one attempt (:mod:`hpdash.worker.trial_runner`)::

    runtime = executor.prepare(training=..., project=..., job_id=..., log=...)  # the job's needs
    plan = plan_trial(..., python=runtime.python, pythonpath=runtime.pythonpath, ...)
    handle = executor.start(plan)                                       # the trial's dirs, then go
    while (status := executor.poll(handle, timeout=poll_interval)) is None:
        ...  # read measurements from the plan's metric file and job dir, heartbeat, decide
    status = executor.stop(handle, grace)                               # SIGTERM, grace, SIGKILL
    ...                                                                 # whatever ended it
    for leftover in executor.leftovers():                               # a worker starting
        executor.reap(leftover)

Every executor makes the plan's ``cwd``, ``metric_file``, ``job_dir`` and ``log_path`` appear
on this machine's disk (a container binds them), so the worker reads measurements and the log
the same way whatever ran the trial.  Time limits, heartbeats, early stopping and cancellation
are the worker's: an executor only starts, watches and ends.

Plain Python, no Django: the worker passes what the service configures in
:class:`ExecutorConfig`.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from hpdash.core.layout import DataLayout
from hpdash.core.spec import JobDefinition

from .box import BoxSettings
from .limits import TrialLimits
from .plan import TrialPlan
from .podman import ContainerSettings
from .process import ExitStatus, RunAs
from .sandbox import TrialUser


class PrepareError(Exception):
    """What a trial needs cannot be set up (a package, a directory, an image); the message is
    the trial's failure cause, so it says what to do."""


class PrepareStopped(PrepareError):
    """Preparing was stopped by the worker's ``tick`` (the job was cancelled, ...)."""


class ImageNotHere(PrepareError):
    """The trial's container image is not on this machine, which may not pull it: another
    worker machine may have it (the worker decides whether the trial waits for one of those,
    :mod:`hpdash.worker.trial_runner`)."""

    def __init__(self, image: str, message: str) -> None:
        super().__init__(message)
        self.image = image


@dataclass(frozen=True)
class ExecutorConfig:
    """What the service configures for every executor of a worker."""

    layout: DataLayout
    python: str  # the interpreter trainers run with, when the executor provides none
    user: TrialUser | None = None  # the sandbox user trainers run as (None: the worker's own)
    log_cap_bytes: int = 10 * 1024 * 1024
    # The interpreters jobs may pick (``pythonVersion`` name -> path), the first the default;
    # and the ``uv`` that builds each job's environment.  Without ``uv`` trainers run with
    # ``python`` itself (no per-job environment: the executor's unit tests).
    pythons: Mapping[str, str] = field(default_factory=dict)
    uv: str | None = None
    # Each trial in a box of its own, as a uid of its own (None: as ``user``, unboxed).
    box: BoxSettings | None = None
    # Trials of jobs that name an image run in it with podman (None: no container runs here).
    containers: ContainerSettings | None = None


@dataclass(frozen=True)
class Runtime:
    """What a job's trials run with on this executor, once :meth:`Executor.prepare` staged it:
    the inputs of :func:`hpdash.core.runner.plan_trial` that are the executor's to decide."""

    python: str
    pythonpath: tuple[str, ...] = ()
    run_as: RunAs | None = None
    limits: TrialLimits | None = None
    network: bool = True  # False: the job asked that its trainers have no network


def _boot_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or None if there is none: a pid
    with another start time is another process that reused the number."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ... starttime" (field 22); comm may hold spaces and parentheses.
    return int(stat[stat.rfind(")") + 2:].split()[19])


@dataclass(frozen=True)
class WorkerId:
    """A worker process, told apart from a later process that reuses its pid."""

    host: str
    pid: int
    started: int | None  # boot ticks, see _boot_ticks

    @classmethod
    def this(cls) -> WorkerId:
        return cls(socket.gethostname(), os.getpid(), _boot_ticks(os.getpid()))

    def is_dead_here(self) -> bool:
        """Whether this worker ran on this machine and is gone (a worker elsewhere is that
        machine's to judge)."""
        if self.host != socket.gethostname():
            return False
        now = _boot_ticks(self.pid)
        return now is None or (self.started is not None and now != self.started)


@dataclass(frozen=True)
class Leftover:
    """What an attempt may leave behind if its worker dies, recorded before it starts: enough
    for :meth:`Executor.reap` to find and end exactly what that attempt started, and nothing
    else."""

    executor: str  # the registered name of the executor that started it
    marker: str  # a token unique to the attempt, on everything it starts (env var, label)
    worker: WorkerId
    trial: str = ""  # the attempt, for people reading a record (its plan's cwd)
    uid: int | None = None  # the user its processes run as
    pid: int | None = None  # the trainer's pid, once started
    gpus: tuple[str, ...] = ()  # its devices: none is leased again while the record is there

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Leftover:
        data = json.loads(text)
        data["worker"] = WorkerId(**data["worker"])
        data["gpus"] = tuple(data.get("gpus", ()))
        return cls(**data)


def record_path(records: Path, leftover: Leftover) -> Path:
    """Where the record of ``leftover``'s attempt is, in ``records`` (``DataLayout.attempts``)."""
    return records / f"{leftover.marker}.json"


def record_attempt(records: Path, leftover: Leftover) -> Path:
    """Write the attempt's record (before it starts: a worker killed a moment after still
    leaves a trace, and its GPUs stay taken); its path.  The executor removes it when the
    attempt ends or is reaped."""
    path = record_path(records, leftover)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(leftover.to_json())
    tmp.rename(path)
    return path


def attempt_records(records: Path) -> list[Leftover]:
    """Every attempt record in ``records``, whichever executor wrote it (a half-written one,
    or one gone meanwhile, is skipped)."""
    found = []
    for path in sorted(records.glob("*.json")):
        try:
            found.append(Leftover.from_json(path.read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return found


def gpus_in_use(records: Path) -> frozenset[str]:
    """The GPUs named by the attempt records in ``records`` (``DataLayout.attempts``): every
    attempt started on this machine that has not been seen to end, its worker's trial
    superseded or not, by either executor.  A record goes when its attempt ends or is reaped,
    so a frozen worker's trainer keeps its GPUs until it is stopped
    (:mod:`hpdash.services.gpus`)."""
    return frozenset(gpu for leftover in attempt_records(records) for gpu in leftover.gpus)


@dataclass
class Handle:
    """A started attempt.  Each executor keeps what it needs in a subclass of its own."""

    leftover: Leftover

    @property
    def pid(self) -> int | None:
        """The trainer's pid on this machine, if it has one (recorded for people to see)."""
        return self.leftover.pid


class Executor(Protocol):
    """Runs trials of a :class:`~hpdash.core.runner.plan.TrialPlan` somewhere: a local process,
    a container, another environment.  One instance may serve many attempts, one at a time or
    not: all the per-attempt state is in the :class:`Handle`."""

    name: str

    def on_worker_start(self) -> None:
        """Once per worker process, before its first trial: take what this executor needs of
        the process (the local executor becomes the reaper of its trainers' orphans)."""

    def prepare(self, *, training: JobDefinition, project: str, job_id: str,
                log: Path | None = None, tick: Callable[[], str | None] | None = None
                ) -> Runtime:
        """Stage what the job's trials need on this machine (packages, an environment, an
        image); idempotent and safe against other workers doing the same.  Progress goes to
        ``log`` (the trial's log) when given; ``tick`` is called about once a second while a
        long step runs (the worker's heartbeat), and a reason it returns stops the step.
        Raises :class:`PrepareError` (:class:`PrepareStopped` when ``tick`` stopped it)."""

    def start(self, plan: TrialPlan) -> Handle:
        """Set up the attempt's own directories (fresh: an earlier attempt's files are not this
        one's), record its :class:`Leftover`, and start the trainer.  Raises
        :class:`PrepareError` when the directories cannot be set up, ``OSError`` when the
        trainer cannot be started."""

    def poll(self, handle: Handle, timeout: float) -> ExitStatus | None:
        """Wait up to ``timeout`` seconds for the trainer to end (returning at once when it
        does); None while it runs.  Once it has ended, everything the attempt started is ended
        too and its record is gone: the status is returned again by every later call."""

    def stop(self, handle: Handle, grace: float) -> ExitStatus:
        """Ask the trainer to stop (SIGTERM or the like), kill what is left after ``grace``
        seconds, and end everything the attempt started; how it ended.  Idempotent: after an
        exit it only returns the status.  May be called from another thread while
        :meth:`poll` waits (the worker's lease watch does): both then return the one status,
        and what the attempt held is released once."""

    def leftovers(self) -> list[Leftover]:
        """What attempts of this executor whose worker died on this machine left behind."""

    def reap(self, leftover: Leftover, grace: float = 2.0) -> int:
        """End what ``leftover``'s attempt still runs (only what is verifiably that attempt's:
        never a process that merely reuses a number), forget the record, and return how many
        processes (or containers) were ended."""
