"""A container trainer's plan and its podman command: the image, containerCommand as the
entrypoint, containerArgs then args then --job-dir then --name=value; the contract's
environment only; one CDI device per leased GPU, renumbered from 0 inside; the typed job keeps
its image through the database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hpdash.core.layout import DataLayout
from hpdash.core.runner import ExecutorConfig, Placement, TrialPlan, plan_trial
from hpdash.core.runner.executors import executor_for
from hpdash.core.runner.executors.container import ContainerExecutor
from hpdash.core.runner.podman import ContainerSettings
from hpdash.core.runner.sandbox import TrialUser
from hpdash.core.spec import ContainerImage, JobDefinition, parse_job
from hpdash.core.spec.stored import definition_from_json, definition_to_json

USER = TrialUser("trial-250000", 250000, 250000)


def _training() -> JobDefinition:
    return parse_job({"jobId": "j1", "trainingInput": {
        "masterConfig": {"imageUri": "gcr.io/p/t:v1", "containerCommand": ["python3", "-m",
                                                                             "trainer.task"],
                         "containerArgs": ["--epochs=3"]},
        "args": ["--verbose"], "jobDir": "/srv/out", "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 2,
            "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                        "maxValue": 0.1}]}}}).definition


def _plan(gpus: tuple[str, ...] = ()) -> TrialPlan:
    return plan_trial(training=_training(), layout=DataLayout(Path("/data")), project="p",
                      job_id="j1", trial_id=7, params={"lr": 0.05}, python="/py",
                      base_env={"PATH": "/host/bin", "HOME": "/root", "LANG": "C.UTF-8"},
                      placement=Placement(gpus=gpus))


def test_an_image_trainer_is_run_by_the_container_executor_with_its_args_and_command():
    assert executor_for(_training()) == "container"
    plan = _plan()
    assert plan.image == "gcr.io/p/t:v1" and plan.container
    assert plan.entrypoint == ("python3", "-m", "trainer.task")
    assert plan.argv == ("gcr.io/p/t:v1", "--epochs=3", "--verbose", "--job-dir",
                         "/srv/out/7", "--lr=0.05")


def test_a_container_gets_the_contract_environment_and_nothing_of_the_workers():
    env = _plan().env
    assert {"PATH", "LANG", "HOME"}.isdisjoint(env)
    assert env["CLOUD_ML_TRIAL_ID"] == "7" and "TF_CONFIG" in env


def test_each_leased_gpu_is_a_cdi_device_and_cuda_counts_them_from_zero(tmp_path: Path):
    executor = ContainerExecutor(ExecutorConfig(
        layout=DataLayout(tmp_path), python="",
        containers=ContainerSettings(podman="/usr/bin/podman")))
    argv = executor._create_argv(_plan(("1", "3")), "hpdash-x", USER, None, {})
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--device"] == [
        "nvidia.com/gpu=1", "nvidia.com/gpu=3"]
    assert "CUDA_VISIBLE_DEVICES=0,1" in argv
    assert not any(a.startswith("NVIDIA_VISIBLE_DEVICES=") for a in argv)
    none = executor._create_argv(_plan(), "hpdash-y", USER, None, {})
    assert "--device" not in none and "NVIDIA_VISIBLE_DEVICES=void" in none
    assert "CUDA_VISIBLE_DEVICES=" in none
    assert none[none.index("--entrypoint") + 1] == '["python3", "-m", "trainer.task"]'
    assert none[-7:] == ["--", "gcr.io/p/t:v1", "--epochs=3", "--verbose", "--job-dir",
                         "/srv/out/7", "--lr=0.05"]


def test_an_image_trainer_reads_back_from_the_database_as_it_was_parsed():
    training = _training()
    back = definition_from_json(definition_to_json(training))
    assert back == training
    assert back.image == ContainerImage("gcr.io/p/t:v1", ("python3", "-m", "trainer.task"),
                                        ("--epochs=3",))


def test_no_network_unless_the_server_allows_it_and_never_when_the_job_asks_for_none(
        tmp_path: Path):
    def network(server: bool, job: bool) -> str:
        executor = ContainerExecutor(ExecutorConfig(
            layout=DataLayout(tmp_path), python="",
            containers=ContainerSettings(podman="/usr/bin/podman", network=server)))
        plan = dataclasses.replace(_plan(), placement=Placement(network=job))
        argv = executor._create_argv(plan, "hpdash-x", USER, None, {})
        return next(a for a in argv if a.startswith("--network="))

    assert network(server=False, job=True) == "--network=none"
    assert network(server=True, job=True) == "--network=host"
    assert network(server=True, job=False) == "--network=none"
