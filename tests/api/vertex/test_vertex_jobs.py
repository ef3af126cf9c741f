"""The Vertex AI front door with Django's test client (the e2e suite drives it with the
unchanged google-cloud-aiplatform SDK)."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from hpdash.core.states import JobState
from hpdash.models import Job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]

BASE = "/v1/projects/p/locations/us-central1"
TUNING = f"{BASE}/hyperparameterTuningJobs"
CUSTOM = f"{BASE}/customJobs"


def pool(package: str) -> dict[str, Any]:
    # As the SDK sends it: enums as numbers, int64 as strings, zeros left out.
    return {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1",
            "pythonPackageSpec": {"executorImageUri": "us-docker.pkg.dev/x/y:latest",
                                  "packageUris": [package], "pythonModule": "trainer.task",
                                  "args": ["--steps=3"], "env": [{"name": "A", "value": "b"}]}}


def tuning_body(package: str) -> dict[str, Any]:
    return {
        "displayName": "tune-1", "labels": {"team": "ml"},
        "studySpec": {
            "metrics": [{"metricId": "accuracy", "goal": 1}],
            "parameters": [
                {"parameterId": "lr", "doubleValueSpec": {"minValue": 1e-4, "maxValue": 0.1},
                 "scaleType": 2},
                {"parameterId": "layers", "integerValueSpec": {"maxValue": "4"},
                 "scaleType": 1},
                {"parameterId": "opt", "categoricalValueSpec": {"values": ["sgd", "adam"],
                                                                "defaultValue": "sgd"}},
                {"parameterId": "units", "discreteValueSpec": {"values": [16, 32, 64]}}],
            "algorithm": 3, "measurementSelectionType": 2},
        "maxTrialCount": 4, "parallelTrialCount": 2,
        "trialJobSpec": {"workerPoolSpecs": [pool(package)],
                         "scheduling": {"timeout": "600s"}},
    }


def post(client, auth, url, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url + "?%24alt=json%3Benum-encoding%3Dint", data=data,
                       content_type="application/json", **auth)


def test_create_answers_the_job_with_a_numeric_name_and_enum_names(client, vauth, package):
    resp = post(client, vauth, TUNING, tuning_body(package))
    assert resp.status_code == 200, resp.content
    job = resp.json()
    prefix, job_id = job["name"].rsplit("/", 1)
    assert prefix == TUNING[len("/v1/"):] and job_id.isdigit()
    assert job["state"] == "JOB_STATE_QUEUED" and job["labels"] == {"team": "ml"}
    assert job["studySpec"]["algorithm"] == "RANDOM_SEARCH"
    assert job["studySpec"]["metrics"] == [{"metricId": "accuracy", "goal": "MAXIMIZE"}]
    row = Job.objects.get(job_id=job_id)
    hp = row.spec
    assert row.family == "vertex" and hp.metric_tag == "accuracy"
    assert hp.param("layers").min_value == 0  # proto3 left the 0 out
    assert hp.param("lr").scale_type == "UNIT_LOG_SCALE"
    assert hp.measurement_selection == "BEST"
    assert row.definition.contract == "vertex" and row.definition.max_running_seconds == 600
    assert row.definition.env == (("A", "b"),)


def test_get_list_and_filter(client, vauth, package):
    first = post(client, vauth, TUNING, tuning_body(package)).json()
    other = tuning_body(package)
    other["displayName"] = "other"
    second = post(client, vauth, TUNING, other).json()
    got = client.get(f"/v1/{first['name']}", **vauth).json()
    assert got["name"] == first["name"] and got.get("trials", []) == []
    listed = client.get(TUNING, **vauth).json()["hyperparameterTuningJobs"]
    assert [j["name"] for j in listed] == [second["name"], first["name"]]  # newest first
    only = client.get(TUNING, {"filter": 'display_name="other"'}, **vauth).json()
    assert [j["name"] for j in only["hyperparameterTuningJobs"]] == [second["name"]]
    by_label = client.get(TUNING, {"filter": "labels.team=ml AND state=JOB_STATE_QUEUED"},
                          **vauth).json()
    assert len(by_label["hyperparameterTuningJobs"]) == 2
    since = client.get(TUNING, {"filter": f'create_time>="{first["createTime"]}" AND '
                                          'labels.team:*'}, **vauth).json()
    assert len(since["hyperparameterTuningJobs"]) == 2
    later = client.get(TUNING, {"filter": f'create_time>"{second["createTime"]}"'}, **vauth)
    assert later.json() == {}
    page = client.get(TUNING, {"pageSize": "1"}, **vauth).json()
    rest = client.get(TUNING, {"pageSize": "1", "pageToken": page["nextPageToken"]},
                      **vauth).json()
    assert [j["name"] for j in rest["hyperparameterTuningJobs"]] == [first["name"]]
    bad = client.get(TUNING, {"filter": "state=RUNNING"}, **vauth)
    assert bad.status_code == 400 and "JOB_STATE_RUNNING" in bad.json()["error"]["message"]
    assert client.get(CUSTOM, **vauth).json() == {}


def test_a_malformed_create_is_a_400_naming_the_vertex_fields(client, vauth, package):
    body = tuning_body(package)
    body["parallelTrialCount"] = 0
    body["studySpec"]["parameters"][0]["doubleValueSpec"]["minValue"] = 0
    body["studySpec"]["metrics"].append({"metricId": "latency"})  # a second one needs a goal
    body["trialJobSpec"]["workerPoolSpecs"].append(pool(package))
    resp = post(client, vauth, TUNING, body)
    assert resp.status_code == 400
    fields = {v["field"] for v in resp.json()["error"]["details"][0]["fieldViolations"]}
    assert fields == {"parallelTrialCount", "studySpec.parameters[0].doubleValueSpec.minValue",
                      "studySpec.metrics[1].goal", "trialJobSpec.workerPoolSpecs[1]"}


def test_what_cannot_run_here_is_refused_by_name(client, vauth, package):
    body = tuning_body(package)
    body["trialJobSpec"]["baseOutputDirectory"] = {"outputUriPrefix": "gs://b/out"}
    resp = post(client, vauth, TUNING, body)
    assert resp.status_code == 400
    text = {v["field"]: v["description"]
            for v in resp.json()["error"]["details"][0]["fieldViolations"]}
    assert "base_output_dir" in text["trialJobSpec.baseOutputDirectory.outputUriPrefix"]
    # An image job is accepted only when some worker machine has the image (none has this).
    body = tuning_body(package)
    spec = body["trialJobSpec"]["workerPoolSpecs"][0]
    spec["containerSpec"] = {"imageUri": "gcr.io/p/t:v1"}
    del spec["pythonPackageSpec"]
    resp = post(client, vauth, TUNING, body)
    assert resp.status_code == 400
    text = {v["field"]: v["description"]
            for v in resp.json()["error"]["details"][0]["fieldViolations"]}
    assert "gcr.io/p/t:v1" in text["trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri"] or (
        "no worker can run containers" in text[
            "trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri"])


def test_a_missing_package_is_named_by_its_vertex_path(client, vauth, tmp_path):
    resp = post(client, vauth, TUNING, tuning_body(str(tmp_path / "nope.tar.gz")))
    assert resp.status_code == 400
    [violation] = resp.json()["error"]["details"][0]["fieldViolations"]
    assert violation["field"] == (
        "trialJobSpec.workerPoolSpecs[0].pythonPackageSpec.packageUris[0]")


def test_each_family_answers_only_for_its_own_jobs_but_ml_v1_lists_every_job(
        client, vauth, package):
    vertex = post(client, vauth, TUNING, tuning_body(package)).json()
    job_id = vertex["name"].rsplit("/", 1)[1]
    assert client.get(f"{CUSTOM}/{job_id}", **vauth).status_code == 404
    assert client.get(f"/v1/projects/p/locations/europe-west4/hyperparameterTuningJobs/"
                      f"{job_id}", **vauth).status_code == 404
    ml = client.get(f"/v1/projects/p/jobs/{job_id}", **vauth).json()
    assert ml["jobId"] == job_id and ml["trainingInput"]["pythonModule"] == "trainer.task"
    assert ml["trainingInput"]["hyperparameters"]["hyperparameterMetricTag"] == "accuracy"
    ml_job = {"jobId": "mine", "trainingInput": {"pythonModule": "m", "hyperparameters": {
        "params": [{"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}
    assert client.post("/v1/projects/p/jobs", data=json.dumps(ml_job),
                       content_type="application/json", **vauth).status_code == 200
    resp = client.get(f"{TUNING}/mine", **vauth)
    assert resp.status_code == 404 and "ml v1" in resp.json()["error"]["message"]
    ids = [j["jobId"] for j in client.get("/v1/projects/p/jobs", **vauth).json()["jobs"]]
    assert ids == ["mine", job_id]


def test_cancel_answers_empty_and_delete_answers_a_done_operation(client, vauth, package):
    job = post(client, vauth, CUSTOM, {"displayName": "once", "jobSpec": {
        "workerPoolSpecs": [pool(package)]}}).json()
    url = f"/v1/{job['name']}"
    busy = client.delete(url, **vauth)
    assert busy.status_code == 400 and "cancel it first" in busy.json()["error"]["message"]
    assert client.post(f"{url}:cancel", **vauth).json() == {}
    cancelled = client.get(url, **vauth).json()
    assert cancelled["state"] == "JOB_STATE_CANCELLED" and cancelled["error"]["code"] == 1
    op = client.delete(url, **vauth).json()
    assert op["done"] is True and op["name"].startswith(job["name"] + "/operations/")
    assert op["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert client.get(url, **vauth).status_code == 404
    assert not Job.objects.filter(state=JobState.CANCELLED).exists()


def test_a_custom_job_is_one_trial_without_parameters(client, vauth, package):
    body = {"displayName": "once", "jobSpec": {"workerPoolSpecs": [pool(package)]}}
    job = post(client, vauth, CUSTOM, body).json()
    row = Job.objects.get(job_id=job["name"].rsplit("/", 1)[1])
    assert row.max_trials == 1 and row.spec.params == ()
    assert "trials" not in job and job["jobSpec"]["workerPoolSpecs"][0]["replicaCount"] == "1"


def test_a_body_that_is_not_an_object_is_a_400(client, vauth):
    for body in ("[1]", "{bad"):
        resp = post(client, vauth, TUNING, body)
        assert resp.status_code == 400, body


def test_vertex_calls_need_a_token(client, package):
    assert client.get(TUNING).status_code == 401
    assert post(client, {}, TUNING, tuning_body(package)).status_code == 401


def test_a_copy_of_a_job_read_back_can_be_sent_again(client, vauth, package):
    job = post(client, vauth, TUNING, tuning_body(package)).json()
    again = copy.deepcopy(job)  # output-only fields (name, state, times) are ignored
    assert post(client, vauth, TUNING, again).status_code == 200


def test_the_dashboard_shows_a_vertex_job_with_its_trials(client, vauth, package,
                                                         django_user_model):
    from hpdash.services.scheduling import job_advance

    job = post(client, vauth, TUNING, tuning_body(package)).json()
    job_id = job["name"].rsplit("/", 1)[1]
    job_advance(Job.objects.get(job_id=job_id).pk)  # two trials queued
    client.force_login(django_user_model.objects.create_superuser("root", "r@x.org", "pw"))
    page = client.get(f"/projects/p/jobs/{job_id}/")
    assert page.status_code == 200
    assert "studySpec" in page.content.decode()  # the request as sent
    assert job_id in client.get("/").content.decode()
    trial = client.get(f"/projects/p/jobs/{job_id}/trials/1/")
    assert trial.status_code == 200


def test_the_first_trial_takes_the_default_values_when_every_parameter_has_one(
        client, vauth, package):
    from hpdash.services.scheduling import job_advance

    body = tuning_body(package)
    defaults = {"lr": 0.01, "layers": "3", "opt": "adam", "units": 32}
    for param in body["studySpec"]["parameters"]:
        spec = next(v for k, v in param.items() if k.endswith("ValueSpec"))
        spec["defaultValue"] = defaults[param["parameterId"]]
    job = post(client, vauth, TUNING, body).json()
    row = Job.objects.get(job_id=job["name"].rsplit("/", 1)[1])
    job_advance(row.pk)
    first, second = row.trials.order_by("trial_id")
    assert first.params == {"lr": 0.01, "layers": 3, "opt": "adam", "units": 32.0}
    assert second.params != first.params
    # One parameter without a default: the algorithm chooses every value.
    del body["studySpec"]["parameters"][0]["doubleValueSpec"]["defaultValue"]
    other = Job.objects.get(job_id=post(client, vauth, TUNING, body).json()["name"]
                            .rsplit("/", 1)[1])
    job_advance(other.pk)
    assert other.trials.get(trial_id=1).params["lr"] != 0.01


def test_with_a_gcs_root_gs_locations_are_its_local_mirror_and_echo_as_sent(
        client, vauth, tmp_path, settings):
    """The SDK's default output directory (gs://<staging bucket>/aiplatform-custom-job-<time>)
    and gs:// packages work when the server mirrors Cloud Storage (HPDASH_GCS_ROOT)."""
    import dataclasses

    (tmp_path / "my-bucket").mkdir()
    (tmp_path / "my-bucket" / "t-0.1.tar.gz").write_bytes(b"sdist")
    body = tuning_body("gs://my-bucket/t-0.1.tar.gz")
    base = "gs://my-bucket/aiplatform-custom-job-2026-12-06-14:18:11.705"
    body["trialJobSpec"]["baseOutputDirectory"] = {"outputUriPrefix": base}
    refused = post(client, vauth, TUNING, body)
    assert refused.status_code == 400 and "gs://" in refused.json()["error"]["message"]
    settings.HPDASH = dataclasses.replace(settings.HPDASH, gcs_root=str(tmp_path))
    job = post(client, vauth, TUNING, body).json()
    spec = job["trialJobSpec"]
    assert spec["baseOutputDirectory"]["outputUriPrefix"] == base
    assert spec["workerPoolSpecs"][0]["pythonPackageSpec"]["packageUris"] == [
        "gs://my-bucket/t-0.1.tar.gz"]
    definition = Job.objects.get(job_id=job["name"].rsplit("/", 1)[1]).definition
    assert definition.job_dir == f"{tmp_path}/my-bucket/{base.rsplit('/', 1)[1]}"
    assert definition.package
    assert definition.package.package_uris == (f"{tmp_path}/my-bucket/t-0.1.tar.gz",)
    missing = tuning_body("gs://my-bucket/nope.tar.gz")
    resp = post(client, vauth, TUNING, missing)
    assert resp.status_code == 400 and "does not exist" in resp.json()["error"]["message"]


def test_delete_removes_the_files_hpdash_kept_for_the_job_but_not_its_outputs(
        client, vauth, package, settings):
    from hpdash.core.layout import DataLayout
    from hpdash.models import JobPackage

    layout = DataLayout(Path(settings.DATA_DIR))
    body = {"displayName": "once", "jobSpec": {"workerPoolSpecs": [pool(package)]}}
    first, second = (post(client, vauth, CUSTOM, body).json() for _ in range(2))
    sha = JobPackage.objects.get(job__job_id=first["name"].rsplit("/", 1)[1]).sha256
    blob = layout.package_store / "blobs" / sha
    os.utime(blob, (time.time() - 3600,) * 2)  # stored an hour ago
    for job in (first, second):
        job_id = job["name"].rsplit("/", 1)[1]
        log = layout.trial_log("p", job_id, 1)
        log.parent.mkdir(parents=True)
        log.write_text("a trial's log\n")
        layout.sandbox_trial("p", job_id, 1).mkdir(parents=True)
        layout.sandbox_outputs("p", job_id, 1).mkdir(parents=True)
        (layout.sandbox_outputs("p", job_id, 1) / "model.bin").write_text("weights")
        url = f"/v1/{job['name']}"
        client.post(f"{url}:cancel", **vauth)
        assert client.delete(url, **vauth).json()["done"] is True
        assert not layout.job_dir("p", job_id).exists()
        assert not layout.sandbox_trial("p", job_id, 1).exists()
        assert (layout.sandbox_outputs("p", job_id, 1) / "model.bin").read_text() == "weights"
        assert blob.exists() == (job is first)  # the second job still used it
