"""jobs.patch: replace a job's labels, optionally guarded by its etag (Django's test client)."""

from __future__ import annotations

import json

import pytest
from support import submit_ml_job, submitter

from hpdash.core.spec import SpecError
from hpdash.models import Job
from hpdash.services.jobs import EtagMismatch, job_update_labels

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]

JOB = {"jobId": "j1", "labels": {"team": "vision"},
       "trainingInput": {"pythonModule": "m", "hyperparameters": {"params": [
           {"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}




@pytest.fixture
def created(client, auth):
    resp = client.post("/v1/projects/p/jobs", data=json.dumps(JOB),
                       content_type="application/json", **auth)
    assert resp.status_code == 200
    return resp.json()


def patch(client, auth, body, mask="labels", job="j1"):
    query = f"?updateMask={mask}" if mask is not None else ""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.patch(f"/v1/projects/p/jobs/{job}{query}", data=data,
                        content_type="application/json", **auth)


def violations(resp):
    return {v["field"]: v["description"]
            for v in resp.json()["error"]["details"][0]["fieldViolations"]}


def test_patch_replaces_the_labels_and_returns_the_job_with_a_new_etag(client, auth, created):
    resp = patch(client, auth, {"labels": {"owner": "ann", "stage": "dev"}})
    assert resp.status_code == 200
    job = resp.json()
    assert job["labels"] == {"owner": "ann", "stage": "dev"}  # replaced, not merged
    assert job["etag"] and job["etag"] != created["etag"]
    assert job["jobId"] == "j1" and job["trainingInput"] == created["trainingInput"]
    assert client.get("/v1/projects/p/jobs/j1", **auth).json() == job


def test_patch_with_the_current_etag_in_the_mask_succeeds(client, auth, created):
    resp = patch(client, auth, {"labels": {"a": "1"}, "etag": created["etag"]}, "labels,etag")
    assert resp.status_code == 200 and resp.json()["labels"] == {"a": "1"}


def test_a_stale_etag_is_409_aborted_and_changes_nothing(client, auth, created):
    assert patch(client, auth, {"labels": {"a": "1"}}).status_code == 200
    resp = patch(client, auth, {"labels": {"b": "2"}, "etag": created["etag"]}, "labels,etag")
    assert resp.status_code == 409
    err = resp.json()["error"]
    assert err["status"] == "ABORTED" and err["code"] == 409
    assert "does not match the current etag" in err["message"]
    assert "fetch the job again" in err["message"]
    assert Job.objects.get(job_id="j1").labels == {"a": "1"}


def test_an_etag_outside_the_mask_is_not_checked(client, auth, created):
    # Google's rule: the etag is compared only when updateMask names it (gcloud sends
    # updateMask=labels with no etag).
    resp = patch(client, auth, {"labels": {"a": "1"}, "etag": "c3RhbGU="})
    assert resp.status_code == 200


def test_etag_in_the_mask_needs_an_etag_in_the_body(client, auth, created):
    resp = patch(client, auth, {"labels": {"a": "1"}}, "labels,etag")
    assert resp.status_code == 400 and "etag" in violations(resp)


def test_labels_in_the_mask_but_not_in_the_body_clears_them(client, auth, created):
    resp = patch(client, auth, {})
    assert resp.status_code == 200 and "labels" not in resp.json()
    assert Job.objects.get(job_id="j1").labels == {}


def test_fields_outside_the_mask_are_ignored(client, auth, created):
    resp = patch(client, auth, {"labels": {"a": "1"}, "jobId": "other", "state": "FAILED"})
    assert resp.status_code == 200
    assert resp.json()["jobId"] == "j1" and resp.json()["state"] == "QUEUED"


@pytest.mark.parametrize(("mask", "words"), [
    (None, "updateMask is required"),
    ("", "updateMask is required"),
    ("trainingInput", "cannot update trainingInput"),
    ("labels,state", "cannot update state"),
    ("labels.team", "cannot update labels.team"),
    ("etag", "updates nothing without labels"),
])
def test_an_unsupported_or_missing_update_mask_is_a_400_naming_update_mask(
        client, auth, created, mask, words):
    resp = patch(client, auth, {"labels": {"a": "1"}}, mask)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["status"] == "INVALID_ARGUMENT" and words in err["message"]
    assert "updateMask" in violations(resp)
    assert Job.objects.get(job_id="j1").labels == {"team": "vision"}


def test_invalid_labels_are_a_400_naming_each_label(client, auth, created):
    resp = patch(client, auth, {"labels": {"Team": "x", "stage": "Dev", "n": 3}})
    assert resp.status_code == 400
    fields = violations(resp)
    assert {"labels.Team", "labels.stage", "labels.n"} <= set(fields)
    assert "lowercase" in fields["labels.Team"]
    assert Job.objects.get(job_id="j1").labels == {"team": "vision"}


def test_labels_must_be_an_object(client, auth, created):
    resp = patch(client, auth, {"labels": ["a"]})
    assert resp.status_code == 400 and "labels" in violations(resp)


def test_a_body_that_is_not_a_json_object_is_a_400(client, auth, created):
    assert patch(client, auth, "{nope").status_code == 400
    assert patch(client, auth, "[1]").status_code == 400


def test_patching_an_unknown_job_is_404(client, auth, created):
    resp = patch(client, auth, {"labels": {}}, job="missing")
    assert resp.status_code == 404 and resp.json()["error"]["status"] == "NOT_FOUND"


def test_patch_needs_a_token(client, created):
    assert patch(client, {}, {"labels": {}}).status_code == 401


def test_the_service_refuses_a_stale_etag_and_keeps_the_labels():
    job = submit_ml_job(project="p", data=JOB, owner=submitter("bob"))
    with pytest.raises(EtagMismatch):
        job_update_labels(job=job, labels={"a": "1"}, etag="bm9wZQ==")
    with pytest.raises(SpecError):
        job_update_labels(job=job, labels={"A": "1"}, etag=job.etag)
    fresh = Job.objects.get(pk=job.pk)
    assert fresh.labels == {"team": "vision"} and fresh.etag == job.etag
    updated = job_update_labels(job=job, labels={"a": "1"}, etag=job.etag)
    assert updated.labels == {"a": "1"} and updated.etag != job.etag
