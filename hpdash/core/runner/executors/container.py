"""The container executor: a trial of a job that names an image (ml v1 ``masterConfig.imageUri``)
runs in that image with rootful podman (:mod:`hpdash.core.runner.podman`), as boxed as a local
trial:

- prepare: the image must be on this machine (``podman image exists``).  A missing one is
  pulled only from a registry the site named (``HPDASH_CONTAINER_PULL_FROM``): ``podman pull``
  (no shell), its output in the trial's log, stopped after ``HPDASH_CONTAINER_PULL_TIMEOUT``;
  a failed or timed-out pull fails the trial ("could not pull IMAGE from REGISTRY: ...").
  Otherwise :class:`~hpdash.core.runner.executor.ImageNotHere` (the worker re-queues the
  trial for a machine that has the image, or fails it).  ``--pull=never`` at create: a
  container never pulls by itself.
- start: the trial's own directories, fresh, owned by a uid leased for the attempt (the box's
  range, :func:`hpdash.core.runner.box.lease_uid`); then ``podman create`` (``--pull=never``,
  ``--init``, ``--network=none`` unless the server allows it, ``--user <uid>``, a read-only
  root with a private ``/tmp``, ``--cap-drop=all``, ``no-new-privileges``, the trial's memory,
  CPU and process limits, one CDI device per leased GPU) and ``podman start --attach``, whose
  output is the trial log.  Create and start are two calls so that podman's own failures (125:
  no such image; 126: no such device) are never taken for the trainer's exit code.
- what the trainer sees: the contract's environment (``TF_CONFIG``, ``CLOUD_ML_*``,
  ``AIP_*``), not the worker's; its trial directory (``HOME``) and ``<jobDir>/<trialId>``
  bound read-write at their own paths (so ``--job-dir`` and the metric file's path are the
  same inside and out), the metric file's folder also at hypertune's default
  ``/tmp/hypertune``; its own processes only (a PID namespace).
- stop: ``podman stop -t <grace>`` (SIGTERM to the trainer, SIGKILL after the grace): a
  signal to the podman client would leave the container running.  The container is removed
  at the end (``podman rm -f``).
- podman binds by path: each bound directory is the attempt's own, just made (or checked)
  without following a link by :func:`~hpdash.core.runner.sandbox.own_dir` and
  :func:`~hpdash.core.runner.sandbox.own_job_dir`, in parents no trainer can write, and no
  process of its leased uid runs yet: the path podman resolves is the one checked.
- every container carries labels naming its attempt and worker: the next worker on this
  machine finds those of a dead worker (:meth:`ContainerExecutor.leftovers`) and removes them.
- each attempt also has a record in ``<data>/attempts`` naming its GPUs (as the local
  executor's), written before the container is created and removed once it is: a GPU of a
  superseded attempt whose container still runs is not leased again
  (:func:`~hpdash.core.runner.executor.gpus_in_use`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hpdash.core.runner.box import (
    UidBusy,
    UidLease,
    job_wants_network,
    lease_uid,
    open_dir,
    reown_tree,
)
from hpdash.core.runner.executor import (
    ExecutorConfig,
    Handle,
    ImageNotHere,
    Leftover,
    PrepareError,
    PrepareStopped,
    Runtime,
    WorkerId,
    attempt_records,
    record_attempt,
    record_path,
)
from hpdash.core.runner.executors.jobenv import note
from hpdash.core.runner.executors.local import _REAPS_ORPHANS
from hpdash.core.runner.limits import TrialLimits, format_bytes, limits_for
from hpdash.core.runner.plan import TrialPlan
from hpdash.core.runner.podman import (
    CDI_GPU,
    Podman,
    PodmanError,
    bind,
    env_argv,
    labels_argv,
    last_line,
    registry_of,
)
from hpdash.core.runner.process import ExitStatus, TrainerProcess
from hpdash.core.runner.sandbox import SandboxError, TrialUser, fresh_trial_dirs, gate
from hpdash.core.spec import JobDefinition

NAME = "container"
# The labels on every container hpdash starts.
LABEL_ATTEMPT = "hpdash.attempt"
LABEL_WORKER = "hpdash.worker"
LABEL_TRIAL = "hpdash.trial"
HYPERTUNE_DIR = "/tmp/hypertune"  # noqa: S108 - cloudml-hypertune's default, in the container
NOBODY = 65534  # the uid of an unboxed container trial (never root)
_ASK_PODMAN = (125, 126, 127, 137, None)


@dataclass
class ContainerHandle(Handle):
    name: str
    client: TrainerProcess  # ``podman start --attach``: its output is the trial log
    record: Path  # the attempt's record (its GPUs), removed with its container
    lease: UidLease | None
    limits: TrialLimits | None
    # The lease watch may stop the attempt from its own thread while the poll loop sees it
    # end: the first to get here ends it, the other gets the same status.
    ending: threading.Lock = field(default_factory=threading.Lock, repr=False)
    status: ExitStatus | None = None
    stopped: bool = False  # hpdash stopped it (a SIGKILL after the grace is hpdash's)


class ContainerExecutor:
    name = NAME

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self.layout = config.layout
        self.settings = config.containers
        self.podman = (Podman.here(self.layout.podman, config.containers.podman)
                       if config.containers else None)

    def _podman(self) -> Podman:
        if self.podman is None:
            raise PrepareError("this worker runs no containers (podman is not installed, or "
                               "HPDASH_CONTAINERS=off)")
        return self.podman

    def on_worker_start(self) -> None:
        pass  # the conf is written when the executor is made; orphans: leftovers()

    # -- preparing ---------------------------------------------------------------------------
    def prepare(self, *, training: JobDefinition, project: str, job_id: str,
                log: Path | None = None, tick: Callable[[], str | None] | None = None
                ) -> Runtime:
        image = training.image
        if image is None:
            raise PrepareError("the container executor runs container images, not packages")
        if self.podman is None:  # another machine may run it: the worker decides
            raise ImageNotHere(image.image_uri, (
                f"image {image.image_uri} cannot run on worker machine {socket.gethostname()}"
                ": it runs no containers (podman is not installed, or HPDASH_CONTAINERS=off)"))
        podman = self.podman
        if not podman.image_exists(image.image_uri):
            assert self.settings is not None  # there is a podman
            if not self.settings.may_pull(image.image_uri):
                raise ImageNotHere(image.image_uri, missing_image(image.image_uri,
                                                                  socket.gethostname()))
            self._pull(podman, image.image_uri, log, tick)
        try:
            gate(self.layout.sandbox_job(project, job_id), self.layout.sandbox,
                 self.config.user)
        except SandboxError as exc:
            raise PrepareError(str(exc)) from exc
        box = self.config.box
        return Runtime(python=image.image_uri,
                       limits=limits_for(training.described, box.defaults) if box else None,
                       network=job_wants_network(training.described))

    def _pull(self, podman: Podman, image: str, log: Path | None,
              tick: Callable[[], str | None] | None) -> None:
        """``podman pull`` of ``image`` (from a registry the site allows), its output in the
        trial's ``log``, ticking about once a second; stopped after the pull timeout."""
        assert self.settings is not None
        registry, limit = registry_of(image), self.settings.pull_timeout
        insecure = registry in self.settings.insecure
        argv = podman.argv("pull", *(["--tls-verify=false"] if insecure else []), image)
        with contextlib.ExitStack() as stack:
            if log is None:  # no trial log (the executor's own tests): a private file
                log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "pull.log"
            note(log, f"pulling {image} from {registry} (HPDASH_CONTAINER_PULL_FROM"
                       f"{', without TLS verification' if insecure else ''}; at most "
                       f"{limit:g} s)")
            since = log.stat().st_size
            began, reason, timed_out = time.monotonic(), None, False
            process = TrainerProcess(argv, podman.env, "/", str(log),
                                     log_cap_bytes=self.config.log_cap_bytes)
            while not process.wait(1.0):
                timed_out = time.monotonic() - began > limit
                reason = "timed out" if timed_out else (tick() if tick else None)
                if reason:
                    process.stop(2.0)
                    break
            status = process.end()
            said = _last_line_since(log, since)
        failed = f"could not pull {image} from {registry}"
        if timed_out:
            raise PrepareError(f"{failed}: no image after {limit:g} s "
                               "(HPDASH_CONTAINER_PULL_TIMEOUT)")
        if reason:
            raise PrepareStopped(f"the pull of {image} was stopped: {reason}")
        if status.returncode != 0:
            raise PrepareError(f"{failed}: {said or f'podman exit code {status.returncode}'}")
        note(log, f"pulled {image} in {time.monotonic() - began:.1f} s")

    # -- running -----------------------------------------------------------------------------
    def start(self, plan: TrialPlan) -> ContainerHandle:
        podman = self._podman()
        assert plan.image is not None, "not a container trial's plan"
        marker = secrets.token_hex(12)
        name = f"hpdash-{marker}"
        lease = self._lease(plan)
        try:
            # Its leased uid (gid the same), else the trial user, else nobody: never root.
            user = (TrialUser(f"trial-{lease.uid}", lease.uid, lease.uid) if lease else
                    self.config.user or TrialUser("nobody", NOBODY, NOBODY))
            uid = user.uid
            self._fresh_dirs(plan, user)
            worker = WorkerId.this()
            leftover = Leftover(executor=NAME, marker=name, worker=worker,
                                trial=str(plan.cwd), uid=uid, gpus=plan.placement.gpus)
            limits = plan.placement.limits or (self.config.box.defaults
                                               if self.config.box else None)
            argv = self._create_argv(plan, name, user, limits, labels={
                LABEL_ATTEMPT: name, LABEL_TRIAL: str(plan.cwd),
                LABEL_WORKER: json.dumps([worker.host, worker.pid, worker.started])})
            record = record_attempt(self.layout.attempts, leftover)
            try:
                try:
                    podman.run(*argv, timeout=120)
                except PodmanError as exc:
                    raise PrepareError(f"cannot create the trial's container: {exc}") from exc
                try:
                    client = TrainerProcess(podman.argv("start", "--attach", name),
                                            podman.env, "/", str(plan.log_path),
                                            log_cap_bytes=self.config.log_cap_bytes)
                except BaseException:
                    podman.run("rm", "--force", name, check=False)
                    raise
            except BaseException:
                record.unlink(missing_ok=True)
                raise
        except BaseException:
            if lease is not None:
                lease.release()
            raise
        return ContainerHandle(leftover, name, client, record, lease, limits)

    def _lease(self, plan: TrialPlan) -> UidLease | None:
        box = self.config.box
        if box is None:
            return None
        seed = int.from_bytes(hashlib.sha256(str(plan.cwd).encode()).digest()[:8], "big")
        try:
            return lease_uid(self.layout.uids, box.uids, seed)
        except UidBusy as exc:
            raise PrepareError(str(exc)) from exc

    def _fresh_dirs(self, plan: TrialPlan, user: TrialUser) -> None:
        """The trial's own directories, fresh, owned by its uid (as the local executor's)."""
        try:
            fresh_trial_dirs(plan.cwd, plan.metric_file.parent, plan.job_dir,
                             sandbox=self.layout.sandbox, gate_user=self.config.user,
                             user=user, bound=True)
            if plan.job_dir is not None:
                box = self.config.box
                if box is not None:  # an earlier attempt's files are this one's to resume
                    fd = open_dir(plan.job_dir)
                    try:
                        reown_tree(fd, user.uid, box.uids)
                    finally:
                        os.close(fd)
        except SandboxError as exc:
            raise PrepareError(str(exc)) from exc

    def _create_argv(self, plan: TrialPlan, name: str, user: TrialUser,
                     limits: TrialLimits | None, labels: Mapping[str, str]) -> list[str]:
        # None unless the server allows it; a job that asks for none gets none regardless.
        network = (self.settings is not None and self.settings.network
                   and plan.placement.network)
        argv = ["create", "--name", name, "--pull=never", "--init",
                f"--network={'host' if network else 'none'}", f"--user={user.uid}:{user.gid}",
                "--read-only", "--tmpfs=/tmp:rw,mode=1777", "--cap-drop=all",
                "--security-opt=no-new-privileges", "--log-driver=none",
                *labels_argv(labels), *limit_argv(limits)]
        try:
            argv += bind(plan.cwd, plan.cwd) + bind(plan.metric_file.parent, HYPERTUNE_DIR)
            if plan.job_dir is not None:
                argv += bind(plan.job_dir, plan.job_dir)
        except ValueError as exc:
            raise PrepareError(str(exc)) from exc
        gpus = plan.placement.gpus
        for gpu in gpus:
            argv += ["--device", f"{CDI_GPU}={gpu}"]
        env = {**plan.env, "HOME": str(plan.cwd), "TMPDIR": "/tmp",  # noqa: S108 - its own
               "USER": user.name, "LOGNAME": user.name,
               # Inside, the leased GPUs are numbered from 0; without a lease, none at all
               # (CUDA images set NVIDIA_VISIBLE_DEVICES=all for the legacy nvidia hook).
               "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(len(gpus)))}
        if not gpus:
            env["NVIDIA_VISIBLE_DEVICES"] = "void"
        argv += env_argv(env)
        if plan.entrypoint:
            argv += ["--entrypoint", json.dumps(list(plan.entrypoint))]
        return [*argv, "--", *plan.argv]

    def poll(self, handle: Handle, timeout: float) -> ExitStatus | None:
        mine = _mine(handle)
        return self._end(mine) if mine.client.wait(timeout) else None

    def stop(self, handle: Handle, grace: float) -> ExitStatus:
        mine = _mine(handle)
        mine.stopped = True
        if mine.status is None and self.podman is not None:
            # SIGTERM to the trainer (through --init), SIGKILL after the grace period.
            self.podman.run("stop", "--time", str(max(1, math.ceil(grace))), mine.name,
                            check=False, timeout=grace + 60)
        return self._end(mine)

    def _end(self, handle: ContainerHandle) -> ExitStatus:
        with handle.ending:
            if handle.status is None:
                handle.status = self._conclude(handle)
            return handle.status

    def _conclude(self, handle: ContainerHandle) -> ExitStatus:
        podman = self._podman()
        handle.client.wait(30)  # the client ends with its container (stopped or not)
        state: dict[str, Any] = {}
        # Asked only when the exit status may not be the trainer's own (~0.1 s a call): a
        # SIGKILL (the OOM killer's?) or podman's own 125-127 (the container did not start).
        if handle.client.proc.returncode in _ASK_PODMAN:
            with contextlib.suppress(PodmanError, ValueError, IndexError, TypeError):
                out = podman.run("inspect", "--type", "container", "--format", "json",
                                 handle.name)
                state = dict(json.loads(out.stdout)[0].get("State") or {})
        removed = podman.run("rm", "--force", "--time", "0", handle.name, check=False)
        if removed.returncode == 0:  # else the record keeps its GPUs until it is reaped
            handle.record.unlink(missing_ok=True)
        status = handle.client.end(orphans=_REAPS_ORPHANS.is_set()).unboxed()
        if handle.lease is not None:
            handle.lease.release()
        limit = handle.limits.memory_bytes if handle.limits else None
        shown = f" (limit {format_bytes(limit)})" if limit else ""
        if state.get("OOMKilled"):
            return replace(status, cause=f"out of memory{shown}")
        if status.signal == signal.SIGKILL and limit and not handle.stopped:
            # Nothing outside the container's PID namespace but the kernel kills in it, and
            # podman's own OOM flag stays false where conmon cannot watch cgroup v1 events.
            return replace(status, cause=f"killed by SIGKILL, most likely out of memory{shown}")
        if state.get("Error"):  # podman's, not the trainer's (a device, the runtime)
            return replace(status, cause=f"the container could not start: {state['Error']}")
        return status

    # -- what dead workers left --------------------------------------------------------------
    def leftovers(self) -> list[Leftover]:
        if self.podman is None:
            return []
        try:
            rows = self.podman.containers({LABEL_ATTEMPT: ""})
        except (PodmanError, ValueError):
            return []
        found: dict[str, Leftover] = {}
        for row in rows:
            labels = row.get("Labels") or {}
            try:
                host, pid, started = json.loads(labels[LABEL_WORKER])
                worker = WorkerId(str(host), int(pid), started)
            except (KeyError, ValueError, TypeError):
                continue
            if worker.is_dead_here():
                marker = str(labels[LABEL_ATTEMPT])
                found[marker] = Leftover(executor=NAME, marker=marker, worker=worker,
                                         trial=str(labels.get(LABEL_TRIAL, "")))
        # A record whose container is gone already (removed by hand, or its worker died
        # between the two): reaping it frees its GPUs.
        for leftover in attempt_records(self.layout.attempts):
            if leftover.executor == NAME and leftover.worker.is_dead_here():
                found.setdefault(leftover.marker, leftover)
        return list(found.values())

    def reap(self, leftover: Leftover, grace: float = 2.0) -> int:
        """Remove the attempt's container (stopped with ``grace`` first), then its record."""
        if self.podman is None:
            return 0
        out = self.podman.run("rm", "--force", "--time", str(max(0, math.ceil(grace))),
                              leftover.marker, check=False, timeout=grace + 60)
        removed = out.returncode == 0 and bool(out.stdout.strip())
        try:
            gone = removed or not self.podman.containers({LABEL_ATTEMPT: leftover.marker})
        except (PodmanError, ValueError):
            gone = False  # its GPUs stay taken until a later reap can tell
        if gone:
            record_path(self.layout.attempts, leftover).unlink(missing_ok=True)
        return 1 if removed else 0


def missing_image(image: str, host: str) -> str:
    return (f"image {image} is not on worker machine {host}, which does not pull from "
            f"{registry_of(image)} (HPDASH_CONTAINER_PULL_FROM): load it there with podman "
            "load or podman pull, or give a local image that name with podman tag")


def _last_line_since(log: Path, offset: int) -> str:
    """The last line written to ``log`` after ``offset`` (a podman error, as podman says it)."""
    fd = os.open(log, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        start = max(offset, os.fstat(fd).st_size - 64 * 1024)
        text = os.pread(fd, 64 * 1024, start).decode(errors="replace")
    finally:
        os.close(fd)
    return last_line(text).removeprefix("Error: ")[:2000]


def limit_argv(limits: TrialLimits | None) -> list[str]:
    """podman's memory (swap included: none beyond it), CPU and process limits."""
    if limits is None:
        return []
    argv = []
    if limits.memory_bytes:
        argv += [f"--memory={limits.memory_bytes}b", f"--memory-swap={limits.memory_bytes}b"]
    if limits.cpus:  # podman refuses more CPUs than the machine has
        argv.append(f"--cpus={min(limits.cpus, float(os.cpu_count() or 1)):g}")
    if limits.processes:
        argv.append(f"--pids-limit={limits.processes}")
    return argv


def _mine(handle: Handle) -> ContainerHandle:
    if not isinstance(handle, ContainerHandle):
        raise TypeError(f"not a container executor's attempt: {handle!r}")
    return handle


__all__ = ["ContainerExecutor", "missing_image"]
