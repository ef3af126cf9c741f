"""TensorFlow summaries as the metric source, end to end, from a trainer that never imports
hypertune (examples/keras_style)."""

from __future__ import annotations

import pytest
from harness import ROOT, Stack, wait_for_state

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("form", ["tf2", "tf1"])
def test_a_trainer_reporting_only_through_summaries_is_tuned(stack: Stack, form: str):
    ml = stack.ml()
    job_id = f"summaries_{form}"
    body = {"jobId": job_id, "trainingInput": {
        "pythonModule": "trainer.task",
        "packageUris": [str(ROOT / "examples/keras_style/trainer")],
        "args": ["--epochs=4", *(["--tf1"] if form == "tf1" else [])],
        "jobDir": str(stack.data_dir / "out" / job_id),
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
