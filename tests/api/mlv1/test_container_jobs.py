"""ml v1 jobs that name a container image (``masterConfig.imageUri``): accepted when a worker
machine has the image, a 400 naming the field and the image when none has it, and a 400 saying
why when no worker can run containers at all (package jobs are unaffected)."""

from __future__ import annotations

import json
import socket
from typing import Any

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


def test_without_a_worker_that_runs_containers_an_image_job_is_a_400_saying_why(
        client, auth, settings):
    settings.CONTAINERS = None
    violation = _violation(post(client, auth, IMAGE_JOB))
    assert violation["field"] == "trainingInput.masterConfig.imageUri"
    assert violation["description"].startswith(
        f"no worker can run containers: {socket.gethostname()}: podman is not installed")
    package_job = {"jobId": "pkg1", "trainingInput": {
        "pythonModule": "m", "hyperparameters": IMAGE_JOB["trainingInput"]["hyperparameters"]}}
    assert post(client, auth, package_job).status_code == 200


def test_an_image_a_worker_machine_has_is_accepted_and_echoed(client, auth, settings):
    settings.CONTAINERS = None
    GpuHost.objects.create(name="gpu-box", containers={
        "problem": "", "images": ["localhost/trainer:latest"], "cdi_gpus": False})
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
        "image gcr.io/p/other:1 is on no worker machine (gpu-box), and hpdash does not pull")


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
