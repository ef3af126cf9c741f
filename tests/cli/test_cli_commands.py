"""The commands against a stub ml v1 server: the HTTP requests they build and what they print
(including errors: a message and exit status 1, never a traceback)."""

from __future__ import annotations

import io
import json
import urllib.parse
from pathlib import Path

import pytest
from cli_stub import Seen, StubServer

from hpdash.cli.client import Client
from hpdash.cli.main import main


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _query(seen: Seen) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(seen.path).query)


def test_the_list_request_carries_filter_page_size_token_and_the_bearer_token():
    client = Client("http://h:1/", "tok", "my-proj")
    req = client.list_request(page_size=7, page_token="abc", filter_expr="jobId:census* AND "
                              "state:FAILED")
    parts = urllib.parse.urlsplit(req.full_url)
    assert (parts.netloc, parts.path) == ("h:1", "/v1/projects/my-proj/jobs")
    assert urllib.parse.parse_qs(parts.query) == {
        "filter": ["jobId:census* AND state:FAILED"], "pageSize": ["7"], "pageToken": ["abc"]}
    assert req.get_header("Authorization") == "Bearer tok"
    assert req.get_method() == "GET"


def test_a_pasted_gcloud_command_with_only_gcloud_replaced_runs_as_the_same_command(
        stub: StubServer):
    stub.responder = lambda seen: (200, {"jobs": [{"jobId": "census_1", "state": "RUNNING"}]})
    code, out, err = run("--url", stub.url, "--token", "t", "ai-platform", "jobs", "list",
                         "--filter", "state:RUNNING")
    assert code == 0, err
    assert "census_1" in out
    assert [_query(s) for s in stub.requests] == [{"filter": ["state:RUNNING"]}]


def test_a_plain_list_request_has_no_query_string():
    assert Client("http://h", "t", "p").list_request().full_url == "http://h/v1/projects/p/jobs"


def test_list_sends_the_filter_to_the_server_and_follows_next_page_tokens(stub: StubServer):
    pages = {"": {"jobs": [{"jobId": "a", "state": "RUNNING"}], "nextPageToken": "p2"},
             "p2": {"jobs": [{"jobId": "b", "state": "FAILED"}], "nextPageToken": "p3"},
             "p3": {"jobs": [{"jobId": "c", "state": "QUEUED"}]}}
    stub.responder = lambda seen: (200, pages[_query(seen).get("pageToken", [""])[0]])
    code, out, err = run("--url", stub.url, "--token", "t", "jobs", "list", "--filter",
                         "state:FAILED", "--page-size", "1")
    assert code == 0, err
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["JOB_ID", "STATUS"], ["a", "RUNNING"], ["b", "FAILED"], ["c", "QUEUED"]]
    assert [_query(s) for s in stub.requests] == [
        {"filter": ["state:FAILED"], "pageSize": ["1"]},
        {"filter": ["state:FAILED"], "pageSize": ["1"], "pageToken": ["p2"]},
        {"filter": ["state:FAILED"], "pageSize": ["1"], "pageToken": ["p3"]},
    ]
    assert all(s.headers["Authorization"] == "Bearer t" for s in stub.requests)


def test_list_stops_at_the_limit(stub: StubServer):
    stub.responder = lambda seen: (200, {"jobs": [{"jobId": f"j{i}"} for i in range(2)],
                                         "nextPageToken": "more"})
    code, out, _ = run("--url", stub.url, "jobs", "list", "--limit", "3", "--page-size", "2")
    assert code == 0
    assert len(out.splitlines()) == 1 + 3
    assert len(stub.requests) == 2


def test_an_empty_list_says_so(stub: StubServer):
    stub.responder = lambda seen: (200, {})
    assert run("--url", stub.url, "jobs", "list") == (0, "", "Listed 0 items.\n")


def test_submit_posts_the_merged_job_to_the_project_and_prints_like_gcloud(
        stub: StubServer, tmp_path: Path):
    config = tmp_path / "hptuning_config.yaml"
    config.write_text("trainingInput:\n  pythonModule: trainer.task\n  args: [--old]\n"
                      "  hyperparameters: {maxTrials: 2}\n")
    stub.responder = lambda seen: (200, {**seen.body, "state": "QUEUED"})
    code, out, err = run("jobs", "submit", "training", "job_1", "--url", stub.url,
                         "--project", "team", "--config", str(config), "--region", "here",
                         "--packages", "/p/t.tar.gz", "--", "--new", "--x=1")
    assert code == 0, err
    [seen] = stub.requests
    assert (seen.method, seen.path) == ("POST", "/v1/projects/team/jobs")
    assert seen.body == {"jobId": "job_1", "trainingInput": {
        "pythonModule": "trainer.task", "args": ["--new", "--x=1"], "region": "here",
        "packageUris": ["/p/t.tar.gz"], "hyperparameters": {"maxTrials": 2}}}
    assert err.startswith("Job [job_1] submitted successfully.\n")
    assert "$ hpdash jobs describe job_1" in err and "$ hpdash jobs stream-logs job_1" in err
    assert out == "jobId: job_1\nstate: QUEUED\n"


def test_submit_with_package_path_sends_the_staged_sdist(stub: StubServer, tmp_path: Path):
    pkg = tmp_path / "src" / "trainer"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    stub.responder = lambda seen: (200, {"jobId": "j", "state": "QUEUED"})
    code, _, err = run("--url", stub.url, "jobs", "submit", "training", "j", "--module-name",
                       "trainer.task", "--package-path", str(pkg), "--staging-dir",
                       str(tmp_path / "staging"))
    assert code == 0, err
    [uri] = stub.requests[0].body["trainingInput"]["packageUris"]
    assert Path(uri).is_file() and uri.endswith("trainer-0.0.0.tar.gz")
    assert Path(uri).is_relative_to(tmp_path / "staging" / "j")


def test_an_invalid_flag_fails_before_anything_is_built_or_sent(stub: StubServer,
                                                                 tmp_path: Path):
    code, _, err = run("--url", stub.url, "jobs", "submit", "training", "j", "--labels",
                       "oops", "--package-path", str(tmp_path / "missing"))
    assert code == 1
    assert err == "ERROR: (hpdash.jobs.submit.training) --labels: expected KEY=VALUE, got " \
                  "'oops'\n"
    assert stub.requests == []


def test_a_validation_error_prints_the_message_and_violations_and_exits_1(stub: StubServer):
    stub.responder = lambda seen: (400, {"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": "Field: trainingInput.pythonModule Error: pythonModule is required; "
                   "Field: jobId Error: bad id",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
            {"field": "trainingInput.pythonModule", "description": "pythonModule is required"},
            {"field": "jobId", "description": "bad id"}]}]}})
    code, out, err = run("--url", stub.url, "jobs", "submit", "training", "j")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "ERROR: (hpdash.jobs.submit.training) INVALID_ARGUMENT: 2 invalid fields:",
        "  - trainingInput.pythonModule: pythonModule is required",
        "  - jobId: bad id"]
    assert "Traceback" not in err


def test_describe_prints_yaml_and_trials_or_raw_json(stub: StubServer):
    job = {"jobId": "j/odd", "state": "SUCCEEDED", "trainingOutput": {"trials": [
        {"trialId": "10", "hyperparameters": {"x": "1"}},
        {"trialId": "9", "hyperparameters": {"x": "2"}}]}}
    stub.responder = lambda seen: (200, {"job": job})
    code, out, _ = run("--url", stub.url, "jobs", "describe", "j/odd")
    assert code == 0
    assert [r.path for r in stub.requests] == ["/v1/projects/local/jobs/j%2Fodd:hpdashDetails"]
    assert "jobId: j/odd" in out
    assert [line.split()[0] for line in out.split("Training Output Trials\n")[1].splitlines()
            ] == ["TRIAL", "10", "9"], "the API's order (best first)"
    code, out, _ = run("--url", stub.url, "jobs", "describe", "j/odd", "--format", "json")
    assert json.loads(out) == job


def test_cancel_prints_gcloud_wording_or_the_failed_precondition(stub: StubServer):
    stub.responder = lambda seen: (200, {})
    assert run("--url", stub.url, "jobs", "cancel", "j") == (0, "", "Cancelled job [j].\n")
    assert (stub.requests[0].method, stub.requests[0].path) == (
        "POST", "/v1/projects/local/jobs/j:cancel")
    stub.responder = lambda seen: (400, {"error": {
        "code": 400, "status": "FAILED_PRECONDITION",
        "message": "Job j is already SUCCEEDED and cannot be cancelled."}})
    assert run("--url", stub.url, "jobs", "cancel", "j") == (
        1, "", "ERROR: (hpdash.jobs.cancel) FAILED_PRECONDITION: Job j is already SUCCEEDED "
               "and cannot be cancelled.\n")


def test_a_non_json_error_body_is_still_reported_cleanly(stub: StubServer):
    stub.responder = lambda seen: (502, b"<html>Bad Gateway</html>")
    code, _, err = run("--url", stub.url, "jobs", "describe", "j")
    assert code == 1
    assert err == "ERROR: (hpdash.jobs.describe) HTTP 502: <html>Bad Gateway</html>\n"


def test_an_unreachable_server_is_one_line_and_exit_1():
    code, _, err = run("--url", "http://127.0.0.1:9", "jobs", "list")
    assert code == 1
    assert err.startswith("ERROR: (hpdash.jobs.list) cannot reach hpdash at http://127.0.0.1:9")
    assert "Traceback" not in err


def test_usage_errors_exit_1(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        main(["jobs", "submit", "training", "j", "--scale-tier", "huge"])
    assert exc.value.code == 1
    assert "invalid choice 'huge'" in capsys.readouterr().err
    code, _, err = run("jobs", "describe", "j", "--", "x")
    assert code == 1 and "only for `jobs submit training`" in err


def test_a_server_that_is_not_hpdash_is_reported(stub: StubServer):
    stub.responder = lambda seen: (200, b"<html>hello</html>")
    code, _, err = run("--url", stub.url, "jobs", "describe", "j")
    assert code == 1 and "did not answer with JSON" in err


def test_submit_sends_gcloud_machine_flags_in_training_input(stub: StubServer):
    stub.responder = lambda seen: (200, {**seen.body, "state": "QUEUED"})
    code, _, err = run("--url", stub.url, "jobs", "submit", "training", "j", "--packages",
                       "/p/t.tar.gz", "--module-name", "t.task", "--scale-tier", "custom",
                       "--master-machine-type", "n1-standard-8",
                       "--master-accelerator", "count=2,type=nvidia-tesla-t4",
                       "--worker-machine-type=n1-standard-4", "--worker-count", "2",
                       "--use-chief-in-tf-config", "true")
    assert code == 0, err
    ti = stub.requests[0].body["trainingInput"]
    assert {k: v for k, v in ti.items() if k not in ("packageUris", "pythonModule")} == {
        "scaleTier": "CUSTOM", "masterType": "n1-standard-8",
        "masterConfig": {"acceleratorConfig": {"count": "2", "type": "NVIDIA_TESLA_T4"}},
        "workerType": "n1-standard-4", "workerCount": "2", "useChiefInTfConfig": True}


@pytest.mark.parametrize("argv", [("--worker-count", "0"), ("--parameter-server-count", "x"),
                                  ("--use-chief-in-tf-config", "maybe")])
def test_a_bad_machine_flag_value_exits_1_naming_the_flag(
        argv: tuple[str, str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        main(["jobs", "submit", "training", "j", *argv])
    assert exc.value.code == 1
    assert f"argument {argv[0]}: " in capsys.readouterr().err


def test_submit_sends_the_master_image_in_master_config(stub: StubServer):
    stub.responder = lambda seen: (200, {**seen.body, "state": "QUEUED"})
    code, _, err = run("--url", stub.url, "jobs", "submit", "training", "j",
                       "--master-image-uri", "gcr.io/p/trainer:1",
                       "--master-accelerator", "count=1,type=nvidia-tesla-t4")
    assert code == 0, err
    ti = stub.requests[0].body["trainingInput"]
    assert ti["masterConfig"] == {"imageUri": "gcr.io/p/trainer:1", "acceleratorConfig": {
        "count": "1", "type": "NVIDIA_TESLA_T4"}}
    assert "pythonModule" not in ti


@pytest.mark.parametrize("flag", ["--worker-image-uri", "--parameter-server-image-uri",
                                  "--tpu-tf-version"])
def test_other_container_flags_are_refused_by_name_with_what_to_do_instead(stub: StubServer,
                                                                           flag: str):
    code, out, err = run("--url", stub.url, "jobs", "submit", "training", "j", flag,
                         "gcr.io/p/trainer:1", "--module-name", "t.task")
    assert (code, out) == (1, "")
    assert err.startswith(f"ERROR: (hpdash.jobs.submit.training) {flag}: hpdash runs one "
                          "replica per trial, the master")
    assert "--master-image-uri" in err
    assert "unrecognized" not in err
    assert stub.requests == []
    code, _, err = run("--url", stub.url, "jobs", "submit", "training", "j", f"{flag}=x")
    assert code == 1 and f"{flag}: hpdash runs one replica" in err


def test_a_custom_tier_violation_adds_the_flag_to_use(stub: StubServer):
    why = "workerCount can only be used when scaleTier is CUSTOM (scaleTier is not set, which " \
          "means BASIC)"
    stub.responder = lambda seen: (400, {"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": f"Field: trainingInput.workerCount Error: {why}",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
            {"field": "trainingInput.workerCount", "description": why}]}]}})
    code, _, err = run("--url", stub.url, "jobs", "submit", "training", "j",
                       "--worker-machine-type", "w", "--worker-count", "2")
    assert code == 1
    assert err.splitlines() == [
        f"ERROR: (hpdash.jobs.submit.training) INVALID_ARGUMENT: Field: "
        f"trainingInput.workerCount Error: {why}",
        "Add --scale-tier custom: like gcloud, the machine flags do not set the tier for you."]


def test_a_refused_submission_removes_the_archive_it_staged(stub: StubServer, tmp_path: Path):
    pkg = tmp_path / "src" / "trainer"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    staging = tmp_path / "staging"
    stub.responder = lambda seen: (400, {"error": {
        "code": 400, "status": "INVALID_ARGUMENT", "message": "bad module",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
            {"field": "trainingInput.pythonModule", "description": "bad module"}]}]}})
    code, _, _ = run("--url", stub.url, "jobs", "submit", "training", "j", "--module-name",
                     "trainer.task", "--package-path", str(pkg), "--staging-dir", str(staging))
    assert code == 1
    assert [p for p in staging.rglob("*") if p.is_file()] == []


def test_a_refused_resubmission_keeps_what_an_earlier_one_staged(stub: StubServer,
                                                                  tmp_path: Path):
    pkg = tmp_path / "src" / "trainer"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    staging = tmp_path / "staging"
    args = ("--url", stub.url, "jobs", "submit", "training", "j", "--module-name",
            "trainer.task", "--package-path", str(pkg), "--staging-dir", str(staging))
    stub.responder = lambda seen: (200, {"jobId": "j", "state": "QUEUED"})
    assert run(*args)[0] == 0
    [uri] = stub.requests[0].body["trainingInput"]["packageUris"]
    stub.responder = lambda seen: (409, {"error": {"code": 409, "status": "ALREADY_EXISTS",
                                                   "message": "exists"}})
    assert run(*args)[0] == 1
    assert Path(uri).is_file(), "the job that exists still runs from it"
