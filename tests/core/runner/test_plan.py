"""One plan per trial, built from the typed job: argv, env, directories, time limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpdash.core.layout import DataLayout
from hpdash.core.runner.plan import Placement, plan_trial
from hpdash.core.spec import parse_job


def _plan(job_dir: str | None = None, **training):
    ti = {"pythonModule": "trainer.task", "args": ["--epochs", "3"], "hyperparameters": {
        "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 2,
        "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                    "maxValue": 0.1}]}, **training}
    if job_dir is not None:
        ti["jobDir"] = job_dir
    spec = parse_job({"jobId": "j1", "trainingInput": ti})
    return plan_trial(training=spec.definition, layout=DataLayout(Path("/data")),
                      project="p", job_id="j1", trial_id=7, params={"lr": 0.05},
                      python="/py", base_env={"PATH": "/bin"})


def test_the_plan_carries_argv_dirs_metric_file_and_default_time_limit():
    plan = _plan("/srv/out")
    assert plan.argv == ("/py", "-m", "trainer.task", "--epochs", "3", "--job-dir",
                         "/srv/out/7", "--lr=0.05")
    assert plan.cwd == Path("/data/sandbox/p/j1/trials/7")
    assert plan.log_path == Path("/data/jobs/p/j1/trials/7/trainer.log")
    assert plan.metric_file == plan.cwd / "hypertune-0" / "output.metrics"
    assert plan.env["CLOUD_ML_HP_METRIC_FILE"] == str(plan.metric_file)
    assert plan.job_dir == Path("/srv/out/7")
    assert plan.time_limit == 7 * 24 * 3600


def test_a_file_localhost_job_dir_reaches_the_trainer_as_an_absolute_path():
    plan = _plan("file://localhost/srv/out")
    assert plan.argv[plan.argv.index("--job-dir") + 1] == "/srv/out/7"
    assert plan.job_dir == Path("/srv/out/7")  # where TensorBoard event files are followed


def test_percent_escapes_in_a_file_uri_are_decoded():
    assert _plan("file:///srv/my%20out").job_dir == Path("/srv/my out/7")


def test_max_running_time_is_the_trials_time_limit_and_no_job_dir_means_no_flag():
    plan = _plan(scheduling={"maxRunningTime": "90.5s"})
    assert plan.time_limit == 90.5
    assert "--job-dir" not in plan.argv


def test_the_trial_sees_only_its_leased_gpus_and_none_without_a_lease():
    from hpdash.core.runner.plan import Placement

    spec = parse_job({"jobId": "j1", "trainingInput": {"pythonModule": "t", "hyperparameters": {
        "maxTrials": 1, "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                                    "maxValue": 0.1}]}}})
    common: dict[str, Any] = {"training": spec.definition, "layout": DataLayout(Path("/data")),
              "project": "p", "job_id": "j1", "trial_id": 1, "params": {"lr": 0.05},
              "python": "/py", "base_env": {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}}
    assert plan_trial(**common).env["CUDA_VISIBLE_DEVICES"] == ""
    plan = plan_trial(**common, placement=Placement(gpus=("2", "3")))
    assert plan.env["CUDA_VISIBLE_DEVICES"] == "2,3" and plan.placement.gpus == ("2", "3")
    # nvidia-smi's ids are PCI bus order; CUDA must count the same way.
    assert plan.env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    own_order = {**common, "base_env": {"CUDA_DEVICE_ORDER": "FASTEST_FIRST"}}
    assert plan_trial(**own_order).env["CUDA_DEVICE_ORDER"] == "FASTEST_FIRST"


def test_a_vertex_trial_gets_no_job_dir_flag_but_the_aip_directories_and_one_replica():
    import json

    from hpdash.core.spec.vertex import parse_tuning_job

    spec = parse_tuning_job({
        "displayName": "t", "maxTrialCount": 2, "parallelTrialCount": 1,
        "studySpec": {"metrics": [{"metricId": "acc", "goal": 1}], "parameters": [
            {"parameterId": "lr", "doubleValueSpec": {"minValue": 0.01, "maxValue": 0.1}}]},
        "trialJobSpec": {"baseOutputDirectory": {"outputUriPrefix": "/srv/out"},
                         "workerPoolSpecs": [{"replicaCount": "1", "pythonPackageSpec": {
                             "packageUris": ["/srv/t.tar.gz"], "pythonModule": "trainer.task",
                             "args": ["--epochs", "3"],
                             "env": [{"name": "MODE", "value": "fast"}]}}]}})
    plan = plan_trial(training=spec.definition, layout=DataLayout(Path("/data")),
                      project="p", job_id="123", trial_id=7, params={"lr": 0.05},
                      python="/py", base_env={"PATH": "/bin"})
    assert plan.argv == ("/py", "-m", "trainer.task", "--epochs", "3", "--lr=0.05")
    assert plan.env["AIP_MODEL_DIR"] == "/srv/out/7/model/"
    assert plan.env["AIP_CHECKPOINT_DIR"] == "/srv/out/7/checkpoints/"
    assert plan.env["AIP_TENSORBOARD_LOG_DIR"] == "/srv/out/7/logs/"
    assert plan.env["CLOUD_ML_TRIAL_ID"] == "7" and plan.env["MODE"] == "fast"
    assert json.loads(plan.env["CLUSTER_SPEC"])["task"] == {
        "type": "workerpool0", "index": 0, "trial": "7"}
    assert json.loads(plan.env["TF_CONFIG"])["cluster"] == {"chief": ["127.0.0.1:2222"]}
    assert plan.job_dir == Path("/srv/out/7")  # TensorBoard runs are still followed there


def test_an_ml_v1_trial_gets_aip_directories_that_outlive_its_attempt_under_its_job_dir():
    plan = _plan("/srv/out")
    assert plan.env["AIP_CHECKPOINT_DIR"] == "/srv/out/7/checkpoints/"
    assert plan.env["AIP_MODEL_DIR"] == "/srv/out/7/model/"
    assert plan.env["AIP_TENSORBOARD_LOG_DIR"] == "/srv/out/7/logs/"


def test_without_a_job_dir_the_aip_directories_outlive_the_attempt_in_hpdashs_stand_in():
    """The trial's own directory is fresh for each attempt; a trainer that checkpoints to
    AIP_CHECKPOINT_DIR resumes from a folder that is not: set up, bound and followed for
    TensorBoard runs as <jobDir>/<trialId> is, never passed as --job-dir."""
    plan = _plan()
    outputs = "/data/sandbox/p/j1/outputs/7"
    assert plan.job_dir == Path(outputs) and not plan.job_dir.is_relative_to(plan.cwd)
    assert plan.env["AIP_CHECKPOINT_DIR"] == f"{outputs}/checkpoints/"
    assert plan.env["AIP_MODEL_DIR"] == f"{outputs}/model/"
    assert plan.env["AIP_TENSORBOARD_LOG_DIR"] == f"{outputs}/logs/"


def test_each_attempt_has_a_metric_file_of_its_own():
    spec = parse_job({"jobId": "j1", "trainingInput": {
        "pythonModule": "trainer.task", "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 2,
            "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                        "maxValue": 0.1}]}}})
    files = {plan_trial(training=spec.definition, layout=DataLayout(Path("/data")),
                        project="p", job_id="j1", trial_id=7, params={"lr": 0.05},
                        python="/py", base_env={}, placement=Placement(attempt=attempt)).env[
                            "CLOUD_ML_HP_METRIC_FILE"] for attempt in (1, 2)}
    assert files == {"/data/sandbox/p/j1/trials/7/hypertune-1/output.metrics",
                     "/data/sandbox/p/j1/trials/7/hypertune-2/output.metrics"}
