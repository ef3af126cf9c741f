"""Custom containers end to end: a real stack (`manage.py serve`: Redis, RQ workers), real
podman, an ml v1 job whose masterConfig.imageUri names a trainer image built FROM the
host-Python image.  Its trials succeed with the right metrics and get their parameters as
``--name=value``; a trainer sees neither host processes nor the data dir; cancel stops a trainer
that ignores SIGTERM within the grace period and leaves no container; a SIGKILLed worker's
container is removed by the worker that replaces it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from harness import Stack, running_stack, wait_for_state
from rq import Queue, Worker

from hpdash.core.layout import DataLayout
from hpdash.core.runner.executors.container import LABEL_TRIAL, LABEL_WORKER
from hpdash.core.runner.podman import Podman

pytestmark = pytest.mark.e2e

IMAGE = "gcr.io/hpdash-e2e/trainer:v1"
TRAINER = textwrap.dedent('''
    import json, os, signal, sys, time
    import hypertune
    args = sys.argv[1:]
    opts = dict(a[2:].split("=", 1) for a in args if a.startswith("--") and "=" in a)
    job_dir = args[args.index("--job-dir") + 1]
    if opts["mode"] == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    seen = {"argv": args, "uid": os.getuid(),
            "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            "probe": os.path.exists(opts["probe"])}
    with open(os.path.join(job_dir, "seen.json"), "w") as f:
        json.dump(seen, f)
    x = float(opts["x"])
    hypertune.HyperTune().report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag="score", metric_value=-(x - 0.3) ** 2, global_step=1)
    if opts["mode"] != "quick":
        time.sleep(300)
''')


@pytest.fixture(scope="module")
def trainer_image(podman: Podman, image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    context = tmp_path_factory.mktemp("trainer-image")
    (context / "ctrainer.py").write_text(TRAINER)
    (context / "ctrainer.py").chmod(0o644)  # COPY keeps the mode: any trial uid reads it
    (context / "Containerfile").write_text(
        f"FROM {image}\nCOPY ctrainer.py /opt/ctrainer.py\nENV PYTHONPATH=/opt\n"
        'ENTRYPOINT ["python3", "-m", "ctrainer"]\n')
    podman.run("build", "--pull=never", "--no-cache", "-t", IMAGE, "-f",
               str(context / "Containerfile"), str(context), timeout=300)
    return IMAGE


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, trainer_image: str) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("hpdash-containers")
    data.chmod(0o711)
    with running_stack(data, workers=2) as s:
        yield s


def _job(stack: Stack, job_id: str, mode: str, trials: int = 1) -> dict[str, Any]:
    return {"jobId": job_id, "trainingInput": {
        "masterConfig": {"imageUri": IMAGE, "containerArgs": [
            f"--mode={mode}", f"--probe={stack.data_dir / 'hpdash.sqlite3'}"]},
        "jobDir": str(stack.out_dir / job_id),
        "hyperparameters": {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score",
                            "maxTrials": trials, "maxParallelTrials": 1,
                            "algorithm": "RANDOM_SEARCH", "params": [
                                {"parameterName": "x", "type": "DOUBLE", "minValue": 0,
                                 "maxValue": 1}]}}}


def _containers(podman: Podman, stack: Stack) -> list[dict[str, Any]]:
    """This stack's trial containers (their trial label is a path in its data dir)."""
    return [row for row in podman.containers({LABEL_TRIAL: ""})
            if str((row.get("Labels") or {}).get(LABEL_TRIAL, "")).startswith(
                str(stack.data_dir))]


def _wait_seen(stack: Stack, job_id: str, timeout: float = 120) -> dict[str, Any]:
    seen = stack.out_dir / job_id / "1" / "seen.json"
    deadline = time.monotonic() + timeout
    while not (seen.exists() and seen.stat().st_size):
        assert time.monotonic() < deadline, stack.log.read_text()[-3000:]
        time.sleep(0.2)
    time.sleep(0.1)
    data: dict[str, Any] = json.loads(seen.read_text())
    return data


def test_an_image_job_succeeds_with_its_metrics_and_params_as_flags_seeing_nothing_of_the_host(
        stack: Stack, podman: Podman):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/p", body=_job(stack, "img_ok", "quick", 2)
                                ).execute()
    job = wait_for_state(ml, "projects/p/jobs/img_ok", timeout=180)
    assert job["state"] == "SUCCEEDED", job
    trials = job["trainingOutput"]["trials"]
    assert len(trials) == 2
    for trial in trials:
        x = float(trial["hyperparameters"]["x"])
        assert trial["finalMetric"]["objectiveValue"] == pytest.approx(-(x - 0.3) ** 2)
    seen = json.loads((stack.out_dir / "img_ok" / "1" / "seen.json").read_text())
    x1 = next(t for t in trials if t["trialId"] == "1")["hyperparameters"]["x"]
    assert seen["argv"][:2] == ["--mode=quick", f"--probe={stack.data_dir / 'hpdash.sqlite3'}"]
    assert seen["argv"][2:4] == ["--job-dir", str(stack.out_dir / "img_ok" / "1")]
    assert seen["argv"][4].startswith("--x=") and float(seen["argv"][4][4:]) == float(x1)
    assert seen["uid"] != 0 and len(seen["pids"]) <= 3  # its init and itself: no host process
    assert seen["probe"] is False  # the data dir is not there
    assert _containers(podman, stack) == []


def test_cancel_stops_a_trainer_ignoring_sigterm_within_the_grace_and_leaves_no_container(
        stack: Stack, podman: Podman):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/p", body=_job(stack, "img_cancel",
                                                               "ignore-term")).execute()
    _wait_seen(stack, "img_cancel")
    assert len(_containers(podman, stack)) == 1
    began = time.monotonic()
    ml.projects().jobs().cancel(name="projects/p/jobs/img_cancel", body={}).execute()
    job = wait_for_state(ml, "projects/p/jobs/img_cancel", ("CANCELLED",), timeout=60)
    assert job["state"] == "CANCELLED"
    while _containers(podman, stack):
        assert time.monotonic() - began < 15, "the container outlived its grace period"
        time.sleep(0.2)


def test_a_sigkilled_workers_container_is_removed_by_the_next_worker(stack: Stack,
                                                                      podman: Podman):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/p", body=_job(stack, "img_orphan",
                                                               "sleep")).execute()
    _wait_seen(stack, "img_orphan")
    (row,) = _containers(podman, stack)
    name = row["Names"][0]
    _host, pid, _started = json.loads(row["Labels"][LABEL_WORKER])
    os.kill(pid, signal.SIGKILL)  # its trial's podman client dies with it; the container not
    deadline = time.monotonic() + 120
    while name in [n for r in _containers(podman, stack) for n in r["Names"]]:
        assert time.monotonic() < deadline, "the dead worker's container was not reaped"
        time.sleep(0.5)
    # Not re-run: the trial, RUNNING on a dead worker, is settled CANCELLED once its
    # heartbeat is overdue (the reconciler), which this test need not wait for.
    ml = stack.ml()  # a new connection: the server closed the idle one meanwhile
    ml.projects().jobs().cancel(name="projects/p/jobs/img_orphan", body={}).execute()


def test_a_trial_whose_image_no_running_machine_has_fails_naming_it_and_pulls_nothing(
        stack: Stack, podman: Podman):
    missing = "gcr.io/hpdash-e2e/elsewhere:v1"
    # Another machine reported the image (so create accepts the job), but none of its workers
    # runs: the trial is not handed back for it, and this machine never pulls (gcr.io is not
    # in HPDASH_CONTAINER_PULL_FROM).
    stack.manage("shell", "-c", "from hpdash.models import GpuHost; GpuHost.objects.create("
                 f"name='other-box', containers={{'problem': '', 'images': ['{missing}']}})")
    body = _job(stack, "img_missing", "quick")
    body["trainingInput"]["masterConfig"]["imageUri"] = missing
    body["trainingInput"]["hyperparameters"]["maxFailedTrials"] = 1
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/p", body=body).execute()
    job = wait_for_state(ml, "projects/p/jobs/img_missing", timeout=120)
    assert job["state"] == "FAILED", job
    log = next((stack.data_dir / "jobs" / "p" / "img_missing" / "trials").glob("*/trainer.log"))
    assert (f"FAILED: image {missing} is not on worker machine {socket.gethostname()}, which "
            "does not pull from gcr.io (HPDASH_CONTAINER_PULL_FROM)" in log.read_text())
    assert "no other worker machine with a running worker has it or pulls it" in log.read_text()
    assert not podman.image_exists(missing)


@contextlib.contextmanager
def _live_worker_on(stack: Stack, host: str) -> Iterator[None]:
    """A worker of machine ``host`` registered in the stack's Redis as RQ registers one (it
    takes nothing: it only makes the machine live), gone at the end."""
    layout = DataLayout(stack.data_dir)
    conn = redis.Redis(unix_socket_path=str(layout.redis_socket),
                       password=layout.redis_password.read_text().strip())
    worker = Worker([Queue("default", connection=conn)], connection=conn, name=f"{host}.1")
    worker.hostname = host
    worker.register_birth()
    try:
        yield
    finally:
        worker.register_death()
        conn.close()


def test_a_trial_is_handed_back_while_a_live_machine_has_its_image_and_fails_once_none_has(
        stack: Stack, podman: Podman):
    image = "gcr.io/hpdash-e2e/on-gpu-box:v1"
    stack.manage("shell", "-c", "from hpdash.models import GpuHost; GpuHost.objects.create("
                 f"name='gpu-box', containers={{'problem': '', 'images': ['{image}']}})")
    body = _job(stack, "img_handed", "quick")
    body["trainingInput"]["masterConfig"]["imageUri"] = image
    body["trainingInput"]["hyperparameters"]["maxFailedTrials"] = 1
    trials = stack.data_dir / "jobs" / "p" / "img_handed" / "trials"
    with _live_worker_on(stack, "gpu-box"):
        ml = stack.ml()
        ml.projects().jobs().create(parent="projects/p", body=body).execute()
        deadline = time.monotonic() + 60
        while "re-queued for a worker on gpu-box, which can run it" not in "".join(
                log.read_text() for log in trials.glob("*/trainer.log")):
            assert time.monotonic() < deadline, stack.log.read_text()[-3000:]
            time.sleep(0.2)
        job = ml.projects().jobs().get(name="projects/p/jobs/img_handed").execute()
        assert job["state"] in ("QUEUED", "RUNNING"), job  # not failed while gpu-box is live
    # gpu-box's worker is gone: the next worker to take the trial fails it, naming the image.
    job = wait_for_state(stack.ml(), "projects/p/jobs/img_handed", timeout=120)
    assert job["state"] == "FAILED", job
    log = (trials / "1" / "trainer.log").read_text()
    assert f"FAILED: image {image} is not on worker machine {socket.gethostname()}" in log
    assert not podman.image_exists(image)


VERTEX_TASK = (
    "import sys, hypertune\n"
    "x = float(next(a for a in sys.argv if a.startswith('--x=')).split('=', 1)[1])\n"
    "assert '--job-dir' not in sys.argv, sys.argv  # Vertex passes the AIP_* directories\n"
    "hypertune.HyperTune().report_hyperparameter_tuning_metric(\n"
    "    hyperparameter_metric_tag='score', metric_value=-(x - 0.3) ** 2, global_step=1)\n")


def test_a_vertex_study_runs_its_trials_in_a_container_spec_through_the_sdk(
        stack: Stack, podman: Podman, monkeypatch: pytest.MonkeyPatch):
    """The unchanged google-cloud-aiplatform SDK: a worker pool with a containerSpec (command
    overriding the image's entrypoint, then args, then --name=value) runs each trial in the
    image, and the trials' final measurements carry what the trainer reported."""
    import google.oauth2.credentials
    from google.cloud import aiplatform
    from google.cloud.aiplatform import hyperparameter_tuning as hpt
    from google.cloud.aiplatform import jobs as sdk_jobs

    monkeypatch.setattr(sdk_jobs, "_JOB_WAIT_TIME", 0.5)
    aiplatform.init(project="p", location="us-central1", api_endpoint=stack.url,
                    api_transport="rest", staging_bucket="gs://unused-staging",
                    credentials=google.oauth2.credentials.Credentials(stack.token))
    custom = aiplatform.CustomJob(
        display_name="vertex-image", base_output_dir=str(stack.out_dir / "vertex-image"),
        worker_pool_specs=[{
            "machine_spec": {"machine_type": "n1-standard-4"}, "replica_count": 1,
            "container_spec": {"image_uri": IMAGE, "command": ["python3", "-c", VERTEX_TASK],
                               "args": ["--mode=vertex"]}}])
    job = aiplatform.HyperparameterTuningJob(
        display_name="vertex-image", custom_job=custom, metric_spec={"score": "maximize"},
        parameter_spec={"x": hpt.DoubleParameterSpec(min=0, max=1, scale="linear")},
        max_trial_count=2, parallel_trial_count=2, search_algorithm="random")
    job.run()
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    trials = job.trials
    assert len(trials) == 2
    for t in trials:
        x = {p.parameter_id: p.value for p in t.parameters}["x"]
        (metric,) = t.final_measurement.metrics
        assert metric.metric_id == "score" and metric.value == pytest.approx(-(x - 0.3) ** 2)
    assert _containers(podman, stack) == []
