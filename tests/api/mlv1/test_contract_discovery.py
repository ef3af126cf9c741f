"""Every field hpdash emits is in Google's ml v1 discovery document, with its documented JSON
type (proto3 JSON: int64 as a string, google-datetime as RFC 3339, enums by name)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import googleapiclient
import pytest
from django.utils import timezone

from hpdash.core.states import JobState, TrialState
from hpdash.models import GpuHost, Job, Trial

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]

DISCOVERY = json.loads((Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
                        / "ml.v1.json").read_text())
SCHEMAS: dict[str, Any] = DISCOVERY["schemas"]
JOBS_METHODS = DISCOVERY["resources"]["projects"]["resources"]["jobs"]["methods"]

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")
_INT64 = re.compile(r"-?\d+")
_DURATION = re.compile(r"-?\d+(\.\d{1,9})?s")


def schema_errors(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Where ``value`` is not what ``schema`` (a discovery-document schema) documents."""
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"]]
    kind = schema.get("type")
    fmt = schema.get("format")
    bad = [f"{path}: expected {kind}{f' ({fmt})' if fmt else ''}, got {value!r}"]
    if kind == "object":
        if not isinstance(value, dict):
            return bad
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        errors = []
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], f"{path}.{key}")
            elif extra is not None:
                errors += schema_errors(item, extra, f"{path}[{key!r}]")
            else:
                errors.append(f"{path}.{key}: not a field of {schema.get('id', 'this object')}")
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return bad
        errors = []
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
        return errors
    if kind == "boolean":
        return [] if isinstance(value, bool) else bad
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return bad
        return [] if fmt != "int32" or -2**31 <= value < 2**31 else bad
    if kind == "number":
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else bad
    if kind == "string":
        if not isinstance(value, str):
            return bad
        if "enum" in schema and value not in schema["enum"]:
            return [f"{path}: {value!r} is not one of {schema['enum']}"]
        if fmt in ("int64", "uint64") and not _INT64.fullmatch(value):
            return bad
        if fmt == "google-datetime":
            if not _RFC3339.fullmatch(value):
                return bad
            dt.datetime.fromisoformat(value)  # a real date and time
        if fmt == "google-duration" and not _DURATION.fullmatch(value):
            return bad
        if fmt == "byte":
            try:
                base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
            except binascii.Error:
                return bad
        return []
    if kind == "any":
        return []
    raise AssertionError(f"{path}: the test does not know discovery type {kind!r}")


def assert_matches(value: Any, schema_id: str) -> None:
    errors = schema_errors(value, {"$ref": schema_id}, schema_id)
    assert not errors, "\n".join(errors)


# --- a rich job, through the API




def rich_job(tmp_path: Path, job_id: str) -> dict[str, Any]:
    package = tmp_path / "trainer"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").touch()
    replica = {"acceleratorConfig": {"count": "2", "type": "NVIDIA_TESLA_T4"},
               "containerArgs": ["--x"],
               "containerCommand": ["python"],
               "diskConfig": {"bootDiskSizeGb": 100, "bootDiskType": "pd-ssd"},
               "tpuTfVersion": "2.11"}
    return {
        "jobId": job_id,
        "labels": {"team": "vision", "stage": "dev-1"},
        "trainingInput": {
            "scaleTier": "CUSTOM", "masterType": "n1-highmem-8", "masterConfig": replica,
            "workerType": "n1-standard-4", "workerCount": 3,
            "workerConfig": {"acceleratorConfig": {"count": 1, "type": "NVIDIA_TESLA_K80"}},
            "parameterServerType": "n1-standard-2", "parameterServerCount": "1",
            "evaluatorType": "n1-standard-2", "evaluatorCount": 1,
            "region": "us-central1", "runtimeVersion": "2.11", "pythonVersion": "3.7",
            "scheduling": {"maxRunningTime": "3600s", "maxWaitTime": "1.5s", "priority": 5},
            "serviceAccount": "sa@example.com", "network": "default",
            "encryptionConfig": {"kmsKeyName": "k"}, "enableWebAccess": True,
            "useChiefInTfConfig": False,
            "pythonModule": "trainer.task", "packageUris": [str(package)],
            "args": ["--epochs=3"], "jobDir": str(tmp_path / "out"),
            "hyperparameters": {
                "goal": "MINIMIZE", "hyperparameterMetricTag": "loss", "maxTrials": 10,
                "maxParallelTrials": 3, "maxFailedTrials": 4, "enableTrialEarlyStopping": True,
                "algorithm": "RANDOM_SEARCH",
                "params": [
                    {"parameterName": "units", "type": "INTEGER", "minValue": 8,
                     "maxValue": 128, "scaleType": "UNIT_LOG_SCALE"},
                    {"parameterName": "lr", "type": "DOUBLE", "minValue": 0.0001,
                     "maxValue": 0.1, "scaleType": "UNIT_REVERSE_LOG_SCALE"},
                    {"parameterName": "batch", "type": "DISCRETE",
                     "discreteValues": [16, 32, 64.5]},
                    {"parameterName": "act", "type": "CATEGORICAL",
                     "categoricalValues": ["relu", "tanh"]},
                ],
            },
        },
    }


@pytest.fixture
def jobs(client, auth, tmp_path):
    """A running job with trials in every state, a succeeded one and a fresh queued one."""
    GpuHost.objects.create(name="gpu-box", devices=["0", "1"])  # the 2 GPUs masterConfig asks
    for job_id in ("rich", "done", "fresh"):
        resp = client.post("/v1/projects/p/jobs", data=json.dumps(rich_job(tmp_path, job_id)),
                           content_type="application/json", **auth)
        assert resp.status_code == 200, resp.json()
    now = timezone.now()
    Job.objects.filter(job_id="rich").update(
        state=JobState.RUNNING, start_time=now, error_message="trial 3: exit code 3")
    Job.objects.filter(job_id="done").update(
        state=JobState.SUCCEEDED, start_time=now, end_time=now + dt.timedelta(seconds=5))
    params = {"units": 40, "lr": 0.0031622776601683794, "batch": 64.5, "act": "relu"}
    for row in Job.objects.filter(job_id__in=("rich", "done")):
        Trial.objects.bulk_create([
            Trial(job=row, trial_id=1, state=TrialState.SUCCEEDED, params=params, final_value=0.25,
                  final_step=1007, start_time=now, end_time=now),
            Trial(job=row, trial_id=2, state=TrialState.SUCCEEDED, params={**params, "batch": 16.0},
                  final_value=0.5, final_step=3, is_stopped_early=True, start_time=now,
                  end_time=now),
            Trial(job=row, trial_id=3, state=TrialState.FAILED, params=params, final_value=9.0,
                  final_step=1, failure_reason="exit code 3", start_time=now, end_time=now),
            Trial(job=row, trial_id=4, state=TrialState.RUNNING, params=params, final_value=0.1,
                  final_step=2, start_time=now),
            Trial(job=row, trial_id=5, state=TrialState.QUEUED, params=params),
            Trial(job=row, trial_id=6, state=TrialState.CANCELLED, params=params, end_time=now),
        ])


def test_get_emits_only_documented_fields_with_documented_types(client, auth, jobs):
    for job_id in ("rich", "done", "fresh"):
        job = client.get(f"/v1/projects/p/jobs/{job_id}", **auth).json()
        assert_matches(job, "GoogleCloudMlV1__Job")
    rich = client.get("/v1/projects/p/jobs/rich", **auth).json()
    # The walk above really covered the interesting parts.
    trials = rich["trainingOutput"]["trials"]
    assert {t["state"] for t in trials} == {"SUCCEEDED", "FAILED", "RUNNING", "QUEUED",
                                            "CANCELLED"}
    assert trials[0]["finalMetric"] == {"trainingStep": "1007", "objectiveValue": 0.25}
    assert trials[1]["isTrialStoppedEarly"] is True
    assert rich["trainingInput"]["workerCount"] == "3"
    assert rich["trainingInput"]["masterConfig"]["acceleratorConfig"]["count"] == "2"
    assert rich["trainingOutput"]["completedTrialCount"] == "2"


def test_list_emits_only_documented_fields_with_documented_types(client, auth, jobs):
    body = client.get("/v1/projects/p/jobs", {"pageSize": 2}, **auth).json()
    assert len(body["jobs"]) == 2 and body["nextPageToken"]
    assert_matches(body, "GoogleCloudMlV1__ListJobsResponse")
    body = client.get("/v1/projects/p/jobs", {"filter": "labels.team=vision"}, **auth).json()
    assert len(body["jobs"]) == 3
    assert_matches(body, "GoogleCloudMlV1__ListJobsResponse")


def test_patch_answers_a_documented_job(client, auth, jobs):
    resp = client.patch("/v1/projects/p/jobs/rich?updateMask=labels",
                        data=json.dumps({"labels": {"owner": "ann"}}),
                        content_type="application/json", **auth)
    assert resp.status_code == 200
    assert_matches(resp.json(), "GoogleCloudMlV1__Job")


def test_errors_follow_the_documented_status_shape(client, auth):
    err = client.get("/v1/projects/p/jobs", {"filter": "nope"}, **auth).json()["error"]
    # "status" (the code's name) is part of Google's JSON error envelope (AIP-193), not of
    # google.rpc.Status itself.
    assert err.pop("status") == "INVALID_ARGUMENT"
    assert_matches(err, "GoogleRpc__Status")
    assert err["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"


def test_the_requests_googles_client_builds_reach_the_right_handlers(client, auth, jobs):
    """The HTTP method and path of each method as the discovery document gives them (the
    client expands ``{+name}`` and sends query parameters URL-encoded)."""
    def call(method: str, name: str, query: str = "", body: Any = None) -> Any:
        spec = JOBS_METHODS[method]
        path = "/" + spec["path"].replace("{+name}", name).replace("{+parent}", name)
        data = json.dumps(body) if body is not None else ""
        resp = client.generic(spec["httpMethod"], path + query, data=data,
                              content_type="application/json", **auth)
        assert resp.status_code == 200, (method, resp.json())
        return resp.json()

    job = call("get", "projects/p/jobs/rich")
    assert call("list", "projects/p", "?pageSize=1&filter=jobId%3Ari%2A")["jobs"][0]["jobId"] \
        == "rich"
    patched = call("patch", "projects/p/jobs/rich", "?updateMask=labels%2Cetag&alt=json",
                   {"labels": {"a": "b"}, "etag": job["etag"]})
    assert patched["labels"] == {"a": "b"}
    assert call("cancel", "projects/p/jobs/rich", "", {}) == {}


# --- the checker itself catches what it should


@pytest.mark.parametrize(("value", "words"), [
    ({"trainingOutput": {"completedTrialCount": 3}}, "completedTrialCount: expected string"),
    ({"createTime": "2024-05-01 10:00:00"}, "createTime: expected string (google-datetime)"),
    ({"state": "DONE"}, "is not one of"),
    ({"trainingOutput": {"trials": [{"trialID": "1"}]}}, "trialID: not a field"),
    ({"labels": {"a": 1}}, "labels['a']: expected string"),
    ({"trainingInput": {"hyperparameters": {"maxTrials": "3"}}}, "maxTrials: expected integer"),
    ({"trainingInput": {"scheduling": {"maxRunningTime": "1h"}}}, "google-duration"),
    ({"trainingOutput": {"isHyperparameterTuningJob": 1}}, "expected boolean"),
])
def test_the_schema_check_reports_mismatches(value, words):
    errors = schema_errors(value, {"$ref": "GoogleCloudMlV1__Job"}, "job")
    assert any(words in e for e in errors), errors


def test_a_job_created_through_vertex_reads_as_a_documented_ml_v1_job(client, vauth, package):
    """ml v1 (the CLI's `jobs list`, gcloud-era scripts) lists and reads every job: one
    created through the Vertex front door too, in ml v1's documented fields only."""
    body = {"displayName": "v", "maxTrialCount": 2, "parallelTrialCount": 1,
            "studySpec": {"metrics": [{"metricId": "acc", "goal": 2}], "parameters": [
                {"parameterId": "lr", "doubleValueSpec": {"maxValue": 0.5}, "scaleType": 1},
                {"parameterId": "opt", "categoricalValueSpec": {"values": ["a", "b"]}}]},
            "trialJobSpec": {"workerPoolSpecs": [{"replicaCount": "1", "pythonPackageSpec": {
                "packageUris": [package], "pythonModule": "trainer.task"}}],
                "scheduling": {"timeout": "1800s"}}}
    created = client.post("/v1/projects/p/locations/us-central1/hyperparameterTuningJobs",
                          data=json.dumps(body), content_type="application/json", **vauth)
    job_id = created.json()["name"].rsplit("/", 1)[1]
    job = client.get(f"/v1/projects/p/jobs/{job_id}", **vauth).json()
    assert_matches(job, "GoogleCloudMlV1__Job")
    hp = job["trainingInput"]["hyperparameters"]
    assert hp["goal"] == "MINIMIZE" and hp["params"][0]["minValue"] == 0
    assert job["trainingInput"]["scheduling"] == {"maxRunningTime": "1800s"}
    assert_matches(client.get("/v1/projects/p/jobs", **vauth).json(),
                   "GoogleCloudMlV1__ListJobsResponse")
