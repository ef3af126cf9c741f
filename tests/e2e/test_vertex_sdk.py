"""The Vertex AI front door end to end, driven by the unchanged ``google-cloud-aiplatform`` SDK
(``api_transport="rest"``) against `manage.py serve` (embedded Redis, RQ workers, gunicorn, real
trainer subprocesses running a local sdist)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import google.oauth2.credentials
import pytest
from google.api_core import exceptions
from google.cloud import aiplatform
from google.cloud.aiplatform import hyperparameter_tuning as hpt
from google.cloud.aiplatform import jobs as sdk_jobs
from harness import Stack

pytestmark = pytest.mark.e2e

TASK = '''\
import argparse, json, os, sys, time
import hypertune
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--layers", type=int, default=1)
p.add_argument("--opt", default="sgd")
p.add_argument("--steps", type=int, default=3)
p.add_argument("--sleep", type=float, default=0.0)
p.add_argument("--tag", default="")
p.add_argument("--units", type=int, default=0)  # a conditional parameter: adam's only
a = p.parse_args()
out = os.environ.get("AIP_MODEL_DIR")
if out:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items()
                   if k.startswith(("AIP_", "CLOUD_ML_", "CLUSTER_SPEC", "TF_CONFIG"))}}, f)
quality = 1.0 / (1 + a.layers * a.lr) + (0.1 if a.opt == "adam" else 0.0)
h = hypertune.HyperTune()
for step in range(1, a.steps + 1):
    time.sleep(a.sleep)
    # The curve peaks at step 2: BEST and LAST measurements differ.
    value = quality * (1.0 if step == 2 else 0.5)
    h.report_hyperparameter_tuning_metric(hyperparameter_metric_tag="accuracy",
                                          metric_value=value, global_step=step)
    # A second metric, one more call per step (a single-metric study ignores it).
    h.report_hyperparameter_tuning_metric(hyperparameter_metric_tag="latency",
                                          metric_value=a.layers * 10 + a.units / 8 + step,
                                          global_step=step)
'''


def _sdist(where: Path) -> Path:
    """A real sdist of a tiny trainer package (``vtrainer.task``), as `python -m build` makes
    one: ``vtrainer-0.1/`` with the package and its metadata."""
    path = where / "vtrainer-0.1.tar.gz"
    files = {"vtrainer-0.1/PKG-INFO": "Metadata-Version: 2.1\nName: vtrainer\nVersion: 0.1\n",
             "vtrainer-0.1/setup.py": "from setuptools import setup\nsetup(name='vtrainer', "
                                      "version='0.1', packages=['vtrainer'])\n",
             "vtrainer-0.1/vtrainer/__init__.py": "", "vtrainer-0.1/vtrainer/task.py": TASK}
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    path.chmod(0o644)
    return path


@pytest.fixture(scope="module")
def vertex(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The SDK pointed at hpdash; answers the trainer's sdist."""
    packages = tmp_path_factory.mktemp("vertex-packages")
    packages.chmod(0o755)
    aiplatform.init(project="demo", location="us-central1", api_endpoint=stack.url,
                    api_transport="rest", staging_bucket="gs://unused-staging",
                    credentials=google.oauth2.credentials.Credentials(stack.token))
    yield _sdist(packages)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK polls a running job every 5 s; the e2e suite has no time for that.
    monkeypatch.setattr(sdk_jobs, "_JOB_WAIT_TIME", 0.5)


def _custom_job(package: Path, out: Path, args: list[str]) -> aiplatform.CustomJob:
    return aiplatform.CustomJob(
        display_name="vtrainer", base_output_dir=str(out),
        worker_pool_specs=[{
            "machine_spec": {"machine_type": "n1-standard-4"}, "replica_count": 1,
            "python_package_spec": {"executor_image_uri": "us-docker.pkg.dev/vertex-ai/"
                                    "training/sklearn-cpu.1-0:latest",
                                    "package_uris": [str(package)],
                                    "python_module": "vtrainer.task", "args": args}}])


def _tuning_job(name: str, package: Path, out: Path, args: list[str], trials: int,
                parallel: int) -> aiplatform.HyperparameterTuningJob:
    return aiplatform.HyperparameterTuningJob(
        display_name=name, custom_job=_custom_job(package, out, args),
        metric_spec={"accuracy": "maximize"},
        parameter_spec={"lr": hpt.DoubleParameterSpec(min=1e-4, max=1e-1, scale="log"),
                        "layers": hpt.IntegerParameterSpec(min=1, max=4, scale="linear"),
                        "opt": hpt.CategoricalParameterSpec(values=["sgd", "adam"])},
        max_trial_count=trials, parallel_trial_count=parallel, search_algorithm="random",
        labels={"suite": "e2e"})


def test_a_two_metric_study_with_a_conditional_parameter_runs_through_the_sdk(
        stack: Stack, vertex: Path):
    out = stack.out_dir / "vertex-multi"
    units = hpt.DiscreteParameterSpec(values=[16, 32], scale="linear", parent_values=["adam"])
    job = aiplatform.HyperparameterTuningJob(
        display_name="vertex-multi",
        custom_job=_custom_job(vertex, out, ["--steps=3", "--sleep=0.3"]),
        metric_spec={"accuracy": "maximize", "latency": "minimize"},
        parameter_spec={"layers": hpt.IntegerParameterSpec(min=1, max=2, scale="linear"),
                        "opt": hpt.CategoricalParameterSpec(
                            values=["sgd", "adam"], conditional_parameter_spec={"units": units})},
        max_trial_count=4, parallel_trial_count=2, search_algorithm="grid")
    job.run()
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    trials = sorted(job.trials, key=lambda t: int(t.id))
    assert len(trials) == 4
    seen = []
    for t in trials:
        p = {x.parameter_id: x.value for x in t.parameters}
        seen.append((p["layers"], p["opt"], p.get("units")))
        # units is adam's only: given (and passed to the trainer) only with it
        run = json.loads((out / t.id / "model" / "run.json").read_text())
        assert ("units" in p) == (p["opt"] == "adam")
        assert any(a.startswith("--units=") for a in run["argv"]) == (p["opt"] == "adam")
        assert t.state == aiplatform.gapic.Trial.State.SUCCEEDED
        # every measurement carries both metrics; the final (BEST on the first) one too
        assert [[m.metric_id for m in ms.metrics] for ms in t.measurements] == [
            ["accuracy", "latency"]] * 3
        final = t.final_measurement
        assert final.step_count == 2
        assert dict((m.metric_id, m.value) for m in final.metrics)["latency"] == (
            pytest.approx(p["layers"] * 10 + p.get("units", 0) / 8 + 2))
    assert seen == [(1, "sgd", None), (1, "adam", 16), (1, "adam", 32), (2, "sgd", None)]


def _overlap(trials: list[Any]) -> int:
    """The most trials that ran at the same time."""
    events = sorted([(t.start_time.timestamp(), 1) for t in trials]
                    + [(t.end_time.timestamp(), -1) for t in trials])
    most = running = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def test_a_tuning_job_runs_lists_reads_and_deletes_through_the_sdk(stack: Stack, vertex: Path):
    out = stack.out_dir / "vertex-tune"
    job = _tuning_job("vertex-tune", vertex, out, ["--steps=3", "--sleep=0.5"], 4, 2)
    job.run()
    job.wait()
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    trials = job.trials
    assert sorted(t.id for t in trials) == ["1", "2", "3", "4"]
    for t in trials:
        p = {x.parameter_id: x.value for x in t.parameters}
        assert t.state == aiplatform.gapic.Trial.State.SUCCEEDED
        assert 1e-4 <= p["lr"] <= 0.1 and p["layers"] in (1, 2, 3, 4)
        assert p["opt"] in ("sgd", "adam")
        assert [m.step_count for m in t.measurements] == [1, 2, 3]
        quality = 1 / (1 + p["layers"] * p["lr"]) + (0.1 if p["opt"] == "adam" else 0)
        # The SDK asks for the BEST measurement: step 2, not the last.
        final = t.final_measurement
        assert final.step_count == 2
        assert [(m.metric_id, m.value) for m in final.metrics] == [
            ("accuracy", pytest.approx(quality))]
        # What the trainer saw: its args, then --name=value, no --job-dir; the AIP_* dirs.
        run = json.loads((out / t.id / "model" / "run.json").read_text())
        assert run["argv"][:2] == ["--steps=3", "--sleep=0.5"] and "--job-dir" not in run["argv"]
        assert sorted(a.split("=")[0] for a in run["argv"][2:]) == ["--layers", "--lr", "--opt"]
        assert run["env"]["AIP_MODEL_DIR"] == f"{out}/{t.id}/model/"
        assert run["env"]["AIP_TENSORBOARD_LOG_DIR"] == f"{out}/{t.id}/logs/"
        assert run["env"]["CLOUD_ML_TRIAL_ID"] == t.id
        assert json.loads(run["env"]["CLUSTER_SPEC"])["task"]["type"] == "workerpool0"
    assert _overlap(trials) == 2  # two at a time, as parallelTrialCount says

    listed = aiplatform.HyperparameterTuningJob.list(filter='display_name="vertex-tune"')
    assert [j.resource_name for j in listed] == [job.resource_name]
    again = cast(aiplatform.HyperparameterTuningJob,  # by the bare numeric id
                 aiplatform.HyperparameterTuningJob.get(job.name))
    assert again.resource_name == job.resource_name and len(again.trials) == 4
    assert job.name.isdigit()

    again.delete()
    with pytest.raises(exceptions.NotFound):
        aiplatform.HyperparameterTuningJob.get(job.name)
    assert job.resource_name not in [
        j.resource_name for j in aiplatform.HyperparameterTuningJob.list()]


def _trainers_running(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(pid))
    return found


def test_cancel_stops_a_slow_tuning_job_and_leaves_no_trainer(stack: Stack, vertex: Path):
    marker = "--tag=vertex-cancel"
    slow = _tuning_job("vertex-cancel", vertex, stack.out_dir / "vertex-cancel",
                       ["--steps=100", "--sleep=1", marker], 4, 2)
    slow.run(sync=False)
    slow.wait_for_resource_creation()
    deadline = time.monotonic() + 90
    while not any(t.state == aiplatform.gapic.Trial.State.ACTIVE for t in slow.trials):
        assert time.monotonic() < deadline, "no trial became ACTIVE"
        time.sleep(0.5)
        slow = cast(aiplatform.HyperparameterTuningJob,
                    aiplatform.HyperparameterTuningJob.get(slow.resource_name))
    slow.cancel()
    deadline = time.monotonic() + 60
    while slow.state != aiplatform.gapic.JobState.JOB_STATE_CANCELLED:
        assert time.monotonic() < deadline, f"still {slow.state}"
        time.sleep(0.5)
    error = slow.error
    assert error is not None and error.code == 1  # google.rpc.Code CANCELLED
    assert _trainers_running(marker) == []


def test_a_malformed_create_answers_400(vertex: Path, stack: Stack):
    # The SDK leaves a 0 out, so the count arrives missing: 400 naming it, never 401 or 500.
    job = _tuning_job("bad", vertex, stack.out_dir / "bad", [], 4, 0)
    with pytest.raises(exceptions.BadRequest) as caught:
        job.run()
    assert "parallelTrialCount" in str(caught.value)


def test_a_custom_job_runs_its_trainer_once(stack: Stack, vertex: Path):
    out = stack.out_dir / "vertex-custom"
    job = _custom_job(vertex, out, ["--steps=2"])
    job.run()
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    run = json.loads((out / "model" / "run.json").read_text())  # one run, no trial dirs
    assert run["argv"] == ["--steps=2"] and run["env"]["AIP_MODEL_DIR"] == f"{out}/model/"
    assert [j.resource_name for j in aiplatform.CustomJob.list()] == [job.resource_name]
    # hpdash's own API and CLI list it too, in ml v1's shape.
    ml_job = stack.ml().projects().jobs().get(name=f"projects/demo/jobs/{job.name}").execute()
    assert ml_job["state"] == "SUCCEEDED"
    assert ml_job["trainingOutput"]["trials"][0]["trialId"] == "1"
