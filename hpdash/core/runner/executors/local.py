"""The local executor: a trial is a process on the worker's machine, in its job's own Python
environment.

- prepare: the job's installable packages (wheels, sdists, source trees) are installed with
  their dependencies into the job's environment, built (in a box of its own as a trainer
  is, :mod:`.boxed`; unboxed as the trial user) or found in the cache (:mod:`.jobenv`);
  plain package directories are copied into its sandbox (readable by the trial user's
  group), behind the sandbox gates, and put on ``PYTHONPATH``.
- start: the trial's own directories, fresh and owned by the trial user; the trainer as that
  user (boxed: in namespaces of its own, as a uid leased for the attempt, within its
  limits, :mod:`hpdash.core.runner.box`), in its own session
  (:class:`~hpdash.core.runner.process.TrainerProcess`), with ``HPD_ATTEMPT=<marker>`` in its
  environment, which its descendants inherit.
- stop: SIGTERM to the process group, SIGKILL after the grace period; then whatever is left of
  the group and, when the worker is their subreaper, every orphan (a descendant that left the
  group with ``setsid()``).
- a worker that dies takes its trainer with it (``PR_SET_PDEATHSIG``), but not the trainer's
  children: the attempt's record (``<data>/attempts/<marker>.json``, written before the start)
  lets the next worker on this machine find them by their marker and uid, and end them.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hpdash.core.runner.box import (
    BoxSettings,
    UidBusy,
    UidLease,
    interpreter_roots,
    job_wants_network,
    lease_uid,
    open_dir,
    reown_tree,
)
from hpdash.core.runner.cgroups import CgroupSupport, TrialCgroup
from hpdash.core.runner.envs import EnvError, JobEnvs, Stopped, index_env, is_installable
from hpdash.core.runner.executor import (
    ExecutorConfig,
    Handle,
    Leftover,
    PrepareError,
    PrepareStopped,
    Runtime,
    WorkerId,
    attempt_records,
    record_attempt,
    record_path,
)
from hpdash.core.runner.executors.boxed import Confined, build_box, start_in_box
from hpdash.core.runner.executors.jobenv import BuildAs, choose_python, job_python
from hpdash.core.runner.limits import TrialLimits, format_bytes, limits_for
from hpdash.core.runner.packages import PackageError, stage_packages
from hpdash.core.runner.plan import TrialPlan
from hpdash.core.runner.process import ExitStatus, RunAs, TrainerProcess, become_subreaper
from hpdash.core.runner.sandbox import (
    TRAINER_UMASK,
    SandboxError,
    TrialUser,
    fresh_trial_dirs,
    gate,
)
from hpdash.core.spec import JobDefinition
from hpdash.core.spec.types import local_path

# The environment variable that marks every process of an attempt (see Leftover.marker).  Not
# HPDASH_*: that prefix is the service's own, which a trainer never sees.
ATTEMPT_ENV = "HPD_ATTEMPT"
NAME = "local"

# Set when this worker process is the reaper of its trainers' orphans (see become_subreaper).
_REAPS_ORPHANS = threading.Event()


@dataclass
class LocalHandle(Handle):
    process: TrainerProcess
    record: Path
    boxed: BoxedAttempt | None = None
    # The lease watch may stop the attempt from its own thread while the poll loop sees it
    # end: the first to get here ends it, the other gets the same status.
    ending: threading.Lock = field(default_factory=threading.Lock, repr=False)
    status: ExitStatus | None = None


class LocalExecutor:
    name = NAME

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self.layout = config.layout
        self.user = config.user
        self.cgroups = _cgroup_support() if config.box else CgroupSupport()

    def on_worker_start(self) -> None:
        # Every process a trial starts ends with it, even one that left the trainer's process
        # group with setsid(): orphans are handed to this worker, which ends them.
        if become_subreaper():
            _REAPS_ORPHANS.set()
        if self.config.box is not None:
            self.cgroups.sweep()  # what workers that died left (empty cgroups)

    # -- preparing ---------------------------------------------------------------------------
    def prepare(self, *, training: JobDefinition, project: str, job_id: str,
                log: Path | None = None, tick: Callable[[], str | None] | None = None
                ) -> Runtime:
        user, box = self.user, self.config.box
        run_as = user.run_as if user else None
        network = job_wants_network(training.described)
        if not network and box is None:
            raise PrepareError('the job asks for no network (network: "none"), which only a '
                               "boxed trial can be given, and trials on this worker are not "
                               "boxed (HPDASH_TRIAL_BOX=off, or not root, or no bubblewrap)")
        package = training.package
        if package is None:
            raise PrepareError("the local executor runs Python packages, not container images")
        uris = list(package.package_uris)
        for uri in uris:
            if not os.path.exists(local_path(uri)):
                raise PrepareError(f"package {uri} does not exist on this worker")
        envs = self.config.uv is not None
        plain = [u for u in uris if not (envs and is_installable(local_path(u)))]
        try:
            gate(self.layout.sandbox_job(project, job_id), self.layout.sandbox, user)
            pythonpath = stage_packages(
                plain, str(self.layout.sandbox_packages(project, job_id)),
                group=user.gid if user else None, data_dir=str(self.layout.root),
                cancelled=(lambda: tick() is not None) if tick else None)
            python = self.config.python
            if self.config.uv is not None:
                base = choose_python(self.config.pythons, package.python_version)
                python = str(job_python(
                    envs=JobEnvs(self.layout.envs, uv=self.config.uv,
                                 group=user.gid if user else None),
                    memo=self.layout.sandbox_job(project, job_id) / "env-key",
                    python=base, installables=[local_path(u) for u in uris if u not in plain],
                    build_as=self._build_as(training, base, f"{project}/{job_id}"), log=log,
                    environ=os.environ, orphans=_REAPS_ORPHANS.is_set(), tick=tick))
        except Stopped as exc:
            raise PrepareStopped(str(exc)) from exc
        except (PackageError, SandboxError, EnvError) as exc:
            if tick is not None and tick() is not None:  # staging stopped for the tick's reason
                raise PrepareStopped(str(exc)) from exc
            raise PrepareError(str(exc)) from exc
        return Runtime(python=python, pythonpath=tuple(pythonpath), run_as=run_as,
                       limits=limits_for(training.described, box.defaults) if box else None,
                       network=network)

    def _build_as(self, training: JobDefinition, python: str, job: str) -> BuildAs:
        """How a job's environment is built: in a box when trials are (a ``setup.py`` is a
        trainer's code too), else as the trial user, as a trainer is."""
        box = self.config.box
        if box is None:
            run_as = self.user.run_as if self.user else None
            launch = functools.partial(self._launch, run_as=run_as)
            return lambda: contextlib.nullcontext((launch, run_as))
        seed = int.from_bytes(hashlib.sha256(job.encode()).digest()[:8], "big")
        return functools.partial(
            build_box, box, self.cgroups, uid_dir=self.layout.uids, data_dir=self.layout.root,
            python=python, index=index_env(os.environ),
            limits=limits_for(training.described, box.defaults),
            log_cap_bytes=self.config.log_cap_bytes, seed=seed)

    def _launch(self, argv: Sequence[str], env: Mapping[str, str], cwd: str, log_path: str,
                *, run_as: RunAs | None) -> TrainerProcess:
        """Every process a trial runs starts here: its environment's build steps and its
        trainer."""
        return TrainerProcess(argv, env, cwd, log_path, run_as=run_as,
                              log_cap_bytes=self.config.log_cap_bytes,
                              umask=TRAINER_UMASK if run_as else -1)

    def _fresh_dirs(self, plan: TrialPlan, user: TrialUser | None, *,
                    bound: bool = False) -> None:
        """The trial's own directories, fresh for each attempt (an earlier attempt's metric file
        is not this attempt's result), owned by the trial user (``user``: the attempt's own
        uid when boxed).  ``bound``: the box binds the job dir by fd, so its parents need not
        be passable by that uid."""
        try:
            fresh_trial_dirs(plan.cwd, plan.metric_file.parent, plan.job_dir,
                             sandbox=self.layout.sandbox, gate_user=self.user, user=user,
                             bound=bound)
        except SandboxError as exc:
            raise PrepareError(str(exc)) from exc

    # -- running -----------------------------------------------------------------------------
    def start(self, plan: TrialPlan) -> LocalHandle:
        marker = secrets.token_hex(16)
        if self.config.box is not None:
            return self._start_boxed(plan, self.config.box, marker)
        self._fresh_dirs(plan, self.user)
        run_as = plan.placement.run_as
        leftover = Leftover(executor=NAME, marker=marker, worker=WorkerId.this(),
                            trial=str(plan.cwd), gpus=plan.placement.gpus,
                            uid=run_as.uid if run_as else os.geteuid())
        # Recorded before the start: a worker killed a moment after it still leaves a trace.
        record = record_attempt(self.layout.attempts, leftover)
        try:
            process = self._launch(plan.argv, {**plan.env, ATTEMPT_ENV: marker},
                                   str(plan.cwd), str(plan.log_path), run_as=run_as)
        except BaseException:
            record.unlink(missing_ok=True)
            raise
        return LocalHandle(replace(leftover, pid=process.pid), process, record)

    def _start_boxed(self, plan: TrialPlan, box: BoxSettings, marker: str) -> LocalHandle:
        try:
            # Seeded by the trial, not the attempt: a retried trial mostly gets its uid back.
            seed = int.from_bytes(hashlib.sha256(str(plan.cwd).encode()).digest()[:8], "big")
            lease = lease_uid(self.layout.uids, box.uids, seed)
        except UidBusy as exc:
            raise PrepareError(str(exc)) from exc
        attempt = BoxedAttempt(lease)
        try:
            user = TrialUser(f"trial-{lease.uid}", lease.uid, lease.uid,
                             trainer_uids=box.uids)
            self._fresh_dirs(plan, user, bound=True)
            limits = plan.placement.limits or box.defaults
            attempt.cgroup = TrialCgroup(self.cgroups, marker, limits)
            attempt.limits = limits
            attempt.fds = [open_dir(plan.cwd)]
            binds = [(attempt.fds[0], plan.cwd)]
            if plan.job_dir is not None:
                attempt.fds.append(open_dir(plan.job_dir))
                # What an earlier attempt (another uid) wrote there is this attempt's to resume.
                reown_tree(attempt.fds[1], lease.uid, box.uids)
                binds.append((attempt.fds[1], plan.job_dir))
            leftover = Leftover(executor=NAME, marker=marker, worker=WorkerId.this(),
                                trial=str(plan.cwd), uid=lease.uid, gpus=plan.placement.gpus)
            record = record_attempt(self.layout.attempts, leftover)
            try:
                if not plan.placement.network:  # the job asked for none, whatever the server's
                    box = replace(box, network=False)
                process = start_in_box(
                    Confined(box, self.cgroups, lease.uid, attempt.cgroup, limits),
                    argv=plan.argv, env={**plan.env, ATTEMPT_ENV: marker}, cwd=plan.cwd,
                    log_path=str(plan.log_path), log_cap_bytes=self.config.log_cap_bytes,
                    writable=binds, readable=[*interpreter_roots(plan.argv[0]),
                                              *_existing(plan.env.get("PYTHONPATH", ""))],
                    hide=[self.layout.root])
            except BaseException:
                record.unlink(missing_ok=True)
                raise
        except BaseException:
            attempt.close()
            raise
        attempt.close_fds()
        return LocalHandle(replace(leftover, pid=process.pid), process, record, attempt)

    def poll(self, handle: Handle, timeout: float) -> ExitStatus | None:
        local = _local(handle)
        return self._end(local) if local.process.wait(timeout) else None

    def stop(self, handle: Handle, grace: float) -> ExitStatus:
        local = _local(handle)
        local.process.stop(grace)
        return self._end(local)

    def _end(self, handle: LocalHandle) -> ExitStatus:
        with handle.ending:
            if handle.status is None:
                status = handle.process.end(orphans=_REAPS_ORPHANS.is_set())
                handle.record.unlink(missing_ok=True)
                if handle.boxed is not None:
                    status = handle.boxed.conclude(status.unboxed())
                handle.status = status
            return handle.status

    # -- what dead workers left --------------------------------------------------------------
    def leftovers(self) -> list[Leftover]:
        return [leftover for leftover in attempt_records(self.layout.attempts)
                if leftover.executor == NAME and leftover.worker.is_dead_here()]

    def reap(self, leftover: Leftover, grace: float = 2.0) -> int:
        """SIGTERM to every process that carries the attempt's marker and runs as its user,
        SIGKILL to those still there after ``grace`` seconds (and to any they start
        meanwhile).  Each process is pinned by a pidfd before its marker is read, so a pid
        that is reused meanwhile is never signalled."""
        ended: set[int] = set()
        sig = signal.SIGTERM
        deadline = time.monotonic() + grace
        give_up = deadline + 5.0
        while time.monotonic() < give_up:
            marked = _marked(leftover)
            if not marked:
                break
            for pid, fd in marked:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    _send(pid, fd, sig)
                    ended.add(pid)
                if fd is not None:
                    os.close(fd)
            time.sleep(0.05)
            if time.monotonic() >= deadline:
                sig = signal.SIGKILL
        record_path(self.layout.attempts, leftover).unlink(missing_ok=True)
        return len(ended)


@dataclass
class BoxedAttempt:
    """What a boxed attempt holds while it runs: its uid, its cgroups, the fds bwrap binds."""

    lease: UidLease
    cgroup: TrialCgroup | None = None
    limits: TrialLimits | None = None
    fds: list[int] = field(default_factory=list)

    def close_fds(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []

    def close(self) -> None:
        self.close_fds()
        if self.cgroup is not None:
            self.cgroup.remove()
        self.lease.release()

    def conclude(self, status: ExitStatus) -> ExitStatus:
        """``status``, with "out of memory" as its cause when the kernel's OOM killer ended a
        process of the trial; the attempt's uid and cgroups are released."""
        oom = self.cgroup is not None and self.cgroup.out_of_memory()
        self.close()
        if oom and self.limits is not None and self.limits.memory_bytes:
            cause = f"out of memory (limit {format_bytes(self.limits.memory_bytes)})"
            return replace(status, cause=cause)
        return status


@functools.cache  # once per worker process: an executor is made per trial
def _cgroup_support() -> CgroupSupport:
    return CgroupSupport.probe()


def _existing(pythonpath: str) -> list[str]:
    return [p for p in pythonpath.split(os.pathsep) if p and os.path.isdir(p)]


def _local(handle: Handle) -> LocalHandle:
    if not isinstance(handle, LocalHandle):
        raise TypeError(f"not a local executor's attempt: {handle!r}")
    return handle


def _pin(pid: int) -> int | None:
    """A pidfd naming process ``pid`` itself, or None where pidfds are missing (Linux < 5.3)."""
    try:
        return os.pidfd_open(pid)
    except AttributeError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            return None
        raise


def _send(pid: int, fd: int | None, sig: int) -> None:
    if fd is not None:
        signal.pidfd_send_signal(fd, sig)
    else:
        os.kill(pid, sig)


def _marked(leftover: Leftover) -> list[tuple[int, int | None]]:
    """The live processes of ``leftover``'s attempt, each with a pidfd pinning it."""
    needle = f"{ATTEMPT_ENV}={leftover.marker}".encode()
    found: list[tuple[int, int | None]] = []
    try:
        entries = os.listdir("/proc")
    except OSError:  # no procfs: nothing can be verified, so nothing is ended
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        try:
            if leftover.uid is not None and os.stat(f"/proc/{pid}").st_uid != leftover.uid:
                continue
            fd = _pin(pid)
        except OSError:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            environ = b""
        if needle in environ.split(b"\0"):
            found.append((pid, fd))
        elif fd is not None:
            os.close(fd)
    return found
