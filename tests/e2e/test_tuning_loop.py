"""The tuning loop end to end, driven through Google's own ml v1 client against `manage.py
serve` (embedded Redis, 3 RQ worker processes, gunicorn, real trainer subprocesses)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from googleapiclient.errors import HttpError
from harness import QUADRATIC, Stack, trainer_job, wait_for_state

pytestmark = pytest.mark.e2e

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

def test_a_tuning_job_finishes_with_every_trial_in_ml_v1_shape_best_first(stack: Stack):
    ml = stack.ml()
    job_dir = stack.out_dir / "shapes"
    body = trainer_job("shapes_1", "e2etrainer.quadratic", QUADRATIC, job_dir=str(job_dir))
    body["labels"] = {"team": "vision"}
    body["trainingInput"].update(scaleTier="CUSTOM", masterType="complex_model_m",
                                 workerType="complex_model_m", workerCount="9")
    created = ml.projects().jobs().create(parent="projects/demo", body=body).execute()
    assert created["jobId"] == "shapes_1" and created["state"] == "QUEUED"
    assert RFC3339.match(created["createTime"])

    job = wait_for_state(ml, "projects/demo/jobs/shapes_1")
    assert job["state"] == "SUCCEEDED", job
    assert job["labels"] == {"team": "vision"}
    ti = job["trainingInput"]
    assert ti["masterType"] == "complex_model_m" and ti["workerCount"] == "9"
    out = job["trainingOutput"]
    assert out["isHyperparameterTuningJob"] is True
    assert out["hyperparameterMetricTag"] == "score"
    assert out["completedTrialCount"] == "6"
    trials = out["trials"]
    assert sorted(t["trialId"] for t in trials) == ["1", "2", "3", "4", "5", "6"]
    values = [t["finalMetric"]["objectiveValue"] for t in trials]
    assert values == sorted(values, reverse=True), "trials are listed best first"
    for t in trials:
        assert t["state"] == "SUCCEEDED"
        assert t["finalMetric"]["trainingStep"] == "30"  # the last report, an int64 string
        assert set(t["hyperparameters"]) == {"x", "y"}
        assert all(isinstance(v, str) for v in t["hyperparameters"].values())
        x, y = (float(t["hyperparameters"][k]) for k in ("x", "y"))
        assert t["finalMetric"]["objectiveValue"] == pytest.approx(
            -((x - 0.3) ** 2) - (y - 0.7) ** 2)
        assert RFC3339.match(t["startTime"]) and RFC3339.match(t["endTime"])
        assert "isTrialStoppedEarly" not in t  # unset fields are omitted
    for k in ("createTime", "startTime", "endTime"):
        assert RFC3339.match(job[k])
    assert "errorMessage" not in job

    # What the trainer saw: AI Platform's environment, --job-dir scoped per trial.
    run = json.loads((job_dir / "3" / "run.json").read_text())
    tf_config = json.loads(run["env"]["TF_CONFIG"])
    assert tf_config["task"]["trial"] == "3" and tf_config["task"]["type"] == "master"
    assert run["env"]["CLOUD_ML_TRIAL_ID"] == "3"
    assert run["env"]["CLOUD_ML_JOB_ID"] == "shapes_1"
    assert run["env"]["CLOUD_ML_HP_METRIC_TAG"] == "score"


def test_parallel_trials_overlap_but_never_exceed_max_parallel_trials(stack: Stack):
    ml = stack.ml()
    job_dir = stack.out_dir / "parallel"
    hyper = {**QUADRATIC, "maxTrials": 6, "maxParallelTrials": 2, "algorithm": "RANDOM_SEARCH"}
    body = trainer_job("parallel_1", "e2etrainer.quadratic", hyper, args=["--sleep=1.5"],
                       job_dir=str(job_dir))
    ml.projects().jobs().create(parent="projects/demo", body=body).execute()
    job = wait_for_state(ml, "projects/demo/jobs/parallel_1")
    assert job["state"] == "SUCCEEDED", job
    spans = [json.loads((job_dir / str(i) / "run.json").read_text()) for i in range(1, 7)]
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2, f"expected 2 trials at once (3 workers, maxParallelTrials 2), saw {peak}"


def test_more_workers_than_parallel_slots_never_start_more_than_max_trials(stack: Stack):
    ml = stack.ml()
    hyper = {**QUADRATIC, "maxTrials": 7, "maxParallelTrials": 3}
    body = trainer_job("race_1", "e2etrainer.quadratic", hyper, args=["--sleep=0.2"])
    ml.projects().jobs().create(parent="projects/demo", body=body).execute()
    job = wait_for_state(ml, "projects/demo/jobs/race_1")
    assert job["state"] == "SUCCEEDED", job
    ids = sorted(int(t["trialId"]) for t in job["trainingOutput"]["trials"])
    assert ids == list(range(1, 8))
    points = {tuple(sorted(t["hyperparameters"].items())) for t in job["trainingOutput"]["trials"]}
    assert len(points) == 7, "parallel suggestions differ"


def test_a_grid_search_job_ends_when_the_grid_is_exhausted(stack: Stack):
    ml = stack.ml()
    hyper = {
        "goal": "MINIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 50,
        "maxParallelTrials": 3, "algorithm": "GRID_SEARCH",
        "params": [
            {"parameterName": "x", "type": "DISCRETE", "discreteValues": [0.1, 0.3, 0.6]},
            {"parameterName": "y", "type": "CATEGORICAL", "categoricalValues": ["0.2", "0.7"]},
        ],
    }
    ml.projects().jobs().create(parent="projects/demo", body=trainer_job(
        "grid_1", "e2etrainer.quadratic", hyper)).execute()
    job = wait_for_state(ml, "projects/demo/jobs/grid_1")
    assert job["state"] == "SUCCEEDED"
    trials = job["trainingOutput"]["trials"]
    assert sorted((t["hyperparameters"]["x"], t["hyperparameters"]["y"]) for t in trials) == [
        (x, y) for x in ("0.1", "0.3", "0.6") for y in ("0.2", "0.7")]
    best = trials[0]["hyperparameters"]
    assert (best["x"], best["y"]) == ("0.6", "0.2")  # MINIMIZE: lowest score first


def test_a_trial_that_never_reports_fails_with_that_reason_and_fails_the_job(stack: Stack):
    ml = stack.ml()
    hyper = {**QUADRATIC, "maxTrials": 3, "maxParallelTrials": 1}
    ml.projects().jobs().create(parent="projects/demo", body=trainer_job(
        "silent_1", "e2etrainer.silent", hyper)).execute()
    job = wait_for_state(ml, "projects/demo/jobs/silent_1")
    assert job["state"] == "FAILED"
    assert 'no metric "score" reported' in job["errorMessage"]
    assert [t["state"] for t in job["trainingOutput"]["trials"]] == ["FAILED"]
    assert "finalMetric" not in job["trainingOutput"]["trials"][0]
    log = (stack.data_dir / "jobs" / "demo" / "silent_1" / "trials" / "1" / "trainer.log")
    assert "forgot to report" in log.read_text()


def test_a_crashing_trainer_fails_the_job_with_its_exit_code(stack: Stack):
    ml = stack.ml()
    hyper = {**QUADRATIC, "maxTrials": 2, "maxParallelTrials": 1}
    ml.projects().jobs().create(parent="projects/demo", body=trainer_job(
        "crash_1", "e2etrainer.fail", hyper)).execute()
    job = wait_for_state(ml, "projects/demo/jobs/crash_1")
    assert job["state"] == "FAILED"
    assert "trial 1: exit code 3" in job["errorMessage"]


def test_cancel_stops_running_trials_and_the_job_ends_cancelled(stack: Stack):
    ml = stack.ml()
    hyper = {**QUADRATIC, "maxTrials": 4, "maxParallelTrials": 2}
    ml.projects().jobs().create(parent="projects/demo", body=trainer_job(
        "cancel_1", "e2etrainer.quadratic", hyper, args=["--sleep=60"])).execute()
    wait_for_state(ml, "projects/demo/jobs/cancel_1", ("RUNNING",))
    assert ml.projects().jobs().cancel(name="projects/demo/jobs/cancel_1", body={}).execute() == {}
    job = wait_for_state(ml, "projects/demo/jobs/cancel_1", timeout=30)
    assert job["state"] == "CANCELLED"
    assert "cancelled by e2e" in job["errorMessage"]
    assert {t["state"] for t in job["trainingOutput"]["trials"]} == {"CANCELLED"}
    with pytest.raises(HttpError) as err:
        ml.projects().jobs().cancel(name="projects/demo/jobs/cancel_1", body={}).execute()
    assert err.value.resp.status == 400
    assert json.loads(err.value.content)["error"]["status"] == "FAILED_PRECONDITION"


def test_the_api_answers_errors_in_googles_envelope(stack: Stack):
    ml = stack.ml()
    body = trainer_job("dup_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 1})
    ml.projects().jobs().create(parent="projects/demo", body=body).execute()
    with pytest.raises(HttpError) as err:
        ml.projects().jobs().create(parent="projects/demo", body=body).execute()
    assert err.value.resp.status == 409
    error = json.loads(err.value.content)["error"]
    assert error["status"] == "ALREADY_EXISTS"
    assert error["details"][0]["fieldViolations"][0]["field"] == "job.job_id"

    bad = trainer_job("bad_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 0})
    with pytest.raises(HttpError) as err:
        ml.projects().jobs().create(parent="projects/demo", body=bad).execute()
    error = json.loads(err.value.content)["error"]
    assert err.value.resp.status == 400 and error["status"] == "INVALID_ARGUMENT"
    fields = [v["field"] for v in error["details"][0]["fieldViolations"]]
    assert "trainingInput.hyperparameters.maxTrials" in fields

    with pytest.raises(HttpError) as err:
        ml.projects().jobs().get(name="projects/demo/jobs/nope").execute()
    assert err.value.resp.status == 404

    # A wrong token (Google's client would try to refresh it, so use plain HTTP).
    req = urllib.request.Request(f"{stack.url}/v1/projects/demo/jobs",
                                 headers={"Authorization": "Bearer hpd_not-a-real-token"})
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(req)
    assert http_err.value.code == 401
    assert json.loads(http_err.value.read())["error"]["status"] == "UNAUTHENTICATED"


def test_list_pages_through_jobs_newest_first(stack: Stack):
    ml = stack.ml()
    for i in range(3):
        ml.projects().jobs().create(parent="projects/listing", body=trainer_job(
            f"list_{i}", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 1})).execute()
    first = ml.projects().jobs().list(parent="projects/listing", pageSize=2).execute()
    assert [j["jobId"] for j in first["jobs"]] == ["list_2", "list_1"]
    second = ml.projects().jobs().list(parent="projects/listing", pageSize=2,
                                       pageToken=first["nextPageToken"]).execute()
    assert [j["jobId"] for j in second["jobs"]] == ["list_0"]
    assert "nextPageToken" not in second
    assert ml.projects().jobs().list(parent="projects/empty").execute() == {}


def test_the_example_trainer_tunes_from_its_yaml_config(stack: Stack):
    import yaml

    root = Path(__file__).resolve().parents[2]
    job = yaml.safe_load((root / "examples/mlp_digits/hptuning_config.yaml").read_text())
    job["jobId"] = "digits_1"
    job["trainingInput"]["packageUris"] = [str(root / "examples/mlp_digits")]
    job["trainingInput"]["args"] = ["--epochs=3"]
    job["trainingInput"]["hyperparameters"]["maxTrials"] = 2
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/demo", body=job).execute()
    done = wait_for_state(ml, "projects/demo/jobs/digits_1", timeout=180)
    assert done["state"] == "SUCCEEDED", done
    best = done["trainingOutput"]["trials"][0]
    assert best["finalMetric"]["trainingStep"] == "3"
    assert 0.5 < best["finalMetric"]["objectiveValue"] <= 1.0


def test_an_over_long_url_is_answered_in_the_apis_error_envelope(stack: Stack):
    import json
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(stack.url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as s:
        s.sendall(f"GET /v1/projects/{'p' * 20000}/jobs HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert json.loads(body)["error"]["status"] == "INVALID_ARGUMENT"
