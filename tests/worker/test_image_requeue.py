"""A trial whose image its worker machine lacks (and may not pull) is handed back for a machine
that has it, when one with a running worker reported it; otherwise it fails naming the image
and the machine.  Either way this machine's report is recorded anew first (it may have listed
the image until it was removed), and the worker that hands a trial back pauses so that a worker
of the other machine takes it."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from support import submit_ml_job

from hpdash.core.layout import DataLayout
from hpdash.core.runner import ExecutorConfig, ImageNotHere
from hpdash.core.runner.executors import ContainerExecutor
from hpdash.core.runner.executors.container import missing_image
from hpdash.core.states import JobState, TrialState
from hpdash.models import GpuHost, Job, Trial
from hpdash.ops import queue
from hpdash.services.containers import container_host_register
from hpdash.worker import trial_runner

pytestmark = pytest.mark.django_db
IMAGE = "gcr.io/p/trainer:v1"
HERE = socket.gethostname()
REAL_PREPARE = ContainerExecutor.prepare  # the fixture below stands in for it


@pytest.fixture(autouse=True)
def no_podman_here(monkeypatch):
    """This machine lacks the image (its executor says so), and its fresh report lists none."""
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)
    monkeypatch.setattr(queue, "enqueue_trial", lambda pk, attempt: None)
    monkeypatch.setattr(trial_runner, "UNAVAILABLE_PAUSE", 0.0)
    monkeypatch.setattr(trial_runner._UNAVAILABLE, "count", 0)

    def prepare(self, **kwargs):
        raise ImageNotHere(IMAGE, missing_image(IMAGE, HERE))

    def report(*, full: bool = False):
        container_host_register(host=HERE, report={"problem": "", "images": []})
    monkeypatch.setattr(ContainerExecutor, "prepare", prepare)
    monkeypatch.setattr(trial_runner, "container_host_report", report)


def _job(other: dict[str, Any]) -> tuple[Job, Trial]:
    # This machine's last report still lists the image (it was removed since).
    GpuHost.objects.create(name=HERE, containers={"problem": "", "images": [IMAGE]})
    GpuHost.objects.create(name="other-box", containers=other)
    job = submit_ml_job(project="p", data={"jobId": "img_1", "trainingInput": {
        "masterConfig": {"imageUri": IMAGE}, "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 1,
            "maxFailedTrials": 1, "params": [
                {"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}}})
    return job, Trial.objects.create(job=job, trial_id=1, params={"x": 0.5}, attempt=1)


def _log(settings) -> str:
    return (Path(settings.DATA_DIR) / "jobs" / "p" / "img_1" / "trials" / "1"
            / "trainer.log").read_text()


@pytest.mark.parametrize("other", [
    {"problem": "", "images": [{"name": IMAGE, "id": "3e1a8dada93c", "size": 1}]},
    {"problem": "", "images": [], "pull_from": ["gcr.io"]},
], ids=["has-it", "pulls-it"])
def test_a_trial_is_handed_back_when_a_machine_with_a_live_worker_can_run_its_image(
        settings, monkeypatch, other):
    monkeypatch.setattr(queue, "live_worker_hosts", lambda: {HERE, "other-box"})
    _, trial = _job(other)
    trial_runner.trial_execute(trial.pk, 1)
    trial.refresh_from_db()
    assert (trial.state, trial.attempt, trial.failure_reason) == (TrialState.QUEUED, 2, "")
    log = _log(settings)
    assert f"cannot start on this machine: image {IMAGE} is not on worker machine {HERE}" in log
    assert "the trial is re-queued for a worker on other-box, which can run it" in log
    assert trial_runner._UNAVAILABLE.count == 1  # this worker paused before taking more work
    # This machine's record no longer claims the image.
    assert GpuHost.objects.get(name=HERE).containers["images"] == []


def test_a_trial_fails_naming_image_and_machine_when_no_live_machine_has_it(
        settings, monkeypatch):
    monkeypatch.setattr(queue, "live_worker_hosts", lambda: {HERE})  # other-box's workers gone
    job, trial = _job({"problem": "", "images": [IMAGE]})
    trial_runner.trial_execute(trial.pk, 1)
    trial.refresh_from_db()
    assert trial.state == TrialState.FAILED and trial.attempt == 1
    assert trial.failure_reason == (
        f"image {IMAGE} is not on worker machine {HERE}, which does not pull from gcr.io "
        "(HPDASH_CONTAINER_PULL_FROM): load it there with podman load or podman pull, or give "
        "a local image that name with podman tag; no other worker machine with a running "
        "worker has it or pulls it")
    assert f"FAILED: {trial.failure_reason}" in _log(settings)
    job.refresh_from_db()
    assert job.state == JobState.FAILED


def test_a_machine_that_cannot_run_containers_does_not_count(settings, monkeypatch):
    monkeypatch.setattr(queue, "live_worker_hosts", lambda: {HERE, "other-box"})
    _job({"problem": "", "images": [IMAGE]})
    GpuHost.objects.filter(name="other-box").update(containers={
        "problem": "podman does not work on this machine: …", "images": [IMAGE]})
    trial = Trial.objects.get()
    trial_runner.trial_execute(trial.pk, 1)
    trial.refresh_from_db()
    assert trial.state == TrialState.FAILED


def test_a_machine_without_podman_says_so_as_a_machine_without_the_image_does(tmp_path):
    """In a deployment where only some machines run containers, an image trial that lands on
    one without podman is handed back (or failed) by the same rule."""
    bare = ContainerExecutor(ExecutorConfig(layout=DataLayout(tmp_path), python=""))
    job, _ = _job({"problem": "", "images": [IMAGE]})
    says = f"image {IMAGE} cannot run on worker machine {HERE}: it runs no containers"
    with pytest.raises(ImageNotHere, match=says):
        REAL_PREPARE(bare, training=job.definition, project="p", job_id="img_1")
