"""Job workflows against the test database, with the queue recorded instead of Redis."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support import submit_ml_job

from hpdash.core.spec import SpecError
from hpdash.core.states import JobState, StopReason, TrialState
from hpdash.models import Job, Trial
from hpdash.ops import queue
from hpdash.services.jobs import AlreadyExists, FailedPrecondition, job_cancel
from hpdash.services.scheduling import job_advance, trials_requeue_stale
from hpdash.services.trials import TrialOutcome, trial_finish, trial_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: calls.append(("advance", pk)))
    monkeypatch.setattr(queue, "enqueue_trial", lambda pk, a: calls.append(("trial", pk, a)))
    monkeypatch.setattr(queue, "dequeue_trials", lambda pairs: calls.append(("dequeue", pairs)))
    return calls


def body(job_id="j1", **hyper):
    hp = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 5,
          "maxParallelTrials": 2,
          "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}
    hp.update(hyper)
    return {"jobId": job_id, "trainingInput": {"pythonModule": "trainer.task",
                                               "hyperparameters": hp}}


def finish(trial: Trial, value: float | None = 0.5, state=TrialState.SUCCEEDED):
    Trial.objects.filter(pk=trial.pk).update(state=TrialState.RUNNING)
    if value is not None:
        Trial.objects.filter(pk=trial.pk).update(final_value=value, final_step=1)
    trial_finish(trial=trial, outcome=TrialOutcome(
        state, failure_reason="" if state == TrialState.SUCCEEDED else "exit code 1"))
    job_advance(trial.job_id)


def test_creating_a_job_stores_it_queued_and_asks_a_worker_to_advance_it(
        enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = submit_ml_job(project="p", data=body())
    assert job.state == JobState.QUEUED and job.max_trials == 5
    assert enqueued == [("advance", job.pk)]


def test_an_invalid_job_is_refused_and_nothing_is_stored(enqueued):
    with pytest.raises(SpecError):
        submit_ml_job(project="p", data=body(maxTrials=0))
    assert Job.objects.count() == 0


def test_a_duplicate_job_id_in_the_same_project_is_refused_but_other_projects_are_free(
        enqueued):
    submit_ml_job(project="p", data=body())
    with pytest.raises(AlreadyExists):
        submit_ml_job(project="p", data=body())
    submit_ml_job(project="q", data=body())


def test_a_missing_package_is_refused_naming_the_field(enqueued):
    b = body()
    b["trainingInput"]["packageUris"] = ["/nonexistent/trainer.tar.gz"]
    with pytest.raises(SpecError) as err:
        submit_ml_job(project="p", data=b)
    assert err.value.violations[0].field == "trainingInput.packageUris[0]"


def test_advance_starts_max_parallel_trials_then_one_per_finished_trial_up_to_max_trials(
        enqueued, django_capture_on_commit_callbacks):
    job = submit_ml_job(project="p", data=body())
    with django_capture_on_commit_callbacks(execute=True):
        job_advance(job.pk)
        job_advance(job.pk)  # a racing second call adds nothing
    assert list(job.trials.values_list("trial_id", flat=True)) == [1, 2]
    for _ in range(10):
        active = job.trials.filter(state=TrialState.QUEUED).first()
        if active is None:
            break
        with django_capture_on_commit_callbacks(execute=True):
            finish(active, value=active.trial_id / 10)
    job.refresh_from_db()
    assert job.trials.count() == 5
    assert job.state == JobState.SUCCEEDED


def test_grid_search_ends_the_job_when_the_grid_is_exhausted(enqueued):
    b = body(algorithm="GRID_SEARCH", maxTrials=10, maxParallelTrials=10, params=[
        {"parameterName": "n", "type": "INTEGER", "minValue": 1, "maxValue": 3}])
    job = submit_ml_job(project="p", data=b)
    job_advance(job.pk)
    assert job.trials.count() == 3
    for t in job.trials.all():
        finish(t)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.trials.count() == 3


def test_the_first_trial_failing_fails_the_job_and_drops_queued_trials(
        enqueued, django_capture_on_commit_callbacks):
    job = submit_ml_job(project="p", data=body())
    job_advance(job.pk)
    first, second = job.trials.all()
    with django_capture_on_commit_callbacks(execute=True):
        finish(first, value=None, state=TrialState.FAILED)
    job.refresh_from_db()
    second.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error_message == ("Failing job: the first trial failed; "
                                 "last failure: trial 1: exit code 1")
    assert second.state == TrialState.CANCELLED
    assert ("dequeue", [(second.pk, 0)]) in enqueued


def test_cancel_drops_queued_trials_and_a_job_with_nothing_running_is_cancelled_at_once(
        enqueued):
    job = submit_ml_job(project="p", data=body())
    job_advance(job.pk)
    job_cancel(job=job, by="alice")
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    assert "cancelled by alice" in job.error_message
    assert set(job.trials.values_list("state", flat=True)) == {TrialState.CANCELLED}
    with pytest.raises(FailedPrecondition):
        job_cancel(job=job)


def test_cancel_waits_for_running_trials_to_stop(enqueued):
    job = submit_ml_job(project="p", data=body())
    job_advance(job.pk)
    running = trial_start(trial_pk=job.trials.all()[0].pk, attempt=0, worker="w1")
    assert running is not None
    job_cancel(job=job, by="alice")
    job.refresh_from_db()
    assert job.state == JobState.CANCELLING
    trial_finish(trial=running, outcome=TrialOutcome(TrialState.CANCELLED,
                                                    StopReason.CANCELLED, "job cancelled"))
    job_advance(running.job_id)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED


def test_a_trial_of_a_cancelled_job_never_starts(enqueued):
    job = submit_ml_job(project="p", data=body())
    job_advance(job.pk)
    trial = job.trials.all()[0]
    Job.objects.filter(pk=job.pk).update(state=JobState.CANCELLING)
    assert trial_start(trial_pk=trial.pk, attempt=0, worker="w1") is None
    trial.refresh_from_db()
    assert trial.state == TrialState.CANCELLED


def test_a_trial_whose_worker_died_is_requeued_as_a_new_attempt(
        enqueued, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    job = submit_ml_job(project="p", data=body())
    job_advance(job.pk)
    trial = trial_start(trial_pk=job.trials.all()[0].pk, attempt=0, worker="w1")
    assert trial is not None
    Trial.objects.filter(pk=trial.pk).update(
        heartbeat_time=timezone.now() - dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        stale = trials_requeue_stale(60)
    assert [t.pk for t in stale] == [trial.pk]
    trial.refresh_from_db()
    assert trial.state == TrialState.QUEUED and trial.attempt == 1
    assert ("trial", trial.pk, 1) in enqueued
    # The old attempt may not run.
    assert trial_start(trial_pk=trial.pk, attempt=0, worker="w2") is None


def test_resuming_reuses_the_previous_jobs_params_goal_and_tag_and_learns_from_its_trials(
        enqueued):
    prev = submit_ml_job(project="p", data=body("first", goal="MINIMIZE", maxTrials=2))
    job_advance(prev.pk)
    for t in prev.trials.all():
        finish(t, value=0.1)
    prev.refresh_from_db()
    assert prev.state == JobState.SUCCEEDED
    resumed = submit_ml_job(project="p", data={"jobId": "second", "trainingInput": {
        "pythonModule": "trainer.task",
        "hyperparameters": {"resumePreviousJobId": "first", "maxTrials": 3}}})
    assert resumed.previous_job == prev
    assert resumed.goal == "MINIMIZE" and resumed.metric_tag == "acc"
    assert [p.name for p in resumed.spec.params] == ["x"]
    from hpdash.selectors.trials import job_history

    assert len([o for o in job_history(resumed) if o.state == "SUCCEEDED"]) == 2


def test_package_and_job_dir_paths_must_lie_inside_the_allowed_directories(enqueued, settings,
                                                                         tmp_path):
    allowed = tmp_path / "allowed"
    (allowed / "trainer").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (allowed / "link").symlink_to(tmp_path / "secret")
    settings.HPDASH = replace(settings.HPDASH, allowed_paths=(str(allowed),))
    ok = body("ok")
    ok["trainingInput"].update(packageUris=[str(allowed / "trainer")], jobDir=str(allowed / "o"))
    submit_ml_job(project="p", data=ok)
    for field, value in (("packageUris", [str(tmp_path / "secret")]),
                         ("packageUris", [f"file://{allowed}/../secret"]),
                         ("packageUris", [str(allowed / "link")]),
                         ("jobDir", "/etc/out")):
        bad = body("bad")
        bad["trainingInput"][field] = value
        with pytest.raises(SpecError) as err:
            submit_ml_job(project="p", data=bad)
        assert err.value.violations[0].field.startswith(f"trainingInput.{field}")
    assert not Job.objects.filter(job_id="bad").exists()


def test_file_uris_with_localhost_and_percent_escapes_are_found_and_allowed(enqueued, tmp_path,
                                                                           settings):
    from urllib.parse import quote

    package = tmp_path / "my pkg"
    package.mkdir()
    settings.HPDASH = replace(settings.HPDASH, allowed_paths=(str(tmp_path.resolve()),))
    b = body()
    b["trainingInput"]["packageUris"] = ["file://" + quote(str(package))]
    b["trainingInput"]["jobDir"] = f"file://localhost{tmp_path}/out"
    job = submit_ml_job(project="p", data=b)
    assert job.definition.package and job.definition.package.package_paths == (str(package),)
    assert job.definition.job_dir_path == f"{tmp_path}/out"


def test_a_file_uri_outside_the_allowed_paths_is_refused_after_decoding(enqueued, tmp_path,
                                                                       settings):
    settings.HPDASH = replace(settings.HPDASH, allowed_paths=(str(tmp_path.resolve()),))
    b = body()
    b["trainingInput"]["jobDir"] = "file://localhost/etc/out"
    with pytest.raises(SpecError) as exc:
        submit_ml_job(project="p", data=b)
    assert exc.value.violations[0].field == "trainingInput.jobDir"
    assert "outside the directories this server allows" in exc.value.violations[0].description
