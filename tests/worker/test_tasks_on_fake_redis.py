"""The middle tier: the RQ tasks -> the trial runner -> a real trainer subprocess, run by a burst
``SimpleWorker`` on fakeredis (rq's own recommendation for testing), against the test database.
No Redis server and no worker processes: what is real is the task code, the runner, the
trainer and the database writes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from rq import Queue, SimpleWorker
from support import submit_ml_job

from hpdash.core.layout import DataLayout
from hpdash.core.states import JobState, StopReason, TrialState
from hpdash.models import Job, Measurement
from hpdash.ops import queue

TRAINERS = str(Path(__file__).resolve().parents[1] / "e2e" / "trainers")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake_queue(monkeypatch):
    """hpdash's queue, on a fake Redis; ``run()`` works it off like one worker would."""
    connection = fakeredis.FakeStrictRedis()
    q = Queue(queue.QUEUE, connection=connection)
    monkeypatch.setattr(queue, "_queue", lambda: q)

    def run() -> None:
        SimpleWorker([q], connection=connection).work(burst=True)

    return run


def _job(job_id: str, module: str, params: list[dict[str, Any]], *, max_trials: int = 2,
         early: bool = False, args: tuple[str, ...] = ()) -> Job:
    return submit_ml_job(project="tier", data={"jobId": job_id, "trainingInput": {
        "pythonModule": module, "packageUris": [TRAINERS], "args": list(args),
        "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": max_trials,
            "maxParallelTrials": 1, "enableTrialEarlyStopping": early,
            "algorithm": "RANDOM_SEARCH", "params": params}}})


XY = [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1},
      {"parameterName": "y", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]


def test_a_job_runs_its_trials_through_the_tasks_and_succeeds(fake_queue, settings):
    job = _job("quad", "e2etrainer.quadratic", XY)
    fake_queue()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    trials = list(job.trials.order_by("trial_id"))
    assert [t.state for t in trials] == [TrialState.SUCCEEDED] * 2
    for t in trials:
        assert t.final_step == 30  # the trainer's last report
        assert t.final_value == pytest.approx(-((t.params["x"] - 0.3) ** 2)
                                              - (t.params["y"] - 0.7) ** 2)
        assert Measurement.objects.filter(trial=t).count() == 4
        log = DataLayout(settings.DATA_DIR).trial_log("tier", "quad", t.trial_id).read_text()
        assert f"trial {t.trial_id} SUCCEEDED" in log


def test_a_trainer_that_exits_non_zero_fails_with_its_exit_code(fake_queue):
    job = _job("broken", "e2etrainer.fail", XY, max_trials=1)
    fake_queue()
    job.refresh_from_db()
    trial = job.trials.get()
    assert trial.state == TrialState.FAILED and "exit code" in trial.failure_reason
    assert job.state == JobState.FAILED


def test_the_stop_decision_is_data_so_rewording_its_message_keeps_the_trial_a_success(
        fake_queue, monkeypatch, settings):
    """An early-stopped trial once became FAILED if the rule's message was reworded."""
    from hpdash.core import stopping

    class Hopeless:
        name = "hopeless"

        def decide(self, ctx):
            if len(ctx.points) < 3:
                return None
            return stopping.StopDecision(ctx.points[-1][0], self.name, "Halted: it is hopeless")

    monkeypatch.setitem(stopping.RULES, "hopeless", Hopeless())
    settings.HPDASH = replace(settings.HPDASH, early_stopping_rule="hopeless")
    job = _job("curves", "e2etrainer.curve", [
        {"parameterName": "quality", "type": "DOUBLE", "minValue": 0.1, "maxValue": 1}],
        max_trials=1, early=True, args=("--steps=40", "--step-sleep=0.05"))
    fake_queue()
    trial = Job.objects.get(pk=job.pk).trials.get()
    assert trial.state == TrialState.SUCCEEDED
    assert trial.is_stopped_early and trial.stop_reason == StopReason.STOPPED_EARLY
    assert trial.final_step is not None and 3 <= trial.final_step < 40


def test_a_superseded_attempt_stops_its_trainer_and_leaves_the_rerun_alone(fake_queue, settings):
    """A worker that stalled past the heartbeat timeout has its trial re-queued; its attempt's
    later writes must not mix into the re-run."""
    import threading
    import time

    from hpdash.models import Trial
    from hpdash.services.trials import trial_requeue

    job = _job("stale", "e2etrainer.curve", [
        {"parameterName": "quality", "type": "DOUBLE", "minValue": 0.1, "maxValue": 1}],
        max_trials=1, args=("--steps=30", "--step-sleep=0.1"))

    def requeue_while_it_runs() -> None:  # what the reconciler does to a silent worker
        from django.db import OperationalError

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:  # the test database is an in-memory SQLite: a busy table raises at once
                trial = Trial.objects.filter(job=job, state=TrialState.RUNNING, attempt=0,
                                             final_step__gte=5).first()
                if trial is not None and trial_requeue(trial=trial):
                    return
            except OperationalError:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=requeue_while_it_runs)
    thread.start()
    fake_queue()  # attempt 0 is stopped, then attempt 1 runs to the end
    thread.join()
    trial = Job.objects.get(pk=job.pk).trials.get()
    assert trial.state == TrialState.SUCCEEDED and trial.attempt == 1
    steps = list(trial.measurements.order_by("id").values_list("step", flat=True))
    assert steps == list(range(1, 31))  # the re-run's curve alone, once
    log = DataLayout(settings.DATA_DIR).trial_log("tier", "stale", 1).read_text()
    assert "attempt 1 stopped: superseded; its results are not recorded" in log
    assert "trial 1 attempt 2 on " in log, "the log counts attempts as the trial page does"


def test_a_busy_database_while_the_trainer_runs_loses_no_measurement(fake_queue, monkeypatch):
    """A locked SQLite file (or a dropped connection) during a few polls once failed the trial
    with "internal error in hpdash" and lost the measurements read in those polls."""
    from django.db import OperationalError

    from hpdash.worker import trial_runner

    refusals = {"add": 3, "heartbeat": 3, "finish": 2}

    def flaky(name, real):
        def call(**kwargs):
            if refusals[name] > 0:
                refusals[name] -= 1
                raise OperationalError("database is locked")
            return real(**kwargs)
        return call

    for name, attr in (("add", "trial_add_measurements"), ("heartbeat", "trial_heartbeat"),
                       ("finish", "trial_finish")):
        monkeypatch.setattr(trial_runner, attr, flaky(name, getattr(trial_runner, attr)))
    monkeypatch.setattr(trial_runner, "STATE_CHECK_EVERY", 0.05)
    job = _job("busy", "e2etrainer.curve", [
        {"parameterName": "quality", "type": "DOUBLE", "minValue": 0.1, "maxValue": 1}],
        max_trials=1, args=("--steps=40", "--step-sleep=0.05"))
    fake_queue()
    trial = Job.objects.get(pk=job.pk).trials.get()
    assert refusals == {"add": 0, "heartbeat": 0, "finish": 0}
    assert trial.state == TrialState.SUCCEEDED, trial.failure_reason
    steps = list(trial.measurements.order_by("step").values_list("step", flat=True))
    assert steps == list(range(1, 41))


@pytest.mark.parametrize("tag,run", [("epoch_accuracy", "validation"),
                                     ("train/epoch_accuracy", "train")])
def test_keras_runs_are_kept_apart_and_the_log_says_once_which_run_was_used(
        fake_queue, settings, tmp_path, tag, run):
    from keras_runs import keras_expected

    job_id = "keras_" + run
    job = submit_ml_job(project="tier", data={"jobId": job_id, "trainingInput": {
        "pythonModule": "e2etrainer.keras_replay", "packageUris": [TRAINERS],
        "args": ["--epoch-sleep=0.05"], "jobDir": str(tmp_path / "out"),
        "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": tag, "maxTrials": 1,
            "algorithm": "RANDOM_SEARCH", "params": XY}}})
    fake_queue()
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    (trial,) = job.trials.all()
    stored = list(Measurement.objects.filter(trial=trial).values_list("step", "value", "source"))
    assert stored == [(s, v, f"tfevents:{run}") for s, v in keras_expected(run)]
    assert (trial.final_step, trial.final_value) == keras_expected(run)[-1]
    log = DataLayout(settings.DATA_DIR).trial_log("tier", job_id, 1).read_text()
    notes = [line for line in log.splitlines() if "TensorBoard run" in line]
    assert len(notes) == 1, log
    assert notes[0] == {
        "validation": '[hpdash] metric "epoch_accuracy": using TensorBoard run "validation", '
                      'the evaluation run; ignored run "train"',
        # validation/ has no "train/epoch_accuracy": it is no candidate, so not "ignored"
        "train": '[hpdash] metric "train/epoch_accuracy": using TensorBoard run "train" '
                 '(tag "epoch_accuracy"), the run the tag names'}[run]


def test_a_tag_naming_a_run_that_never_appears_fails_the_trial_and_names_the_runs_seen(
        fake_queue, tmp_path):
    job = submit_ml_job(project="tier", data={"jobId": "keras_nope", "trainingInput": {
        "pythonModule": "e2etrainer.keras_replay", "packageUris": [TRAINERS],
        "args": ["--epoch-sleep=0"], "jobDir": str(tmp_path / "out"),
        "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "eval/epoch_accuracy",
            "maxTrials": 1, "algorithm": "RANDOM_SEARCH", "params": XY}}})
    fake_queue()
    (trial,) = job.trials.all()
    assert trial.state == TrialState.FAILED
    assert trial.failure_reason == ('no metric "eval/epoch_accuracy" reported (TensorBoard runs '
                                    'under the job dir: "train", "validation")')


def test_a_trial_reporting_another_tag_fails_naming_what_it_reported_and_the_closest(
        fake_queue):
    job = submit_ml_job(project="tier", data={"jobId": "wrong_tag", "trainingInput": {
        "pythonModule": "e2etrainer.quadratic", "packageUris": [TRAINERS],
        "hyperparameters": {"goal": "MAXIMIZE", "hyperparameterMetricTag": "scores",
                            "maxTrials": 1, "algorithm": "RANDOM_SEARCH", "params": XY}}})
    fake_queue()
    (trial,) = job.trials.all()
    assert trial.state == TrialState.FAILED
    assert trial.failure_reason == (
        'no metric "scores" reported (the trainer reported "score" through hypertune; did you '
        'mean the metric tag "score"?)')


def test_a_worker_that_cannot_record_heartbeats_stops_its_trainer_before_the_lease_ends(
        fake_queue, monkeypatch, settings):
    """Fencing: with the database unreachable for the running attempt, the trainer is stopped
    before the reconciler could re-queue the trial, and the attempt records nothing."""
    import time

    from django.db import OperationalError

    from hpdash.worker import trial_runner

    settings.HPDASH = replace(settings.HPDASH, heartbeat_timeout=6.0, trial_stop_grace=0.5)
    claimed: dict[int, float] = {}

    def unreachable_for_attempt_0(real):
        def call(**kwargs):
            if kwargs["trial"].attempt == 0:
                raise OperationalError("could not connect to server")
            return real(**kwargs)
        return call

    def start(**kwargs):
        claimed[kwargs["attempt"]] = time.monotonic()
        return real_start(**kwargs)

    real_start = getattr(trial_runner, "trial_start")  # noqa: B009  # imported there
    monkeypatch.setattr(trial_runner, "trial_start", start)
    for attr in ("trial_heartbeat", "trial_add_measurements"):
        monkeypatch.setattr(trial_runner, attr,
                            unreachable_for_attempt_0(getattr(trial_runner, attr)))
    job = _job("fenced", "e2etrainer.curve", [
        {"parameterName": "quality", "type": "DOUBLE", "minValue": 0.1, "maxValue": 1}],
        max_trials=1, args=("--steps=20", "--step-sleep=0.5"))
    fake_queue()
    trial = Job.objects.get(pk=job.pk).trials.get()
    assert trial.state == TrialState.SUCCEEDED and trial.attempt == 1
    # Attempt 0's trainer (10 s of work) was stopped and its trial re-run well within the
    # heartbeat timeout: the lease had not expired, so no stale trainer could outlive it.
    assert claimed[1] - claimed[0] < 6.0
    assert set(trial.measurements.values_list("attempt", flat=True)) == {1}
    log = DataLayout(settings.DATA_DIR).trial_log("tier", "fenced", 1).read_text()
    assert "attempt 1 stopped: no heartbeat could be recorded for 2 s" in log
