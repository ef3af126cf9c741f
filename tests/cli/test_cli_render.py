"""describe's YAML and trials table, list's table, and how errors read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from hpdash.cli.client import ApiError
from hpdash.cli.render import api_error, describe, jobs_table, local_time, to_yaml, trials_table


def _trial(tid: str, value: float | None, **hps: str) -> dict[str, Any]:
    t: dict[str, Any] = {"trialId": tid, "hyperparameters": hps, "state": "SUCCEEDED"}
    if value is not None:
        t["finalMetric"] = {"trainingStep": "30", "objectiveValue": value}
    else:
        t["state"] = "FAILED"
    return t


JOB: dict[str, Any] = {
    "jobId": "j",
    "state": "SUCCEEDED",
    "trainingInput": {"pythonModule": "m", "hyperparameters": {"params": [
        {"parameterName": "y"}, {"parameterName": "x"}]}},
    # Best first, as the API lists them.
    "trainingOutput": {"trials": [
        _trial("10", 0.9, x="0.1", y="a"),
        _trial("2", 0.5, x="0.2", y="b"),
        _trial("1", 0.25, x="0.3", y="c"),
        _trial("3", None, x="0.4", y="d"),
    ]},
}


def test_the_trials_table_keeps_the_apis_best_first_order_with_each_state():
    lines = trials_table(JOB).splitlines()
    assert lines[0] == "Training Output Trials"
    assert lines[1].split() == ["TRIAL", "STATE", "OBJECTIVE_VALUE", "STEP", "y", "x"]
    assert [line.split()[0] for line in lines[2:]] == ["10", "2", "1", "3"]
    assert lines[2].split() == ["10", "SUCCEEDED", "0.9", "30", "a", "0.1"]
    assert "NOTE" not in lines[1], "no note column when nothing needs one"


def test_a_trial_without_final_metric_has_empty_cells_and_columns_line_up():
    lines = trials_table(JOB).splitlines()
    header, failed = lines[1], lines[5]
    assert failed.split() == ["3", "FAILED", "d", "0.4"]
    assert failed.index("d") == header.index(" y") + 1
    assert failed.index("0.4") == header.index(" x") + 1


EARLY_AND_FAILED = {
    "jobId": "j", "state": "FAILED",
    "trainingOutput": {"trials": [
        {**_trial("4", 0.9, x="0.1")},
        {**_trial("2", 0.3, x="0.2"), "isTrialStoppedEarly": True},
        {**_trial("5", None, x="0.3")},
        {**_trial("6", None, x="0.4")},
    ]},
}
# What :hpdashDetails adds: trial 5's failure.
FAILURES = {"trials": [{"trialId": "5", "failure": {
    "reason": "exit code 1",
    "logTail": "Traceback (most recent call last):\nValueError: bad shape"}}]}


def test_the_table_marks_early_stopped_trials_and_gives_failed_ones_their_reason():
    lines = trials_table(EARLY_AND_FAILED, FAILURES).splitlines()
    assert lines[1].split() == ["TRIAL", "STATE", "OBJECTIVE_VALUE", "STEP", "x", "NOTE"]
    assert lines[2].split() == ["4", "SUCCEEDED", "0.9", "30", "0.1"]
    assert lines[3].split() == ["2", "SUCCEEDED", "0.3", "30", "0.2", "stopped", "early"]
    assert lines[4].split() == ["5", "FAILED", "0.3", "exit", "code", "1"]
    assert lines[3].index("stopped early") == lines[1].index("NOTE")


def test_describe_shows_a_failed_trials_last_log_lines_next_to_its_reason():
    out = describe(EARLY_AND_FAILED, FAILURES)
    doc, rest = out.split("\nTraining Output Trials\n")
    assert rest.split("\n\n")[1] == (
        "Trial 5 FAILED: exit code 1\n"
        "  Traceback (most recent call last):\n"
        "  ValueError: bad shape\n")
    assert "bad shape" not in doc, "shown once, below the table"
    assert "trials" not in doc, "the table shows them"


def test_a_long_failure_reason_is_cut_in_the_table_but_whole_below_it():
    reason = "metric was nan at step 3; " * 10
    job = {"trainingOutput": {"trials": [_trial("1", None)]}}
    details = {"trials": [{"trialId": "1", "failure": {"reason": reason}}]}
    row = trials_table(job, details).splitlines()[2]
    assert row.endswith("…") and len(row.split("FAILED", 1)[1].strip()) == 60
    assert f"Trial 1 FAILED: {reason}" in describe(job, details)


def test_describe_prints_sorted_block_yaml_then_the_trials_table_without_repeating_them():
    out = describe(JOB)
    doc, table = out.split("\nTraining Output Trials\n")
    output = {k: v for k, v in JOB["trainingOutput"].items() if k != "trials"}
    expected = {**JOB, "trainingOutput": output} if output else {
        k: v for k, v in JOB.items() if k != "trainingOutput"}
    assert yaml.safe_load(doc) == expected
    top_keys = [line.split(":")[0] for line in doc.splitlines() if not line.startswith(" ")
                and not line.startswith("-")]
    assert top_keys == sorted(top_keys)
    assert "{" not in doc, "block style, not flow style"
    assert table.splitlines()[0].startswith("TRIAL")


def test_describe_without_trials_has_no_table():
    assert "Training Output Trials" not in describe({"jobId": "j", "state": "QUEUED"})


def test_long_and_multiline_strings_stay_readable_in_yaml():
    text = to_yaml({"errorMessage": "line one\nline two", "long": "x" * 300})
    assert "errorMessage: |" in text
    assert yaml.safe_load(text)["long"] == "x" * 300
    assert len(text.splitlines()) == 4


def test_jobs_table_shows_job_id_status_and_local_created_time():
    out = jobs_table([{"jobId": "a_long_job", "state": "RUNNING",
                       "createTime": "2026-01-02T03:04:05.123456Z"}])
    header, row = out.splitlines()
    assert header.split() == ["JOB_ID", "STATUS", "CREATED"]
    expected = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC).astimezone()
    assert row.split() == ["a_long_job", "RUNNING", expected.strftime("%Y-%m-%dT%H:%M:%S")]


def test_local_time_accepts_nanoseconds_and_leaves_garbage_alone():
    assert local_time("2026-01-02T03:04:05.123456789Z") == dt.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%dT%H:%M:%S")
    assert local_time("yesterday") == "yesterday"
    assert local_time(None) == ""


def test_an_api_error_shows_status_message_and_each_field_violation():
    exc = ApiError(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", [
        ("trainingInput.hyperparameters.params[0].minValue", "must be below maxValue"),
        ("jobId", "must start with a letter")])
    out = api_error("hpdash.jobs.submit.training", exc)
    assert out.splitlines() == [
        "ERROR: (hpdash.jobs.submit.training) INVALID_ARGUMENT: Request contains an invalid "
        "argument.",
        "Field violations:",
        "  - trainingInput.hyperparameters.params[0].minValue: must be below maxValue",
        "  - jobId: must start with a letter",
    ]


def test_hpdash_validation_messages_are_not_printed_twice():
    violations = [("a", "bad a"), ("b", "bad b")]
    exc = ApiError(400, "INVALID_ARGUMENT", "Field: a Error: bad a; Field: b Error: bad b",
                   violations)
    assert api_error("c", exc).splitlines() == [
        "ERROR: (c) INVALID_ARGUMENT: 2 invalid fields:", "  - a: bad a", "  - b: bad b"]
    one = ApiError(409, "ALREADY_EXISTS", "Field: job.job_id Error: exists",
                   [("job.job_id", "exists")])
    assert api_error("c", one) == "ERROR: (c) ALREADY_EXISTS: Field: job.job_id Error: exists\n"


def test_an_authentication_error_says_how_to_set_a_token():
    out = api_error("c", ApiError(401, "UNAUTHENTICATED", "missing token"))
    assert "hpdash config set token" in out


def test_api_errors_are_read_from_googles_envelope_or_from_any_other_body():
    envelope = (b'{"error": {"code": 400, "status": "FAILED_PRECONDITION", "message": "done",'
                b' "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",'
                b' "fieldViolations": [{"field": "f", "description": "d"}]}]}}')
    exc = ApiError.from_response(400, envelope)
    assert (exc.code, exc.status, exc.message, exc.violations) == (
        400, "FAILED_PRECONDITION", "done", [("f", "d")])
    html = ApiError.from_response(502, b"<html>\n<b>Bad   gateway</b></html>")
    assert (html.status, html.message) == ("HTTP 502", "<html> <b>Bad gateway</b></html>")


def test_describe_shows_each_trials_gpus_and_why_trials_wait():
    job = {"jobId": "g", "state": "RUNNING", "trainingOutput": {"trials": [
        _trial("2", 0.9, lr="0.1"), {"trialId": "3", "state": "QUEUED", "hyperparameters": {}}]}}
    details = {"gpusPerTrial": 2, "waiting": "each trial needs 2 GPUs: all in use",
               "trials": [{"trialId": "2", "gpus": ["0", "1"], "gpuHost": "box"},
                          {"trialId": "3", "waiting": "waiting for 2 GPUs"}]}
    out = describe(job, details)
    assert "Trials wait for GPUs: each trial needs 2 GPUs: all in use" in out
    table = out.split("Training Output Trials\n")[1].splitlines()
    assert table[0].split()[-1] == "GPUS"
    assert table[1].split()[-1] == "0,1" and table[2].split()[-1] == "-"
    # A job without GPUs has no GPU column.
    assert "GPUS" not in describe(job, {"gpusPerTrial": 0, "trials": []})


def test_a_violation_the_message_already_says_is_not_printed_twice():
    reason = "'failed' is not a job state (state values are upper case: FAILED) (at column 7)"
    exc = ApiError(400, "INVALID_ARGUMENT", f"Invalid filter: {reason}",
                   [("filter", reason)])
    assert api_error("hpdash.jobs.list", exc) == (
        f"ERROR: (hpdash.jobs.list) INVALID_ARGUMENT: Invalid filter: {reason}\n")
