"""The job page's trials.json and trials.csv downloads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from support import job_row

from hpdash.core.states import TrialState
from hpdash.models import Job, Measurement, Project, Trial

pytestmark = pytest.mark.django_db

HP = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 4, "params": [
    {"parameterName": "lr", "type": "DOUBLE", "minValue": 0.001, "maxValue": 1}]}
URL = "/projects/p/jobs/j/trials."


@pytest.fixture
def job(django_user_model) -> Job:
    alice = django_user_model.objects.create_user("alice")
    Project.objects.create(name="p").members.add(alice)
    job = job_row("j", {**HP, "algorithm": "RANDOM_SEARCH"})
    now = timezone.now()
    t1 = Trial.objects.create(job=job, trial_id=1, state=TrialState.SUCCEEDED,
                              params={"lr": 0.1}, final_value=0.93, final_step=16)
    Trial.objects.create(job=job, trial_id=2, state=TrialState.FAILED, params={"lr": 0.5},
                         failure_reason="exit code 1")
    # Reported out of step order (two metric sources, a resumed epoch counter).
    for step, value in ((8, 0.9), (2, 0.5), (16, 0.93)):
        Measurement.objects.create(trial=t1, step=step, value=value,
                                   reported_at=now + dt.timedelta(seconds=step))
    return job


def test_trials_json_gives_every_measurement_of_each_trial_in_step_order(client, job):
    client.force_login(Project.objects.get(name="p").members.get())
    body = client.get(URL + "json").json()
    by_id = {t["trialId"]: t for t in body["trials"]}
    assert by_id["1"]["allMetrics"] == [
        {"trainingStep": "2", "objectiveValue": 0.5},
        {"trainingStep": "8", "objectiveValue": 0.9},
        {"trainingStep": "16", "objectiveValue": 0.93}]
    assert by_id["1"]["finalMetric"] == {"trainingStep": "16", "objectiveValue": 0.93}
    assert by_id["2"]["allMetrics"] == []


def test_jobs_get_stays_as_ml_v1_has_it_without_all_metrics(job):
    from hpdash.api.mlv1.serializers import job_resource

    assert all("allMetrics" not in t for t in job_resource(job)["trainingOutput"]["trials"])


def test_the_csv_has_one_row_per_trial(client, job):
    client.force_login(Project.objects.get(name="p").members.get())
    lines = client.get(URL + "csv").content.decode().splitlines()
    assert lines[0].startswith("trialId,state,acc,step,lr")
    assert len(lines) == 3


def test_someone_outside_the_project_gets_404_for_the_exports(client, job, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory"))
    assert client.get(URL + "json").status_code == 404
    assert client.get(URL + "csv").status_code == 404


def test_csv_cells_that_look_like_formulas_are_neutralised_but_numbers_stay_numbers(
        client, job):
    Trial.objects.filter(job=job, trial_id=2).update(
        failure_reason='=HYPERLINK("http://evil.example","click")')
    Trial.objects.filter(job=job, trial_id=1).update(final_value=-0.5)
    client.force_login(Project.objects.get(name="p").members.get())
    text = client.get(URL + "csv").content.decode()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert ",-0.5," in text
