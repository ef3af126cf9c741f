"""``GET /v1/projects/P:hpdashImages`` (what ``hpdash images`` shows): each worker machine's
container report as recorded, to an authenticated member of the project only, and never by
calling podman."""

from __future__ import annotations

import pytest
from support import submitter

from hpdash.core.runner.podman import Podman
from hpdash.models import GpuHost, Project
from hpdash.ops import queue
from hpdash.services.containers import container_host_register


@pytest.fixture(autouse=True)
def _recorded(db, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the API called podman")
    monkeypatch.setattr(Podman, "run", refuse)
    monkeypatch.setattr(queue, "live_worker_hosts", lambda: {"gpu-1"})
    container_host_register(host="gpu-1", report={
        "problem": "", "pull_from": ["gcr.io"], "cdi_gpus": False,
        "images": [{"name": "gcr.io/p/trainer:v1", "id": "3e1a8dada93c", "size": 50663017}]})
    GpuHost.objects.create(name="old-box", containers={
        "problem": "podman is not installed on this machine", "images": ["localhost/x:1"]})


def test_it_lists_each_machines_images_or_why_it_runs_none(client, auth):
    resp = client.get("/v1/projects/p:hpdashImages", **auth)
    assert resp.status_code == 200, resp.json()
    gpu, old = resp.json()["machines"]
    assert gpu["name"] == "gpu-1" and gpu["live"] is True and gpu["runsContainers"] is True
    assert gpu["images"] == [{"name": "gcr.io/p/trainer:v1", "id": "3e1a8dada93c",
                              "size": 50663017}]
    assert gpu["pullFrom"] == ["gcr.io"] and gpu["reportTime"].startswith("20")
    assert old["live"] is False and old["runsContainers"] is False
    assert old["problem"] == "podman is not installed on this machine"
    assert old["images"] == [{"name": "localhost/x:1", "id": "", "size": None}]


def test_it_needs_a_token_and_a_project_the_caller_may_see(client, auth):
    resp = client.get("/v1/projects/p:hpdashImages")
    assert resp.status_code == 401
    assert resp.json()["error"]["status"] == "UNAUTHENTICATED"
    team = Project.objects.create(name="team")
    team.members.add(submitter("bob"))
    resp = client.get("/v1/projects/team:hpdashImages", **auth)  # alice is not in team
    assert resp.status_code == 403 and "gcr.io" not in resp.content.decode()
    assert client.post("/v1/projects/p:hpdashImages", **auth).status_code == 501
