"""The worker side of a trial: claim it, pick its executor (:mod:`hpdash.worker.executors`),
have the executor prepare what the job needs, plan the trial once
(:func:`hpdash.core.runner.plan_trial`), start the trainer and watch it through the executor,
stream its measurements into the database, stop it when its job is cancelled
or fails, when the early-stopping rule says so, or when this attempt was superseded, and record
the outcome with a cause users can act on.

Every write after the claim names this attempt (:mod:`hpdash.services.trials`): when one is
refused, the attempt no longer owns the trial (it was re-queued, or settled with its job), so
the trainer is stopped and nothing more is written.

A trial whose container image is not on this machine (which may not pull it) is handed back
(re-queued) only when another worker machine with a live worker has the image or pulls from
its registry, as that machine last reported; otherwise it fails, naming the image and this
machine.  Before deciding, this machine's own report is recorded anew, so job create and the
other workers stop counting it as a holder of the image.  The worker that hands a trial back
pauses (UNAVAILABLE_PAUSE, doubled for each such trial in a row), so a worker of a machine that
has the image takes it: a trial is never failed for its image while a live machine has it, and
it does not bounce for ever between machines that lack it (the last holder's workers gone, it
fails on the next machine that takes it).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, connection

from hpdash.core.layout import DataLayout
from hpdash.core.runner import (
    Executor,
    Handle,
    ImageNotHere,
    Placement,
    PrepareError,
    PrepareStopped,
    ProcessOutcome,
    TrialPlan,
    plan_trial,
    safe_files,
)
from hpdash.core.runner.metrics import Measurement
from hpdash.core.runner.sources import MetricSources
from hpdash.core.states import JobState, StopReason, TrialState
from hpdash.core.stopping import Curves, StoppingContext, get_rule
from hpdash.core.stopping_length import FullRun, TrialLength, trial_length
from hpdash.models import Trial
from hpdash.ops.gpus import this_machine
from hpdash.selectors.containers import image_hosts_elsewhere
from hpdash.selectors.trials import (
    completed_curves,
    job_state_now,
    running_curves,
    trial_refusal,
    trials_params,
)
from hpdash.services.containers import container_host_report
from hpdash.services.gpus import GpusBusy
from hpdash.services.scheduling import job_advance
from hpdash.services.trials import (
    TrialOutcome,
    trial_add_measurements,
    trial_finish,
    trial_heartbeat,
    trial_requeue,
    trial_start,
)
from hpdash.worker.executors import executor_for_training
from hpdash.worker.lease import LeaseWatch, fence_after
from hpdash.worker.log_shipper import LogShipper, shipper_for
from hpdash.worker.packages import PackagesUnavailable, definition_with_local_packages
from hpdash.worker.worker import SHUTDOWN

log = logging.getLogger(__name__)
T = TypeVar("T")

# How often (seconds) a running trial re-reads its job's state and writes a heartbeat.
STATE_CHECK_EVERY = 1.0
# How long (seconds) a worker waits for GPUs before leaving the trial queued, and how often
# it looks meanwhile.
GPU_WAIT_IN_PLACE = 3.0
GPU_WAIT_POLL = 0.5
# How long (seconds) the final write of an outcome keeps retrying a busy or lost database.
FINISH_RETRY_FOR = 60.0
# How long (seconds) a worker that could not get a trial's packages waits before it takes work
# again, so that another worker takes the re-queued trial; doubled for each further trial it
# could not start in a row, up to UNAVAILABLE_PAUSE_MAX: a machine that cannot reach the
# server's packages stops taking work rather than take every trial and hand it back.
UNAVAILABLE_PAUSE = 5.0
UNAVAILABLE_PAUSE_MAX = 300.0
# The cause recorded for a trial hpdash stopped because of its job (a trial stopped early has
# none: it keeps its last measurement and counts as a success).
_STOP_CAUSES = {StopReason.CANCELLED: "job cancelled", StopReason.JOB_FAILED: "job failed"}


class _Streak:
    """How many trials in a row this worker process could not start (a trial that starts
    resets it)."""

    count = 0


_UNAVAILABLE = _Streak()


def unavailable_pause(in_a_row: int) -> float:
    """Seconds a worker pauses after its ``in_a_row``-th trial in a row it could not start."""
    return min(UNAVAILABLE_PAUSE * 2.0 ** max(in_a_row - 1, 0), UNAVAILABLE_PAUSE_MAX)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(trial_pk: int, attempt: int) -> Trial | None:
    """Claim the trial, waiting a few seconds for GPUs if it needs them.  A trial still
    without them is left QUEUED (its ``waiting`` says why) for this worker to take other work:
    it is queued again when a lease ends, or by the reconciler."""
    deadline = time.monotonic() + GPU_WAIT_IN_PLACE
    while True:
        try:
            return trial_start(trial_pk=trial_pk, attempt=attempt, worker=worker_name(),
                               machine=this_machine())
        except GpusBusy as busy:
            if time.monotonic() >= deadline or SHUTDOWN.is_set():
                log.info("trial %s: %s; left queued", trial_pk, busy)
                return None
            time.sleep(GPU_WAIT_POLL)


def trial_execute(trial_pk: int, attempt: int) -> None:
    """The RQ task's body: run one attempt of a trial to its end."""
    trial = _claim(trial_pk, attempt)
    if trial is None:
        return
    run = TrialRun(trial)
    try:
        outcome = run.run()
    except (KeyboardInterrupt, SystemExit):
        # A cold shutdown of the worker: the trial will run again on a live worker.
        log.warning("%s interrupted by worker shutdown; re-queued", trial)
        trial_requeue(trial=trial)
        raise
    except Exception as exc:
        log.exception("%s: internal error", trial)
        outcome = TrialOutcome(TrialState.FAILED, failure_reason=f"internal error in hpdash: {exc}")
    if run.shut_down:
        log.info("%s stopped by worker shutdown or for its lease; re-queued", trial)
        try:
            trial_requeue(trial=trial)
        except DatabaseError as exc:  # the reconciler re-queues it once its lease has expired
            _db_hiccup(f"re-queueing {trial}", exc)
        if run.unavailable:
            _pause_unavailable(run.unavailable)
    elif outcome is not None and _finish_retrying(trial, outcome):
        job_advance(trial.job_id)


def _pause_unavailable(why: str) -> None:
    """Stop taking work for a while (longer each time in a row), saying why."""
    _UNAVAILABLE.count += 1
    pause = unavailable_pause(_UNAVAILABLE.count)
    level = logging.ERROR if _UNAVAILABLE.count >= 3 else logging.WARNING
    log.log(level, "this worker could not start %d trial(s) in a row (the last: %s); it takes "
            "no work for %.0f s", _UNAVAILABLE.count, why, pause)
    SHUTDOWN.wait(pause)


def _started() -> None:
    _UNAVAILABLE.count = 0


def _db_hiccup(what: str, exc: DatabaseError) -> None:
    """A busy SQLite file or a dropped connection while a trial runs is not the trial's fault:
    log it, drop a broken connection (Django opens a new one on next use) and go on."""
    log.warning("database error while %s (will retry): %s", what, exc)
    if not connection.is_usable():
        connection.close()


def _retrying(what: str, write: Callable[[], T]) -> T:
    """``write()``, retried through a busy or lost database for FINISH_RETRY_FOR seconds, so a
    trial that ran to its end is not lost to one locked write."""
    deadline = time.monotonic() + FINISH_RETRY_FOR
    delay = 0.1
    while True:
        try:
            return write()
        except DatabaseError as exc:
            if time.monotonic() + delay > deadline:
                raise
            _db_hiccup(what, exc)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _finish_retrying(trial: Trial, outcome: TrialOutcome) -> bool:
    return _retrying(f"recording {trial}'s outcome",
                     lambda: trial_finish(trial=trial, outcome=outcome))


class TrialLog:
    """hpdash's own lines in the trial's log, beside the trainer's output."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def note(self, text: str) -> None:
        fd = safe_files.open_append(self.path)  # never through a link, never into a FIFO
        with os.fdopen(fd, "a") as f:
            f.write(f"[hpdash] {text}\n")


class EarlyStopper:
    """Applies the server's early-stopping rule (``HPDASH_EARLY_STOPPING_RULE``) to the running
    trial as its measurements arrive, against its job's other trials: completed ones (each read
    once: a finished curve never changes) and running ones, re-read at most once a second.
    When a parameter decides how many steps a trial runs, the rule projects to this trial's
    own length (:mod:`hpdash.core.stopping_length`)."""

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.rule = get_rule(settings.HPDASH.early_stopping_rule)
        self.completed = Curves()
        self.running = Curves()
        self.full_runs: list[FullRun] = []  # (params, last step) of completed full runs
        self.length: TrialLength | None = None
        self.own: list[tuple[int, float]] = []
        self.refreshed = False
        self.detail = ""

    def _refresh(self) -> None:
        job_pk = self.trial.job_id
        new = completed_curves(job_pk=job_pk, exclude=self.completed.trial_ids())
        for trial_pk, (points, stopped) in new.items():
            self.completed.add(trial_pk, points, stopped_early=stopped)
        full = [pk for pk, (points, stopped) in new.items() if points and not stopped]
        if full:
            params = trials_params(pks=full)
            self.full_runs += [(params[pk], max(step for step, _ in new[pk][0]))
                               for pk in full if pk in params]
            self.length = trial_length(self.trial.params, self.full_runs)
        self.running = Curves(running_curves(job_pk=job_pk, exclude=self.trial.pk))
        self.refreshed = True

    def check(self, new: list[tuple[int, float]], *, refresh: bool) -> StopReason | None:
        self.own += new
        if refresh or not self.refreshed:
            self._refresh()
        decision = self.rule.decide(StoppingContext(
            points=self.own, completed=self.completed, maximize=self.trial.job.maximize,
            running=self.running, max_steps=self.length.steps if self.length else None,
            length_from=self.length.describe() if self.length else ""))
        if decision is None:
            return None
        self.detail = f"stopped early at step {decision.step} ({decision.rule}): {decision.detail}"
        return StopReason.STOPPED_EARLY


@dataclass
class MetricCollector:
    """Moves new measurements from the trial's metric sources into the database, up to the
    per-trial cap."""

    trial: Trial
    sources: MetricSources
    cap: int
    stored: int = 0
    over_cap: bool = False
    arrived: list[tuple[int, float]] = field(default_factory=list)
    # Read from the sources but not yet written: a write the database refused (busy, or the
    # connection dropped) is tried again at the next poll rather than lost.
    pending: list[Measurement] = field(default_factory=list)
    pending_source: str = ""
    note: Callable[[str], None] | None = None  # the trial log's, for what the sources tell

    def collect(self, *, final: bool = False) -> StopReason | None:
        source, new = self.sources.poll(final=final)
        for text in self.sources.take_notes():
            if self.note is not None:
                self.note(text)
        if new:
            self.pending += new
            self.pending_source = source
        if not self.pending:
            return None
        new, self.pending = self.pending, []
        room = max(self.cap - self.stored, 0)
        kept = new[:room]
        try:
            written = not kept or trial_add_measurements(
                trial=self.trial, measurements=kept, source=self.pending_source)
        except DatabaseError:
            self.pending = new
            raise
        if not written:
            return StopReason.SUPERSEDED
        self.stored += len(kept)
        # The early-stopping rule follows the first metric.
        self.arrived.extend((m.step, m.value) for m in kept if m.metric == 0)
        if len(new) > room:
            self.over_cap = True
            return StopReason.TOO_MANY_METRICS
        return None


class TrialRun:
    """One attempt of one trial, from its plan to its outcome."""

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.job = trial.job
        self.cfg = settings.HPDASH
        self.layout = DataLayout(Path(settings.DATA_DIR))
        project, job_id, trial_id = self.job.project_id, self.job.job_id, trial.trial_id
        self.log = TrialLog(self.layout.trial_log(project, job_id, trial_id))
        self.stopper = EarlyStopper(trial) if self.job.spec.enable_early_stopping else None
        self.pid: int | None = None
        self.last_check = time.monotonic()
        self.refused: StopReason | None = None
        self.shut_down = False  # the worker is stopping: the trial is to be re-queued
        self.unavailable = ""  # why this machine could not get the packages: re-queued too
        self.prepare_stop: StopReason | None = None  # why preparing was stopped, if it was
        self.shipper: LogShipper | None = None  # a worker machine sends the log to the server
        self.lease = LeaseWatch(math.inf, lambda: None)  # replaced while the trainer runs

    # -- preparing ---------------------------------------------------------------------------
    def _plan(self, executor: Executor) -> TrialPlan:
        job, trial = self.job, self.trial
        definition = definition_with_local_packages(job, self._preparing)
        runtime = executor.prepare(training=definition, project=job.project_id,
                                   job_id=job.job_id, log=self.log.path, tick=self._preparing)
        return plan_trial(training=definition, layout=self.layout, project=job.project_id,
                          job_id=job.job_id, trial_id=trial.trial_id, params=trial.params,
                          python=runtime.python, base_env=os.environ,
                          pythonpath=runtime.pythonpath,
                          placement=Placement(run_as=runtime.run_as, gpus=tuple(trial.gpus),
                                              limits=runtime.limits, network=runtime.network,
                                              attempt=trial.attempt))

    def _preparing(self) -> str | None:
        """Ticks while the executor prepares (a job's environment may take minutes to build):
        the heartbeat, so the attempt is not taken for lost, and whether to stop."""
        now = time.monotonic()
        if SHUTDOWN.is_set():
            self.prepare_stop = StopReason.WORKER_SHUTDOWN
        elif self.prepare_stop is None and now - self.last_check >= STATE_CHECK_EVERY:
            self.last_check = now
            try:
                self.prepare_stop = self._heartbeat() or self._job_stop_reason()
            except DatabaseError as exc:
                _db_hiccup(f"{self.trial} was being prepared", exc)
        # Once a reason is found it stays: every later step of the preparation stops too.
        return str(self.prepare_stop) if self.prepare_stop else None

    def _stopped_while_preparing(self, exc: PrepareStopped) -> TrialOutcome | None:
        reason = self.prepare_stop
        self.log.note(f"stopped while preparing: {exc}")
        if reason is StopReason.WORKER_SHUTDOWN:
            self.shut_down = True
            return None
        if reason is None or self.refused is not None or reason.trial_state is None:
            return None  # superseded: nothing of this attempt is recorded
        return TrialOutcome(reason.trial_state, reason, _STOP_CAUSES.get(reason, str(exc)))

    # -- running -----------------------------------------------------------------------------
    def run(self) -> TrialOutcome | None:
        """Run the attempt.  None when it no longer owns the trial (nothing to record)."""
        self.log.path.parent.mkdir(parents=True, exist_ok=True)
        self.shipper = shipper_for(self.log.path, trial_pk=self.trial.pk,
                                   attempt=self.trial.attempt)
        try:
            return self._run()
        finally:
            if self.shipper:
                self.shipper.ship(final=True)

    def _run(self) -> TrialOutcome | None:
        trial = self.trial
        self.log.note(f"trial {trial.trial_id} attempt {trial.attempt_number} on {worker_name()}")
        executor = executor_for_training(self.job.definition)
        try:
            plan = self._plan(executor)
        except PrepareStopped as exc:
            return self._stopped_while_preparing(exc)
        except ImageNotHere as exc:
            return self._image_not_here(exc)
        except PrepareError as exc:
            return self._failed_to_start(exc)
        except PackagesUnavailable as exc:
            return self._hand_back(str(exc), "another worker")
        _started()
        self.log.note(f"argv: {list(plan.argv[1:])}")
        if plan.placement.limits is not None:
            self.log.note(f"limits: {plan.placement.limits.describe()}")
        if plan.placement.gpus:
            self.log.note(f"GPUs: CUDA_VISIBLE_DEVICES={','.join(plan.placement.gpus)} on "
                          f"{self.trial.gpu_host}")
        # Event files from an earlier attempt of this trial are not this attempt's results.
        not_before = trial.start_time.timestamp() - 1 if trial.start_time else None
        sources = MetricSources(str(plan.metric_file), plan.metric_tag,
                                str(plan.job_dir) if plan.job_dir else None, not_before,
                                trusted=str(plan.cwd.parent),
                                more_tags=tuple(m.tag for m in self.job.spec.more_metrics))
        self.metrics = MetricCollector(trial, sources, self.cfg.trial_max_measurements,
                                       note=self.log.note)
        began = time.monotonic()
        try:
            handle = executor.start(plan)
        except PrepareError as exc:
            return self._failed_to_start(exc)
        # Recorded at the first poll, a poll interval after the start: a trial done sooner
        # never needs it (it is cleared at the end), which spares a quick trial a write.
        self.pid = handle.pid
        return self._conclude(self._drive(executor, handle, plan, began))

    def _hand_back(self, why: str, to: str) -> TrialOutcome | None:
        """Re-queue the trial for ``to`` (this machine cannot start it: ``why``); this worker
        then pauses (see :func:`_pause_unavailable`).  None: nothing of the attempt is
        recorded."""
        self.log.note(f"attempt {self.trial.attempt_number} cannot start on this machine: "
                      f"{why}; the trial is re-queued for {to}")
        log.warning("%s: %s; re-queued", self.trial, why)
        self.shut_down, self.unavailable = True, why
        return None

    def _image_not_here(self, exc: ImageNotHere) -> TrialOutcome | None:
        """Hand the trial back when another live worker machine can run its image, else fail
        it (the rule is the module's docstring)."""
        here = socket.gethostname()
        try:
            container_host_report()
        except Exception:  # the decision below reads the other machines' reports anyway
            log.warning("recording this machine's container images failed", exc_info=True)
        elsewhere = image_hosts_elsewhere(exc.image, here)
        if elsewhere and not SHUTDOWN.is_set():
            return self._hand_back(str(exc), f"a worker on {', '.join(elsewhere)}, which "
                                   "can run it")
        return self._failed_to_start(PrepareError(
            f"{exc}; no other worker machine with a running worker has it or pulls it"))

    def _failed_to_start(self, exc: PrepareError) -> TrialOutcome | None:
        if SHUTDOWN.is_set():
            self.shut_down = True  # the trial runs again on a live worker
            return None
        stop = self._job_stop_reason()
        if stop is not None and stop.trial_state is not None:  # preparing stopped for it
            self.log.note(f"stopped while preparing: {_STOP_CAUSES[stop]}")
            return TrialOutcome(stop.trial_state, stop, _STOP_CAUSES[stop])
        self.log.note(f"FAILED: {exc}")
        return TrialOutcome(TrialState.FAILED, failure_reason=str(exc))

    def _drive(self, executor: Executor, handle: Handle, plan: TrialPlan,
               began: float) -> ProcessOutcome:
        """Watch the trainer until it ends, or stop it: at the time limit, or when a poll finds
        a reason.  A worker being shut down (``KeyboardInterrupt``/``SystemExit`` raised
        meanwhile) stops it before the exception goes on."""
        interval, grace = self.cfg.trial_poll_interval, self.cfg.trial_stop_grace
        reason: StopReason | None = None
        self.lease = LeaseWatch(fence_after(self.cfg.heartbeat_timeout, grace),
                                lambda: executor.stop(handle, grace))
        try:
            with self.lease:
                status = executor.poll(handle, interval)
                while status is None:
                    if time.monotonic() - began > plan.time_limit:
                        reason = StopReason.TIMED_OUT
                    else:
                        reason = self._poll()
                    if reason:
                        status = executor.stop(handle, grace)
                        break
                    status = executor.poll(handle, interval)
        except BaseException:
            executor.stop(handle, min(grace, 2.0))
            raise
        return ProcessOutcome(
            returncode=status.returncode, signal=status.signal,
            timed_out=reason is StopReason.TIMED_OUT, stop_reason=reason,
            duration=time.monotonic() - began, log_truncated=status.log_truncated,
            cause=status.cause)

    def _heartbeat(self, pid: int | None = None) -> StopReason | None:
        if self.lease.fenced.is_set():
            return StopReason.SUPERSEDED  # stopped for its lease: its results are not recorded
        if trial_heartbeat(trial=self.trial, pid=pid):
            self.lease.renewed()
            return None
        self.refused = trial_refusal(trial_pk=self.trial.pk, attempt=self.trial.attempt)
        return self.refused

    def _poll(self) -> StopReason | None:
        if SHUTDOWN.is_set():
            return StopReason.WORKER_SHUTDOWN
        if self.shipper:
            self.shipper.ship()
        try:
            return self._poll_db()
        except DatabaseError as exc:
            # The trainer goes on; this poll's writes are retried at the next one.  A database
            # gone for longer than the heartbeat timeout gets the trial re-queued by the
            # reconciler, and this attempt's next write is then refused (superseded).
            _db_hiccup(f"{self.trial} was running", exc)
            return None

    def _poll_db(self) -> StopReason | None:
        if self.pid is not None:
            reason = self._heartbeat(self.pid)
            self.pid = None  # recorded (an exception above keeps it for the next poll)
            if reason:
                return reason
        if reason := self.metrics.collect():
            return reason
        now = time.monotonic()
        due = now - self.last_check >= STATE_CHECK_EVERY
        if self.stopper is not None and self.metrics.arrived:
            reason = self.stopper.check(self.metrics.arrived[:], refresh=due)
            self.metrics.arrived.clear()
            if reason:
                return reason
        if due:
            self.last_check = now
            return self._heartbeat() or self._job_stop_reason()
        return None

    def _job_stop_reason(self) -> StopReason | None:
        state = job_state_now(job_pk=self.job.pk)
        if state in (JobState.CANCELLING, JobState.CANCELLED):
            return StopReason.CANCELLED
        if state == JobState.FAILED:
            return StopReason.JOB_FAILED
        return None

    # -- concluding --------------------------------------------------------------------------
    def _conclude(self, process: ProcessOutcome) -> TrialOutcome | None:
        reason = process.stop_reason
        if self.lease.fenced.is_set():
            self.log.note(f"attempt {self.trial.attempt_number} stopped: no heartbeat could be "
                          f"recorded for {self.lease.after:.0f} s (database or network "
                          "unreachable); its results are not recorded and the trial runs again")
            self.shut_down = True  # re-queued now if the database is back, else by the reconciler
            return None
        if reason is StopReason.WORKER_SHUTDOWN:
            # What the trainer reported before it stopped is kept: a re-run that resumes from
            # its checkpoint goes on after it (services.trials.trial_add_measurements).
            try:  # once: a shutdown is not held up by a database that is away
                self.metrics.collect(final=True)
            except DatabaseError as exc:
                _db_hiccup(f"{self.trial} was stopping", exc)
            self.log.note(f"attempt {self.trial.attempt_number} stopped: the worker is shutting "
                          "down; the trial runs again")
            self.shut_down = True
            return None
        if reason is not StopReason.SUPERSEDED and self.refused is None:
            reason = _retrying(f"reading {self.trial}'s last measurements",
                               lambda: self.metrics.collect(final=True)) or reason
        if self.refused is not None or reason is StopReason.SUPERSEDED:
            self.log.note(f"attempt {self.trial.attempt_number} stopped: "
                          f"{self.refused or reason}; its results are not recorded")
            return None
        outcome = self._decide(process, reason)
        note = outcome.failure_reason or (self.stopper.detail if self.stopper and
                                          reason is StopReason.STOPPED_EARLY else "")
        self.log.note(f"trial {self.trial.trial_id} {outcome.state}"
                      f"{': ' + note if note else ''} after {process.duration:.2f} s")
        return outcome

    def _decide(self, process: ProcessOutcome, reason: StopReason | None) -> TrialOutcome:
        if self.metrics.over_cap:
            reason = StopReason.TOO_MANY_METRICS
        # The state a stop ends in is StopReason.trial_state's (hpdash/core/states.py); here
        # only the cause a user reads.
        if reason is not None and reason.trial_state is not None:
            return TrialOutcome(reason.trial_state, reason, self._stop_cause(reason, process))
        if process.describe():
            return TrialOutcome(TrialState.FAILED, reason, process.describe())
        if self.metrics.stored == 0 and self.job.definition.requires_metric:
            rejected, seen = self.metrics.sources.rejected, self.metrics.sources.seen()
            return TrialOutcome(TrialState.FAILED, None, rejected[-1] if rejected else
                                f'no metric "{self.job.metric_tag}" reported'
                                f"{f' ({seen})' if seen else ''}")
        missing = self.metrics.sources.missing() if self.job.spec.multi_objective else []
        if missing:  # a multi-objective trial without every metric has no final measurement
            return TrialOutcome(TrialState.FAILED, None, "no metric " + ", ".join(
                f'"{tag}"' for tag in missing) + " reported (the study has several metrics: "
                "report each of them)")
        return TrialOutcome(TrialState.SUCCEEDED)

    def _stop_cause(self, reason: StopReason, process: ProcessOutcome) -> str:
        if reason is StopReason.TOO_MANY_METRICS:
            return (f"Too many hyperparameter tuning metrics were written by "
                    f"Hyperparameter Tuning Trial #{self.trial.trial_id}.")
        if reason is StopReason.TIMED_OUT:
            return process.describe()
        return _STOP_CAUSES.get(reason, "")
