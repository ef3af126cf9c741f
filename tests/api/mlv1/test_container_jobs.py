"""ml v1 jobs that name a container image (``masterConfig.imageUri``): accepted when a worker
machine has the image or pulls from its registry, a 400 naming the field and the image when
none does, and a 400 saying why when no worker can run containers at all (package jobs are
unaffected).  What each machine has is read from what its workers recorded: job create never
calls podman."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from hpdash.core.runner.podman import Podman
from hpdash.models import GpuHost

IMAGE_JOB: dict[str, Any] = {"jobId": "img1", "trainingInput": {
    "masterConfig": {"imageUri": "trainer", "containerArgs": ["--epochs=2"]},
    "hyperparameters": {"params": [
        {"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}


def post(client, auth, body):
    return client.post("/v1/projects/p/jobs", data=json.dumps(body),
                       content_type="application/json", **auth)


def _violation(resp) -> dict[str, str]:
    assert resp.status_code == 400, resp.json()
    found: dict[str, str] = resp.json()["error"]["details"][0]["fieldViolations"][0]
    return found


@pytest.fixture(autouse=True)
def _no_podman_at_create(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("job create called podman")
    monkeypatch.setattr(Podman, "run", refuse)


def test_without_a_worker_that_runs_containers_an_image_job_is_a_400_saying_why(
        client, auth, settings):
    settings.CONTAINERS = None
    violation = _violation(post(client, auth, IMAGE_JOB))
    assert violation["field"] == "trainingInput.masterConfig.imageUri"
    # No machine reported yet: this one does, once (make run's workers are still starting).
    assert violation["description"].startswith(
        f"no worker can run containers: {socket.gethostname()}: podman is not installed")
    GpuHost.objects.create(name="cpu-box", containers={
        "problem": "podman is not installed on this machine", "images": []})
    assert _violation(post(client, auth, IMAGE_JOB))["description"].startswith(
        "no worker can run containers: cpu-box: podman is not installed")
    package_job = {"jobId": "pkg1", "trainingInput": {
        "pythonModule": "m", "hyperparameters": IMAGE_JOB["trainingInput"]["hyperparameters"]}}
    assert post(client, auth, package_job).status_code == 200


def test_an_image_a_worker_machine_has_is_accepted_and_echoed(client, auth, settings):
    settings.CONTAINERS = None
    GpuHost.objects.create(name="gpu-box", containers={
        "problem": "", "images": [{"name": "localhost/trainer:latest", "id": "3e1a8dada93c",
                                   "size": 50663017}], "cdi_gpus": False})
    resp = post(client, auth, IMAGE_JOB)
    assert resp.status_code == 200, resp.json()
    assert resp.json()["trainingInput"]["masterConfig"] == IMAGE_JOB["trainingInput"][
        "masterConfig"]
    assert client.get("/v1/projects/p/jobs/img1", **auth).json()["trainingInput"][
        "masterConfig"]["imageUri"] == "trainer"
    other = json.loads(json.dumps(IMAGE_JOB))
    other["jobId"] = "img2"
    other["trainingInput"]["masterConfig"]["imageUri"] = "gcr.io/p/other:1"
    violation = _violation(post(client, auth, other))
    assert violation["field"] == "trainingInput.masterConfig.imageUri"
    assert violation["description"].startswith(
        "image gcr.io/p/other:1 is on no worker machine (gpu-box), as their workers last "
        "reported, and none pulls from gcr.io (HPDASH_CONTAINER_PULL_FROM)")


def test_an_image_from_a_registry_a_worker_machine_pulls_from_is_accepted(client, auth):
    GpuHost.objects.create(name="gpu-box", containers={
        "problem": "", "images": [], "pull_from": ["gcr.io", "127.0.0.1:5000"]})
    for i, image in enumerate(("gcr.io/p/other:1", "127.0.0.1:5000/t/trainer")):
        body = json.loads(json.dumps(IMAGE_JOB))
        body["jobId"] = f"pulled{i}"
        body["trainingInput"]["masterConfig"]["imageUri"] = image
        assert post(client, auth, body).status_code == 200
    body = json.loads(json.dumps(IMAGE_JOB))
    body["trainingInput"]["masterConfig"]["imageUri"] = "quay.io/p/other:1"
    assert "none pulls from quay.io" in _violation(post(client, auth, body))["description"]


def test_an_image_jobs_page_shows(client, auth, admin_client, settings):
    settings.CONTAINERS = None
    GpuHost.objects.create(name="gpu-box", containers={"problem": "", "images": [
        "localhost/trainer:latest"]})
    assert post(client, auth, IMAGE_JOB).status_code == 200
    page = admin_client.get("/projects/p/jobs/img1/")
    assert page.status_code == 200 and b"img1" in page.content


def test_admin_lists_each_machines_images_or_why_it_runs_no_containers(admin_client):
    GpuHost.objects.create(name="gpu-box", containers={
        "problem": "", "images": ["localhost/trainer:latest"], "cdi_gpus": False})
    GpuHost.objects.create(name="old-box", containers={
        "problem": "podman is not installed on this machine", "images": []})
    page = admin_client.get("/admin/hpdash/gpuhost/").content.decode()
    assert "localhost/trainer:latest" in page and "podman is not installed" in page
