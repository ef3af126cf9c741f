"""Projects are namespaces with members; creating, cancelling and relabelling need permissions."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from support import submitter

from hpdash.models import ApiToken, Project
from hpdash.ops import queue

pytestmark = pytest.mark.django_db

JOB = {"jobId": "j1", "trainingInput": {"pythonModule": "m", "hyperparameters": {
    "params": [{"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}


@pytest.fixture(autouse=True)
def no_redis(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)
    monkeypatch.setattr(queue, "dequeue_trials", lambda pairs: None)


def headers(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user)[1]}"}


def create(client, h, project="team-a", job=JOB):
    return client.post(f"/v1/projects/{project}/jobs", data=json.dumps(job),
                       content_type="application/json", **h)


def test_the_first_user_to_create_a_job_in_a_new_project_becomes_its_member(client):
    alice = submitter("alice")
    assert create(client, headers(alice)).status_code == 200
    assert list(Project.objects.get(name="team-a").members.all()) == [alice]


def test_non_members_cannot_see_or_touch_a_projects_jobs(client):
    create(client, headers(submitter("alice")))
    bob = headers(submitter("bob"))
    for resp in (client.get("/v1/projects/team-a/jobs", **bob),
                 client.get("/v1/projects/team-a/jobs/j1", **bob),
                 client.post("/v1/projects/team-a/jobs/j1:cancel", **bob),
                 create(client, bob, job={**JOB, "jobId": "j2"})):
        assert resp.status_code == 403
        assert resp.json()["error"]["status"] == "PERMISSION_DENIED"
        assert "team-a" in resp.json()["error"]["message"]


def test_members_added_in_the_admin_share_the_project(client):
    create(client, headers(submitter("alice")))
    bob = submitter("bob")
    Project.objects.get(name="team-a").members.add(bob)
    assert client.get("/v1/projects/team-a/jobs/j1", **headers(bob)).status_code == 200
    assert create(client, headers(bob), job={**JOB, "jobId": "j2"}).status_code == 200


def test_staff_see_every_project(client):
    create(client, headers(submitter("alice")))
    staff = User.objects.create(username="ops", is_staff=True)
    assert client.get("/v1/projects/team-a/jobs/j1", **headers(staff)).status_code == 200


def test_creating_needs_the_add_job_permission_and_cancelling_the_cancel_permission(client):
    viewer = headers(submitter("viewer", perms=()))
    resp = create(client, viewer)
    assert resp.status_code == 403 and "hpdash.add_job" in resp.json()["error"]["message"]
    create(client, headers(submitter("alice")))
    Project.objects.get(name="team-a").members.add(User.objects.get(username="viewer"))
    resp = client.post("/v1/projects/team-a/jobs/j1:cancel", **viewer)
    assert resp.status_code == 403 and "cancel_job" in resp.json()["error"]["message"]


def test_an_unknown_project_lists_as_empty_rather_than_forbidden(client):
    assert client.get("/v1/projects/nobody/jobs", **headers(submitter("bob"))).json() == {}


def test_the_dashboard_hides_other_projects_jobs(client):
    create(client, headers(submitter("alice")))
    bob = submitter("bob")
    client.force_login(bob)
    assert client.get("/projects/team-a/jobs/j1/").status_code == 404
    assert b"/jobs/j1/" not in client.get("/").content  # (bare "j1" can be in a CSP nonce)
    client.force_login(User.objects.get(username="alice"))
    assert client.get("/projects/team-a/jobs/j1/").status_code == 200
    assert b"/jobs/j1/" in client.get("/").content


def test_an_invalid_job_does_not_claim_a_new_project(client):
    bad = {**JOB, "jobId": "1bad"}
    assert create(client, headers(submitter("alice")), project="fresh", job=bad).status_code == 400
    assert not Project.objects.filter(name="fresh").exists()


# ---------------------------------------------------------------------------------------------
# Projects always exist


def test_a_seeded_demo_job_belongs_to_a_project_that_outsiders_cannot_read_or_relabel(client):
    from django.core.management import call_command

    call_command("seed_demo_job", "--project", "demo", "--job-id", "seeded", "--trials", "3")
    assert Project.objects.filter(name="demo").exists()
    mallory = headers(submitter("mallory"))
    assert client.get("/v1/projects/demo/jobs/seeded", **mallory).status_code == 403
    patch = client.patch("/v1/projects/demo/jobs/seeded?updateMask=labels",
                         data=json.dumps({"labels": {"owned": "yes"}}),
                         content_type="application/json", **mallory)
    assert patch.status_code == 403
    # Nor can an outsider take the namespace over by creating a job in it first.
    assert create(client, mallory, project="demo").status_code == 403
    assert not Project.objects.get(name="demo").members.exists()


def test_a_project_that_has_jobs_cannot_be_deleted_not_even_in_the_admin(client):
    from django.db.models import ProtectedError

    assert create(client, headers(submitter("alice"))).status_code == 200
    project = Project.objects.get(name="team-a")
    with pytest.raises(ProtectedError):
        project.delete()
    admin = User.objects.create_superuser("root", password="pw")
    client.force_login(admin)
    url = f"/admin/hpdash/project/{project.pk}/delete/"
    page = client.get(url)
    assert b"would require deleting the following protected related objects" in page.content
    client.post(url, {"post": "yes"})
    assert Project.objects.filter(name="team-a").exists()
