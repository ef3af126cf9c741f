"""The worker side of a trial: claim it, run the trainer through :mod:`hpdash.core.runner`, stream
its measurements into the database, stop it when its job is cancelled or fails, and record the
outcome with a cause users can act on."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import time
from pathlib import Path

from django.conf import settings

from hpdash.core.runner import (
    PackageError,
    build_argv,
    build_env,
    run_process,
    stage_packages,
)
from hpdash.core.runner.sources import MetricSources
from hpdash.core.stopping import CompletedCurves, should_stop
from hpdash.models import Job, Measurement, State, Trial
from hpdash.services.scheduling import job_advance
from hpdash.services.trials import (
    trial_add_measurements,
    trial_finish,
    trial_heartbeat,
    trial_requeue,
    trial_start,
)

log = logging.getLogger(__name__)

# How often (seconds) a running trial re-reads its job's state and writes a heartbeat.
_STATE_CHECK_EVERY = 1.0


def job_dir(job: Job) -> Path:
    return Path(settings.DATA_DIR) / "jobs" / job.project / job.job_id


def trial_dir(trial: Trial) -> Path:
    return job_dir(trial.job) / "trials" / str(trial.trial_id)


def trial_log_path(trial: Trial) -> Path:
    return trial_dir(trial) / "trainer.log"


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ml v1's scheduling.maxRunningTime default; hpdash applies it to each trial.
DEFAULT_MAX_RUNNING_SECONDS = 7 * 24 * 3600.0


def _max_running_seconds(job: Job) -> float:
    raw = (job.training_input.get("scheduling") or {}).get("maxRunningTime")
    try:
        return float(str(raw).rstrip("s")) if raw else DEFAULT_MAX_RUNNING_SECONDS
    except ValueError:
        return DEFAULT_MAX_RUNNING_SECONDS


class _EarlyStopper:
    """Applies the median stopping rule to a running trial as its measurements arrive,
    against its job's completed trials (re-read at most once a second, incrementally)."""

    def __init__(self, trial: Trial) -> None:
        self.trial = trial
        self.completed = CompletedCurves({})
        self.own: list[tuple[int, float]] = []
        self.refreshed = False

    def _refresh(self) -> None:
        rows = (Measurement.objects
                .filter(trial__job_id=self.trial.job_id, trial__state=State.SUCCEEDED)
                .exclude(trial_id__in=self.completed.trial_ids())
                .values_list("trial_id", "step", "value"))
        curves: dict[int, list[tuple[int, float]]] = {}
        for trial_pk, step, value in rows:
            curves.setdefault(trial_pk, []).append((step, value))
        for trial_pk, points in curves.items():
            self.completed.add(trial_pk, points)
        self.refreshed = True

    def check(self, new: list[tuple[int, float]], refresh: bool) -> str | None:
        self.own += new
        if refresh or not self.refreshed:
            self._refresh()
        return should_stop(self.own, self.completed, maximize=self.trial.job.maximize)


def trial_execute(trial_pk: int, attempt: int) -> None:
    trial = trial_start(trial_pk, attempt, _worker_name())
    if trial is None:
        return
    stopped_early = False
    try:
        state, reason, stopped_early = _run(trial)
    except (KeyboardInterrupt, SystemExit):
        # The worker is being shut down: the trial will run again on a live worker.
        log.warning("%s interrupted by worker shutdown; re-queued", trial)
        trial_requeue(trial)
        raise
    except Exception as exc:  # noqa: BLE001 - never leave a trial RUNNING on a bug
        log.exception("%s: internal error", trial)
        state, reason = State.FAILED, f"internal error in hpdash: {exc}"
    trial_finish(trial, state, reason, stopped_early=stopped_early)
    job_advance(trial.job_id)


def _run(trial: Trial) -> tuple[str, str, bool]:
    """Run the trial; returns (state, failure cause, stopped early)."""
    job = trial.job
    spec = job.spec
    cfg = settings.HPDASH
    tdir = trial_dir(trial)
    tdir.mkdir(parents=True, exist_ok=True)
    log_path = trial_log_path(trial)
    metric_file = tdir / "hypertune" / "output.metrics"
    shutil.rmtree(metric_file.parent, ignore_errors=True)
    metric_file.parent.mkdir(parents=True)
    with open(log_path, "a") as f:
        f.write(f"[hpdash] trial {trial.trial_id} attempt {trial.attempt} on {_worker_name()}\n")

    def fail_early(reason: str) -> tuple[str, str, bool]:
        with open(log_path, "a") as f:
            f.write(f"[hpdash] FAILED: {reason}\n")
        return State.FAILED, reason, False

    ti = job.training_input
    try:
        pythonpath = stage_packages(list(ti.get("packageUris") or []),
                                    str(job_dir(job) / "packages"))
    except PackageError as exc:
        return fail_early(str(exc))
    argv = build_argv(sys.executable, ti["pythonModule"], list(ti.get("args") or []),
                      ti.get("jobDir"), trial.trial_id, spec, trial.params)
    env = build_env(os.environ, job_id=job.job_id, trial_id=trial.trial_id,
                    metric_tag=job.metric_tag, metric_file=str(metric_file),
                    training_input=ti, pythonpath=pythonpath)
    if ti.get("jobDir"):
        os.makedirs(argv[argv.index("--job-dir") + 1], exist_ok=True)
    with open(log_path, "a") as f:
        f.write(f"[hpdash] argv: {argv[1:]}\n")

    events_root = (argv[argv.index("--job-dir") + 1] if ti.get("jobDir") else None)
    # Event files from an earlier attempt of this trial are not this attempt's results.
    not_before = trial.start_time.timestamp() - 1 if trial.start_time else None
    follower = MetricSources(str(metric_file), job.metric_tag, events_root, not_before)
    max_measurements = int(cfg["TRIAL_MAX_MEASUREMENTS"])
    stored = 0
    last_check = time.monotonic()
    too_many = (f"Too many hyperparameter tuning metrics were written by "
                f"Hyperparameter Tuning Trial #{trial.trial_id}.")

    def collect(final: bool = False) -> bool:
        """Store new measurements; False when the cap is exceeded."""
        nonlocal stored
        source, new = follower.poll(final=final)
        if new:
            room = max_measurements - stored
            trial_add_measurements(trial, new[:max(room, 0)], source=source)
            stored += min(len(new), max(room, 0))
            if len(new) > room:
                return False
            arrived.extend((m.step, m.value) for m in new[:max(room, 0)])
        return True

    arrived: list[tuple[int, float]] = []
    stopper = _EarlyStopper(trial) if spec.enable_early_stopping else None

    # The trainer's pid is recorded at the first poll, a poll interval after it started: one
    # that is done sooner never needs it recorded (it is cleared when the trial finishes),
    # which spares a quick trial a database write.
    started: list[int] = []

    def poll() -> str | None:
        nonlocal last_check
        if started:
            trial_heartbeat(trial, started.pop())
        if not collect():
            return too_many
        now = time.monotonic()
        due = now - last_check >= _STATE_CHECK_EVERY
        if stopper is not None and arrived:
            reason = stopper.check(arrived[:], refresh=due)
            arrived.clear()
            if reason:
                return reason
        if due:
            last_check = now
            trial_heartbeat(trial)
            job_state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).first()
            if job_state in (State.CANCELLING, State.CANCELLED):
                return "cancelled"
            if job_state == State.FAILED:
                return "stopped: job failed"
        return None

    outcome = run_process(
        argv, env, cwd=str(tdir), log_path=str(log_path), poll=poll,
        poll_interval=cfg["TRIAL_POLL_INTERVAL"], timeout=_max_running_seconds(job),
        grace=cfg["TRIAL_STOP_GRACE"], log_cap_bytes=int(cfg["TRIAL_LOG_MAX_BYTES"]),
        on_start=started.append,
    )
    cap_ok = collect(final=True)
    stopped_early = bool(outcome.stop_reason and outcome.stop_reason.startswith("stopped early"))
    if outcome.stop_reason in ("cancelled", "stopped: job failed"):
        state, reason = State.CANCELLED, outcome.stop_reason
    elif stopped_early and cap_ok:
        # A stopped trial keeps its last measurement and counts as a success.
        state, reason = State.SUCCEEDED, ""
    elif outcome.stop_reason == too_many or not cap_ok:
        state, reason = State.FAILED, too_many
    elif outcome.describe():
        state, reason = State.FAILED, outcome.describe()
    elif stored == 0:
        state, reason = State.FAILED, (
            follower.rejected[-1] if follower.rejected
            else f'no metric "{job.metric_tag}" reported')
    else:
        state, reason = State.SUCCEEDED, ""
    note = reason or (outcome.stop_reason if stopped_early else "")
    with open(log_path, "a") as f:
        f.write(f"[hpdash] trial {trial.trial_id} {state}"
                f"{': ' + note if note else ''} after {outcome.duration:.2f} s\n")
    return state, reason, stopped_early
