"""Guarded trial writes: each names its attempt and applies only while that attempt runs."""

from __future__ import annotations

import pytest
from support import submit_ml_job

from hpdash.core.runner.metrics import Measurement as Reported
from hpdash.core.states import JobState, StopReason, TrialState
from hpdash.models import Job, Measurement, Trial
from hpdash.ops import queue
from hpdash.selectors.trials import trial_refusal
from hpdash.services import trials
from hpdash.services.scheduling import job_advance

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)
    monkeypatch.setattr(queue, "enqueue_trial", lambda pk, a: None)
    monkeypatch.setattr(queue, "dequeue_trials", lambda pairs: None)


def _running(parallel: int = 1) -> list[Trial]:
    job = submit_ml_job(project="p", data={"jobId": "j", "trainingInput": {
        "pythonModule": "m", "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 4,
            "maxParallelTrials": parallel, "algorithm": "RANDOM_SEARCH",
            "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}],
        }}})
    job_advance(job.pk)
    started = [trials.trial_start(trial_pk=t.pk, attempt=0, worker="w")
               for t in job.trials.order_by("trial_id")]
    assert all(started)
    return [t for t in started if t is not None]


def test_a_stale_attempt_writes_nothing_into_its_rerun():
    (old,) = _running()
    assert trials.trial_requeue(trial=Trial.objects.get(pk=old.pk))  # the reconciler's doing
    trials.trial_start(trial_pk=old.pk, attempt=1, worker="w2")
    # The first worker wakes up and carries on with attempt 0:
    assert not trials.trial_add_measurements(trial=old, measurements=[Reported(5, 0.9, 0.0)],
                                      source="hypertune")
    assert not trials.trial_heartbeat(trial=old, pid=123)
    assert not trials.trial_finish(trial=old, outcome=trials.TrialOutcome(TrialState.SUCCEEDED))
    rerun = Trial.objects.get(pk=old.pk)
    assert rerun.state == TrialState.RUNNING and rerun.attempt == 1
    assert rerun.final_value is None and rerun.pid is None
    assert not Measurement.objects.filter(trial=rerun).exists()
    assert trial_refusal(trial_pk=old.pk, attempt=0) is StopReason.SUPERSEDED


def _curve(trial: Trial) -> list[tuple[int, float, int]]:
    return [(m.step, m.value, m.attempt) for m in
            Measurement.objects.filter(trial=trial).order_by("step")]


def test_a_rerun_that_resumes_from_its_checkpoint_keeps_the_curves_beginning_once():
    (trial,) = _running()
    first = [Reported(s, s / 10, 0.0) for s in range(1, 11)]
    assert trials.trial_add_measurements(trial=trial, measurements=first, source="hypertune")
    assert trials.trial_requeue(trial=Trial.objects.get(pk=trial.pk))  # Ctrl-C at step 10
    rerun = trials.trial_start(trial_pk=trial.pk, attempt=1, worker="w2")
    assert rerun is not None
    # The checkpoint was taken at step 8: the re-run reports 9 and 10 again, then goes on.
    resumed = [Reported(s, s / 10 + 0.01, 0.0) for s in range(9, 13)]
    assert trials.trial_add_measurements(trial=rerun, measurements=resumed, source="hypertune")
    curve = _curve(rerun)
    assert [step for step, _, _ in curve] == list(range(1, 13))
    assert [attempt for _, _, attempt in curve] == [0] * 8 + [1] * 4
    assert curve[8][1] == pytest.approx(0.91)  # step 9 is the re-run's value


def test_a_rerun_that_starts_over_replaces_the_whole_curve():
    (trial,) = _running()
    trials.trial_add_measurements(trial=trial, measurements=[Reported(s, 0.1, 0.0)
                                                             for s in (1, 2, 3)],
                                  source="hypertune")
    trials.trial_requeue(trial=Trial.objects.get(pk=trial.pk))
    rerun = trials.trial_start(trial_pk=trial.pk, attempt=1, worker="w2")
    assert rerun is not None
    trials.trial_add_measurements(trial=rerun, measurements=[Reported(1, 0.2, 0.0)],
                                  source="hypertune")
    assert _curve(rerun) == [(1, 0.2, 1)]


def test_the_running_attempt_writes_apply():
    (trial,) = _running()
    measurements = [Reported(1, 0.5, 0.0), Reported(2, 0.7, 0.0)]
    assert trials.trial_add_measurements(trial=trial, measurements=measurements, source="hypertune")
    assert trials.trial_heartbeat(trial=trial, pid=42)
    assert trials.trial_finish(trial=trial, outcome=trials.TrialOutcome(TrialState.SUCCEEDED))
    trial.refresh_from_db()
    assert trial.state == TrialState.SUCCEEDED and trial.final_value == 0.7
    assert trial.measurements.count() == 2


def test_a_measurement_source_names_its_tensorboard_run_cut_to_what_the_column_holds():
    (trial,) = _running()
    deep = "tfevents:" + "/".join(["fold"] * 60) + "/validation"
    for source in ("tfevents:validation", deep):
        assert trials.trial_add_measurements(trial=trial, measurements=[Reported(1, 0.5, 0.0)],
                                             source=source)
    assert list(trial.measurements.values_list("source", flat=True)) == [
        "tfevents:validation", deep[:255]]


def test_a_job_is_never_final_while_one_of_its_trials_runs():
    first, second = _running(parallel=2)
    trials.trial_finish(trial=first, outcome=trials.TrialOutcome(TrialState.FAILED,
                                                   failure_reason="exit code 1"))
    job_advance(first.job_id)  # the first trial failing fails the job
    job = Job.objects.get(pk=first.job_id)
    assert job.state == JobState.FAILED
    assert not job.trials.filter(state=TrialState.RUNNING).exists()
    second.refresh_from_db()
    assert second.state == TrialState.CANCELLED and second.stop_reason == StopReason.JOB_FAILED
    # The second trial's worker learns why at its next write, and stops its trainer.
    assert not trials.trial_heartbeat(trial=second)
    assert trial_refusal(trial_pk=second.pk, attempt=0) is StopReason.JOB_FAILED


def test_with_best_measurement_selection_the_final_value_is_the_best_so_far():
    """Vertex's BEST_MEASUREMENT (the SDK's default): the best value in the goal's direction
    over every batch, not the last one; ml v1 jobs keep the last (test above)."""
    import dataclasses

    from hpdash.core.spec.stored import definition_to_json

    (trial,) = _running()
    job = trial.job
    definition = job.definition
    best = dataclasses.replace(definition, hyperparameters=dataclasses.replace(
        definition.hyperparameters, measurement_selection="BEST"))
    Job.objects.filter(pk=job.pk).update(definition_json=definition_to_json(best))
    trial = Trial.objects.select_related("job").get(pk=trial.pk)
    for batch in ([Reported(1, 0.5, 0.0), Reported(2, 0.8, 0.0), Reported(3, 0.6, 0.0)],
                  [Reported(4, 0.7, 0.0)]):
        assert trials.trial_add_measurements(trial=trial, measurements=batch,
                                             source="hypertune")
    trial.refresh_from_db()
    assert (trial.final_value, trial.final_step) == (0.8, 2)
