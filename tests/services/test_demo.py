"""The demo job: a finished job with made-up trials, as ``manage.py seed_demo_job`` stores it."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from hpdash.core.spec import parse_job
from hpdash.core.states import JobState, TrialState
from hpdash.models import Job, Measurement
from hpdash.services.demo import DemoJobExists, DemoTrial, demo_job_create

pytestmark = pytest.mark.django_db

SPEC = parse_job({"jobId": "demo", "trainingInput": {"pythonModule": "m", "hyperparameters": {
    "goal": "MINIMIZE", "hyperparameterMetricTag": "loss", "maxTrials": 2,
    "maxParallelTrials": 1,
    "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}}})


def test_a_demo_job_is_stored_finished_with_its_trials_and_their_curves():
    job, measurements = demo_job_create(project="new", spec=SPEC, seed=7, trials=[
        DemoTrial({"x": 0.1}, [(1, 0.9), (2, 0.5)]),
        DemoTrial({"x": 0.7}, [(1, 0.8)], stopped_early=True)])
    assert measurements == 3
    job = Job.objects.get(pk=job.pk)
    assert (job.project_id, job.state, job.goal, job.metric_tag, job.max_trials) == (
        "new", JobState.SUCCEEDED, "MINIMIZE", "loss", 2)
    assert job.start_time is not None and job.end_time is not None
    assert job.start_time < job.end_time
    trials = list(job.trials.order_by("trial_id"))
    assert [(t.trial_id, t.state, t.final_value, t.final_step, t.is_stopped_early)
            for t in trials] == [(1, TrialState.SUCCEEDED, 0.5, 2, False),
                                 (2, TrialState.SUCCEEDED, 0.8, 1, True)]
    assert list(Measurement.objects.filter(trial=trials[0]).order_by("step")
                .values_list("step", "value")) == [(1, 0.9), (2, 0.5)]


def test_a_second_demo_job_with_the_same_id_is_refused_and_nothing_changes():
    demo_job_create(project="p", spec=SPEC, seed=1, trials=[DemoTrial({"x": 0.1}, [(1, 1.0)])])
    with pytest.raises(DemoJobExists, match="job demo already exists in p"):
        demo_job_create(project="p", spec=SPEC, seed=1,
                        trials=[DemoTrial({"x": 0.2}, [(1, 2.0)])])
    assert Measurement.objects.count() == 1


def test_the_command_seeds_reproducibly_and_says_what_it_made():
    out = io.StringIO()
    call_command("seed_demo_job", project="a", job_id="one", trials=5, steps=4, seed=3,
                 stdout=out)
    assert out.getvalue().startswith("created projects/a/jobs/one with 5 trials and ")
    call_command("seed_demo_job", project="b", job_id="one", trials=5, steps=4, seed=3,
                 stdout=io.StringIO())
    a, b = (list(Measurement.objects.filter(trial__job__project__name=p).order_by(
        "trial__trial_id", "step").values_list("value", flat=True)) for p in ("a", "b"))
    assert a == b and len(a) >= 5 * 3
    with pytest.raises(CommandError, match="already exists"):
        call_command("seed_demo_job", project="a", job_id="one", trials=5)
