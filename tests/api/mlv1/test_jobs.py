"""The REST surface with Django's test client (the e2e suite drives it with Google's client)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from hpdash.models import ApiToken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]




def post(client, auth, body, project="p"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(f"/v1/projects/{project}/jobs", data=data,
                       content_type="application/json", **auth)


JOB: dict[str, Any] = {"jobId": "j1", "trainingInput": {"pythonModule": "m", "hyperparameters": {
    "params": [{"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}


def test_tokens_are_stored_only_as_hashes():
    row, token = ApiToken.issue(User.objects.create(username="bob"))
    assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
    assert token.startswith(row.prefix)


def test_every_call_needs_a_valid_token(client, auth):
    for resp in (client.get("/v1/projects/p/jobs"),
                 client.get("/v1/projects/p/jobs", HTTP_AUTHORIZATION="Bearer nope"),
                 post(client, {}, JOB)):
        assert resp.status_code == 401
        assert resp.json()["error"]["status"] == "UNAUTHENTICATED"


def test_a_revoked_token_is_refused(client, auth):
    ApiToken.objects.update(revoked=True)
    assert client.get("/v1/projects/p/jobs", **auth).status_code == 401


def test_create_echoes_the_job_queued_with_defaults_left_unset(client, auth):
    resp = post(client, auth, JOB)
    assert resp.status_code == 200
    job = resp.json()
    assert job["jobId"] == "j1" and job["state"] == "QUEUED"
    assert job["trainingInput"]["hyperparameters"]["params"][0]["minValue"] == 1.0
    assert job["trainingOutput"] == {"isHyperparameterTuningJob": True,
                                     "hyperparameterMetricTag": "training/hptuning/metric"}
    assert "startTime" not in job and "errorMessage" not in job


def test_invalid_json_is_a_400_in_googles_envelope(client, auth):
    resp = post(client, auth, "{not json")
    assert resp.status_code == 400
    assert resp.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_validation_errors_name_every_bad_field(client, auth):
    bad = json.loads(json.dumps(JOB))
    bad["jobId"] = "1bad"
    bad["trainingInput"]["hyperparameters"]["params"][0]["minValue"] = 10
    resp = post(client, auth, bad)
    assert resp.status_code == 400
    err = resp.json()["error"]
    fields = {v["field"] for v in err["details"][0]["fieldViolations"]}
    assert {"jobId", "trainingInput.hyperparameters.params[0].minValue"} <= fields
    assert err["message"].startswith("Field: ")


def test_an_oversized_body_is_refused_cleanly(client, auth):
    big = {**JOB, "labels": {}, "trainingInput": {**JOB["trainingInput"],
                                                  "args": ["x" * 1000] * 2000}}
    resp = post(client, auth, big)
    assert resp.status_code == 400
    assert "1 MiB" in resp.json()["error"]["message"]


def test_unknown_paths_and_methods_answer_in_the_envelope(client, auth):
    assert client.get("/v1/projects/p/models", **auth).json()["error"]["status"] == "NOT_FOUND"
    resp = client.delete("/v1/projects/p/jobs/j1", **auth)
    assert resp.json()["error"]["status"] == "UNIMPLEMENTED"
    resp = client.get("/v1/projects/p/jobs/j1:explode", **auth)
    assert resp.status_code == 404


def test_a_bad_page_token_or_size_is_a_400(client, auth):
    assert client.get("/v1/projects/p/jobs?pageToken=zz", **auth).status_code == 400
    assert client.get("/v1/projects/p/jobs?pageSize=x", **auth).status_code == 400


def test_create_api_token_command_prints_a_working_token_last(client):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_api_token", "carol", stdout=out, stderr=StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    assert client.get("/v1/projects/p/jobs", HTTP_AUTHORIZATION=f"Bearer {token}").json() == {}
    assert User.objects.filter(username="carol").exists()


def test_pages_require_login(client):
    resp = client.get("/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_a_duplicate_json_key_is_a_400_naming_the_key(client, auth):
    body = ('{"jobId": "j1", "jobId": "j2", "trainingInput": '
            + json.dumps(JOB["trainingInput"]) + "}")
    resp = post(client, auth, body)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["status"] == "INVALID_ARGUMENT" and "Duplicate key 'jobId'" in err["message"]
    assert err["details"][0]["fieldViolations"][0]["field"] == "jobId"


def test_a_resumed_job_shows_what_it_took_from_the_job_it_resumes(client, auth):
    from hpdash.models import Job

    first = {"jobId": "first", "trainingInput": {"pythonModule": "m", "hyperparameters": {
        "goal": "MINIMIZE", "hyperparameterMetricTag": "loss", **JOB["trainingInput"][
            "hyperparameters"]}}}
    assert post(client, auth, first).status_code == 200
    Job.objects.filter(job_id="first").update(state="SUCCEEDED")
    resumed = {"jobId": "second", "trainingInput": {"pythonModule": "m", "hyperparameters": {
        "resumePreviousJobId": "first", "maxTrials": 3}}}
    assert post(client, auth, resumed).status_code == 200
    got = client.get("/v1/projects/p/jobs/second", **auth).json()
    listed = client.get("/v1/projects/p/jobs?filter=jobId=second", **auth).json()["jobs"][0]
    for job in (got, listed):
        hp = job["trainingInput"]["hyperparameters"]
        assert (hp["goal"], hp["hyperparameterMetricTag"], hp["maxTrials"]) == (
            "MINIMIZE", "loss", 3)
        assert [p["parameterName"] for p in hp["params"]] == ["x"]
    assert client.get("/v1/projects/p/jobs?filter=trainingInput.hyperparameters.goal=MINIMIZE",
                      **auth).json()["jobs"][0]["jobId"] == "second"


def test_a_method_a_path_lacks_is_unimplemented_but_only_to_a_caller_with_a_token(client, auth):
    assert client.delete("/v1/projects/p/jobs/j1").status_code == 401
    assert client.delete("/v1/projects/p/jobs/j1", **auth).status_code == 501


def test_a_package_under_proc_and_a_7_mb_body_get_the_400_envelope(client, auth, settings):
    from dataclasses import replace

    settings.HPDASH = replace(settings.HPDASH, allowed_paths=("/",))
    body = json.loads(json.dumps(JOB))
    body["trainingInput"]["packageUris"] = ["/proc/1/root/etc"]
    resp = post(client, auth, body)
    assert resp.status_code == 400, resp.content
    err = resp.json()["error"]
    assert err["status"] == "INVALID_ARGUMENT"
    assert err["details"][0]["fieldViolations"][0]["field"] == "trainingInput.packageUris[0]"
    body["trainingInput"]["packageUris"] = []
    body["trainingInput"]["args"] = ["x" * 1024] * 7 * 1024  # 7 MB
    resp = post(client, auth, body)
    assert resp.status_code == 400 and resp.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "larger than" in resp.json()["error"]["message"]


def test_a_python_version_the_server_does_not_offer_is_a_400_listing_what_it_offers(
        client, auth, settings):
    from dataclasses import replace
    settings.HPDASH = replace(settings.HPDASH, pythons=(("3.11", "/usr/bin/python3.11"),
                                                        ("3.12", "/opt/py/bin/python3.12")))
    bad = json.loads(json.dumps(JOB))
    bad["trainingInput"].update(pythonVersion="2.7", runtimeVersion="1.15")
    resp = post(client, auth, bad)
    assert resp.status_code == 400
    violation = resp.json()["error"]["details"][0]["fieldViolations"][0]
    assert violation["field"] == "trainingInput.pythonVersion"
    assert "'2.7'" in violation["description"] and "3.11, 3.12" in violation["description"]
    good = json.loads(json.dumps(JOB))
    good["trainingInput"].update(pythonVersion="3.12", runtimeVersion="1.15")
    resp = post(client, auth, good)
    assert resp.status_code == 200, resp.json()
    assert resp.json()["trainingInput"]["pythonVersion"] == "3.12"
