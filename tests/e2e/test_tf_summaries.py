"""TensorFlow summaries as the metric source, end to end, from a trainer that never imports
hypertune (examples/keras_style)."""

from __future__ import annotations

import json

import pytest
from harness import ROOT, TRAINERS, Stack, wait_for_state
from keras_runs import keras_expected

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("form", ["tf2", "tf1"])
def test_a_trainer_reporting_only_through_summaries_is_tuned(stack: Stack, form: str):
    ml = stack.ml()
    job_id = f"summaries_{form}"
    body = {"jobId": job_id, "trainingInput": {
        "pythonModule": "trainer.task",
        "packageUris": [str(ROOT / "examples/keras_style")],
        "args": ["--epochs=4", *(["--tf1"] if form == "tf1" else [])],
        "jobDir": str(stack.out_dir / job_id),
        "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "epoch_accuracy",
            "maxTrials": 2, "maxParallelTrials": 2,
            "params": [{"parameterName": "learning-rate", "type": "DOUBLE",
                        "minValue": 0.001, "maxValue": 0.1, "scaleType": "UNIT_LOG_SCALE"}]}}}
    ml.projects().jobs().create(parent="projects/tf", body=body).execute()
    job = wait_for_state(ml, f"projects/tf/jobs/{job_id}", timeout=180)
    assert job["state"] == "SUCCEEDED", job
    for t in job["trainingOutput"]["trials"]:
        assert t["finalMetric"]["trainingStep"] == "3"  # the last epoch's summary
        assert 0.5 < t["finalMetric"]["objectiveValue"] <= 1.0


@pytest.mark.parametrize("tag,run", [("epoch_accuracy", "validation"),
                                     ("train/epoch_accuracy", "train")])
def test_real_keras_runs_are_kept_apart_and_a_tag_may_name_its_run(stack: Stack, tmp_path,
                                                                   tag: str, run: str):
    """Event files written by real TensorFlow's Keras TensorBoard callback, replayed epoch by
    epoch into ``<job-dir>/train`` and ``<job-dir>/validation``, validation two epochs late as
    Keras' buffered writers deliver it: one series a run, and the one the tag means."""
    ml = stack.ml()
    job_id = f"keras_{run}"
    body = {"jobId": job_id, "trainingInput": {
        "pythonModule": "e2etrainer.keras_replay",
        "packageUris": [str(TRAINERS / "e2etrainer"), str(TRAINERS / "tbdeps")],
        "args": ["--epoch-sleep=0.5", "--validation-lag=2"],
        "jobDir": str(tmp_path / "out"),  # not in the data dir: manage.py would tighten it
        "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": tag, "maxTrials": 1,
            "params": [{"parameterName": "units", "type": "INTEGER", "minValue": 4,
                        "maxValue": 16, "scaleType": "UNIT_LINEAR_SCALE"}]}}}
    ml.projects().jobs().create(parent="projects/tf", body=body).execute()
    job = wait_for_state(ml, f"projects/tf/jobs/{job_id}", timeout=180)
    assert job["state"] == "SUCCEEDED", job
    expected = keras_expected(run)
    (trial,) = job["trainingOutput"]["trials"]
    assert trial["finalMetric"] == {"trainingStep": str(expected[-1][0]),
                                    "objectiveValue": expected[-1][1]}
    stored = json.loads(stack.manage("shell", "-c", (
        "import json; from hpdash.models import Measurement; print(json.dumps(list("
        f"Measurement.objects.filter(trial__job__job_id={job_id!r}).order_by('id')"
        ".values_list('step', 'value', 'source'))))")).splitlines()[-1])
    assert stored == [[s, v, f"tfevents:{run}"] for s, v in expected]  # one value a step
    log = (stack.data_dir / "jobs" / "tf" / job_id / "trials" / "1" / "trainer.log").read_text()
    notes = [line for line in log.splitlines() if "TensorBoard run" in line]
    assert len(notes) == 1, log
    assert f'using TensorBoard run "{run}"' in notes[0]


def test_the_per_trial_measurement_cap_fails_the_job_with_the_seed_era_message(tmp_path):
    from harness import QUADRATIC, running_stack, trainer_job

    with running_stack(tmp_path / "data", workers=1, HPDASH_TRIAL_MAX_MEASUREMENTS="2") as s:
        ml = s.ml()
        ml.projects().jobs().create(parent="projects/tf", body=trainer_job(
            "cap_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 1},
            args=["--steps=5"])).execute()
        job = wait_for_state(ml, "projects/tf/jobs/cap_1")
    assert job["state"] == "FAILED"
    assert ("Too many hyperparameter tuning metrics were written by Hyperparameter Tuning "
            "Trial #1.") in job["errorMessage"]
