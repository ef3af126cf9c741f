"""The jobs.list filter language (AIP-160 subset): on plain Job resource dicts, then through
the REST API (filter + pagination)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from support import submitter

from hpdash.api.mlv1.serializers import JOB_FILTER
from hpdash.core.listfilter import And, FilterError, Not, Or, Restriction, matches, parse_filter
from hpdash.models import ApiToken, Job, Trial
from hpdash.ops import queue


def job(job_id: str, state: str = "SUCCEEDED", **extra: Any) -> dict[str, Any]:
    return {"jobId": job_id, "state": state, "createTime": "2024-05-01T10:00:00.000000Z",
            "trainingInput": {"pythonModule": "trainer.task", "scaleTier": "BASIC",
                              "args": ["--epochs=15", "--verbose"],
                              "hyperparameters": {"goal": "MAXIMIZE", "maxTrials": 12,
                                                  "params": [{"parameterName": "lr",
                                                              "minValue": 0.001}]}},
            **extra}


JOBS = [
    job("census_1", "FAILED", labels={"team": "vision", "owner": "ann"},
        createTime="2024-05-01T10:00:00.000000Z", startTime="2024-05-01T10:00:05.500000Z",
        errorMessage="trial 2: exit code 3"),
    job("census_2", "RUNNING", labels={"team": "nlp"}, createTime="2024-05-02T09:30:00.000000Z",
        startTime="2024-05-02T09:31:00.000000Z"),
    job("rnn_1", "FAILED", labels={"team": "visual-search"},
        createTime="2024-06-01T00:00:00.000000Z"),
    job("rnn_census", "QUEUED", createTime="2024-06-15T12:00:00.000000Z",
        trainingInput={"pythonModule": "t", "scaleTier": "CUSTOM", "workerCount": "10",
                       "masterType": "n1-standard-8", "enableWebAccess": True,
                       "hyperparameters": {"goal": "MINIMIZE", "maxTrials": 3}}),
]


def test_the_filter_module_imports_without_django():
    code = ("import sys, hpdash.core.listfilter\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'django']\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def ids(text: str) -> list[str]:
    expr = parse_filter(text, JOB_FILTER)
    return [j["jobId"] for j in JOBS if matches(expr, j)]


def error(text: str) -> FilterError:
    with pytest.raises(FilterError) as info:
        parse_filter(text, JOB_FILTER)
    return info.value


# --- the examples from the ml v1 discovery document


def test_the_documented_examples_work():
    assert ids("jobId:census*") == ["census_1", "census_2"]
    assert ids("jobId:rnn* AND state:FAILED") == ["rnn_1"]


def test_an_empty_or_blank_filter_matches_everything():
    assert parse_filter("", JOB_FILTER) is None and parse_filter("   ", JOB_FILTER) is None
    assert ids(" ") == [j["jobId"] for j in JOBS]


# --- comparators and values


def test_colon_and_equals_are_case_sensitive_equality_without_a_wildcard():
    assert ids("jobId:census_1") == ids("jobId=census_1") == ["census_1"]
    assert ids("jobId:census") == []
    assert ids("jobId:CENSUS_1") == []


def test_a_star_anywhere_is_a_wildcard():
    assert ids("jobId:*census") == ["rnn_census"]
    assert ids("jobId:*_*") == [j["jobId"] for j in JOBS]
    assert ids("jobId=r*s") == ["rnn_census"]


def test_a_quoted_star_is_a_wildcard_unless_escaped():
    assert ids('jobId:"census*"') == ["census_1", "census_2"]
    assert ids('errorMessage="trial 2: exit*"') == ["census_1"]
    assert ids(r'jobId:"census\*"') == []


def test_not_equal_is_the_negation_of_equal():
    assert ids("state!=FAILED") == ["census_2", "rnn_census"]
    assert ids("labels.team!=vision") == ["census_2", "rnn_1", "rnn_census"]  # unset matches


def test_field_star_tests_that_a_field_is_set():
    assert ids("startTime:*") == ["census_1", "census_2"]
    assert ids("errorMessage:*") == ["census_1"]
    assert ids("errorMessage!=*") == ["census_2", "rnn_1", "rnn_census"]
    assert ids("labels:*") == ["census_1", "census_2", "rnn_1"]


def test_quoted_values_take_spaces_and_backslash_escapes():
    assert ids('errorMessage="trial 2: exit code 3"') == ["census_1"]
    assert ids("errorMessage='trial 2: exit code 3'") == ["census_1"]
    expr = parse_filter(r'jobId="a\"b\\c"', JOB_FILTER)
    assert isinstance(expr, Restriction) and expr.value.parts == ('a"b\\c',)


def test_strings_order_lexicographically():
    assert ids("jobId>census_2") == ["rnn_1", "rnn_census"]
    assert ids("jobId<=census_2") == ["census_1", "census_2"]


# --- fields


def test_labels_by_key_with_equality_and_wildcards():
    assert ids("labels.team=vision") == ["census_1"]
    assert ids("labels.team:vis*") == ["census_1", "rnn_1"]
    assert ids("labels.owner:*") == ["census_1"]


def test_labels_colon_key_tests_for_the_key():
    assert ids("labels:owner") == ["census_1"]
    assert ids("labels:team") == ["census_1", "census_2", "rnn_1"]


def test_training_input_fields_by_path():
    assert ids("trainingInput.scaleTier=CUSTOM") == ["rnn_census"]
    assert ids("trainingInput.hyperparameters.goal=MAXIMIZE") == [
        "census_1", "census_2", "rnn_1"]
    assert ids("trainingInput.masterType:n1-*") == ["rnn_census"]


def test_a_path_through_a_list_matches_if_any_element_does():
    assert ids("trainingInput.args:--verbose") == ["census_1", "census_2", "rnn_1"]
    assert ids("trainingInput.hyperparameters.params.parameterName=lr") == [
        "census_1", "census_2", "rnn_1"]


def test_numbers_compare_as_numbers():
    assert ids("trainingInput.hyperparameters.maxTrials>5") == ["census_1", "census_2", "rnn_1"]
    assert ids("trainingInput.hyperparameters.maxTrials=3") == ["rnn_census"]
    assert ids("trainingInput.hyperparameters.params.minValue<0.01") == [
        "census_1", "census_2", "rnn_1"]
    # int64 fields are strings in JSON ("10"): still compared as numbers, so "10" > "9".
    assert ids("trainingInput.workerCount>9") == ["rnn_census"]


def test_booleans_are_true_or_false_in_any_case():
    assert ids("trainingInput.enableWebAccess=true") == ["rnn_census"]
    assert ids("trainingInput.enableWebAccess=True") == ["rnn_census"]
    assert ids("trainingInput.enableWebAccess=false") == []


# --- times


def test_times_compare_as_times_not_as_text():
    assert ids("createTime>2024-05-01T12:00:00Z") == ["census_2", "rnn_1", "rnn_census"]
    # Same instant written with an offset and without fractional seconds.
    assert ids("createTime=2024-06-01T02:00:00+02:00") == ["rnn_1"]
    assert ids("createTime>=2024-06-01 AND createTime<2024-06-15") == ["rnn_1"]


def test_a_time_without_an_offset_is_utc():
    assert ids("createTime<2024-05-01T10:00:00.000001") == ["census_1"]


def test_an_unset_time_matches_only_not_equal():
    assert ids("startTime<2030-01-01") == ["census_1", "census_2"]
    assert ids("startTime>2000-01-01") == ["census_1", "census_2"]
    assert ids("startTime!=2024-05-01T10:00:05.5Z") == ["census_2", "rnn_1", "rnn_census"]


def test_a_wildcard_on_a_time_matches_its_text():
    assert ids("createTime:2024-05*") == ["census_1", "census_2"]


# --- operators and precedence


def test_adjacent_terms_are_anded():
    assert ids("jobId:census* state=RUNNING") == ["census_2"]
    assert ids("jobId:census* state=RUNNING") == ids("jobId:census* AND state=RUNNING")


def test_or_and_not():
    assert ids("state=RUNNING OR state=QUEUED") == ["census_2", "rnn_census"]
    assert ids("NOT state=FAILED") == ["census_2", "rnn_census"]
    assert ids("-state=FAILED") == ["census_2", "rnn_census"]
    assert ids("-jobId:census* -jobId:rnn_1") == ["rnn_census"]


def test_or_binds_tighter_than_and_as_aip_160_says():
    expr = parse_filter("jobId=a AND state=FAILED OR labels.x=c", JOB_FILTER)
    assert isinstance(expr, And) and isinstance(expr.children[1], Or)
    # state=FAILED AND (jobId:rnn* OR labels.team=vision): census_1 and rnn_1.
    assert ids("state=FAILED AND jobId:rnn* OR labels.team=vision") == ["census_1", "rnn_1"]
    # An implicit AND too: (jobId:rnn*) AND (state=QUEUED OR state=RUNNING).
    assert ids("jobId:rnn* state=QUEUED OR state=RUNNING") == ["rnn_census"]


def test_not_binds_tightest():
    expr = parse_filter("NOT jobId=a OR state=FAILED", JOB_FILTER)
    assert isinstance(expr, Or) and isinstance(expr.children[0], Not)
    assert ids("NOT state=FAILED OR jobId=rnn_1") == ["census_2", "rnn_1", "rnn_census"]


def test_parentheses_group():
    assert ids("(state=FAILED AND jobId:rnn*) OR labels.team=nlp") == ["census_2", "rnn_1"]
    assert ids("-(state=FAILED OR state=QUEUED)") == ["census_2"]
    assert ids("NOT(jobId:census*)") == ["rnn_1", "rnn_census"]
    assert ids("((jobId=census_1))") == ["census_1"]


def test_spaces_around_comparators_are_allowed():
    assert ids("state = FAILED") == ids("state=FAILED") == ["census_1", "rnn_1"]


def test_values_run_to_the_next_space_or_parenthesis():
    assert ids("(labels.team=nlp)") == ["census_2"]
    assert ids("trainingInput.args:--epochs=15") == ["census_1", "census_2", "rnn_1"]


def test_keywords_are_values_after_a_comparator():
    expr = parse_filter("labels.mode=AND", JOB_FILTER)
    assert isinstance(expr, Restriction) and expr.value.text == "AND"


# --- errors say what is wrong and where


@pytest.mark.parametrize(("text", "words", "column"), [
    ("jobId:", "expected a value after ':'", 7),
    ("jobid:census*", "unknown field 'jobid' (did you mean jobId?", 1),
    ("name=x", "unknown field 'name'", 1),
    ("labels.team.x=a", "labels are labels.KEY", 1),
    ("labels=vision", "labels is a map", 1),
    ("trainingInput.scaletier=BASIC", "unknown field 'scaletier' in trainingInput "
                                      "(did you mean scaleTier?", 1),
    ("trainingInput=x", "trainingInput is an object", 1),
    ("jobId.x=1", "jobId has no fields", 1),
    ("state=failed", "state values are upper case: FAILED", 7),
    ("state=FAILD", "'FAILD' is not a job state (did you mean FAILED?)", 7),
    ("createTime>yesterday", "not an RFC 3339 time", 12),
    ("createTime>2024-13-01", "not an RFC 3339 time", 12),
    ("jobId>census*", "wildcard", 7),
    ("jobId:a AND", "AND needs a restriction on each side", 9),
    ("OR jobId:a", "OR needs a restriction on each side", 1),
    ("jobId:a AND OR jobId:b", "OR needs a restriction", 13),
    ("jobId:a NOT", "NOT needs a restriction after it", 9),
    ("(jobId:a", "missing ')'", 1),
    ("jobId:a)", "unexpected ')'", 8),
    ("()", "empty parentheses", 1),
    ("jobId", "expected a comparator", 6),
    ("census", "expected a comparator", 7),
    ("jobId:a and state=FAILED", "AND is an operator only in upper case", 13),
    ('jobId:"abc', "unterminated string", 7),
    ("- state=FAILED", "'-' (negation) must be followed directly by a term", 1),
    ('"census"', "a value needs a field", 1),
    ("jobId!census", "expected a comparator", 6),
    ("labels..x=1", "empty part", 1),
    ("", None, None),
])
def test_a_malformed_filter_is_an_error_with_a_position(text, words, column):
    if words is None:
        assert parse_filter(text, JOB_FILTER) is None
        return
    exc = error(text)
    assert words in exc.message
    assert exc.position == column - 1
    assert str(exc).endswith(f"(at column {column})")



# --- jobs.list with a filter, through the REST API (Django's test client)


@pytest.fixture
def auth(db, monkeypatch):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)
    _, token = ApiToken.issue(submitter("alice"))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def create(client, auth, job_id, labels=None, scale_tier="BASIC", project="p"):
    body = {"jobId": job_id, "labels": labels or {}, "trainingInput": {
        "pythonModule": "m", "scaleTier": scale_tier, "hyperparameters": {"params": [
            {"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}
    if scale_tier == "CUSTOM":
        body["trainingInput"]["masterType"] = "n1-standard-4"
    resp = client.post(f"/v1/projects/{project}/jobs", data=json.dumps(body),
                       content_type="application/json", **auth)
    assert resp.status_code == 200, resp.json()
    return resp.json()


def list_jobs(client, auth, **params):
    resp = client.get("/v1/projects/p/jobs", params, **auth)
    assert resp.status_code == 200, resp.json()
    return resp.json()


def all_pages(client, auth, token=None, **params):
    ids, pages = [], 0
    while True:
        body = list_jobs(client, auth, **params, **({"pageToken": token} if token else {}))
        pages += 1
        ids += [j["jobId"] for j in body.get("jobs", [])]
        token = body.get("nextPageToken")
        if not token:
            return ids, pages


@pytest.fixture
def seven(client, auth):
    """j0 … j6, created in that order (so listed j6 first); even ones are team=vision."""
    for i in range(7):
        create(client, auth, f"j{i}", {"team": "vision" if i % 2 == 0 else "nlp"},
               "CUSTOM" if i == 3 else "BASIC")
        if i == 3:
            Job.objects.filter(job_id="j3").update(state="FAILED", error_message="boom")
    create(client, auth, "other", {"team": "vision"}, project="q")  # another project


def test_list_filters_and_pages_through_every_match_newest_first(client, auth, seven):
    ids, pages = all_pages(client, auth, filter="labels.team=vision", pageSize=2)
    assert ids == ["j6", "j4", "j2", "j0"] and pages == 2
    ids, pages = all_pages(client, auth, filter="labels.team=vision", pageSize=3)
    assert ids == ["j6", "j4", "j2", "j0"] and pages == 2


def test_list_without_a_filter_pages_through_the_project(client, auth, seven):
    ids, pages = all_pages(client, auth, pageSize=3)
    assert ids == [f"j{i}" for i in range(6, -1, -1)] and pages == 3


def test_list_filters_on_fields_the_database_cannot_see(client, auth, seven):
    ids, _ = all_pages(client, auth, filter="trainingInput.scaleTier=CUSTOM OR state=FAILED",
                       pageSize=1)
    assert ids == ["j3"]
    assert all_pages(client, auth, filter="errorMessage:boo*")[0] == ["j3"]


@pytest.mark.parametrize("text", [
    "jobId:j*", "jobId:J*", "jobId=j2", "-jobId=j2", "NOT (jobId=j2 OR jobId=j3)",
    "labels.team:vis*", "labels:team", "-labels.team=vision", "state=FAILED",
    "state!=FAILED", "errorMessage=boom", "createTime>2000-01-01", "createTime<2000-01-01",
    "startTime!=2000-01-01", "startTime:*", "jobId:*3 OR labels.team=nlp",
    "labels.team=vision trainingInput.scaleTier=BASIC", "jobId:j* AND -state:FAILED",
])
def test_list_gives_what_the_filter_gives_on_every_job(client, auth, seven, text):
    everything = list_jobs(client, auth, pageSize=100)["jobs"]
    expr = parse_filter(text, JOB_FILTER)
    expected = [j["jobId"] for j in everything if matches(expr, j)]
    assert all_pages(client, auth, filter=text, pageSize=2)[0] == expected


def test_a_page_token_survives_new_jobs_being_created(client, auth, seven):
    first = list_jobs(client, auth, pageSize=3)
    create(client, auth, "newest")
    rest, _ = all_pages(client, auth, first["nextPageToken"], pageSize=3)
    assert [j["jobId"] for j in first["jobs"]] + rest == [f"j{i}" for i in range(6, -1, -1)]


def test_a_page_token_is_bound_to_its_filter(client, auth, seven):
    token = list_jobs(client, auth, filter="labels.team=vision", pageSize=1)["nextPageToken"]
    resp = client.get("/v1/projects/p/jobs", {"filter": "labels.team=nlp", "pageToken": token},
                      **auth)
    assert resp.status_code == 400
    assert resp.json()["error"]["details"][0]["fieldViolations"][0]["field"] == "pageToken"


def test_no_match_is_an_empty_body(client, auth, seven):
    assert list_jobs(client, auth, filter="labels.team=audio") == {}


def test_a_bad_filter_is_a_400_naming_the_filter_and_the_problem(client, auth):
    resp = client.get("/v1/projects/p/jobs", {"filter": "jobId:census* AND stat=FAILED"}, **auth)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["status"] == "INVALID_ARGUMENT"
    violation = err["details"][0]["fieldViolations"][0]
    assert violation["field"] == "filter"
    assert "unknown field 'stat' (did you mean state?" in violation["description"]
    assert "column 19" in violation["description"]


def test_page_size_defaults_to_20_and_is_clamped_to_100(client, auth):
    base = create(client, auth, "seed")
    row = Job.objects.get(job_id="seed")
    Job.objects.bulk_create([
        Job(project_id="p", job_id=f"bulk{i}", definition_json=row.definition_json,
            request=row.request, goal=row.goal,
            metric_tag=row.metric_tag, algorithm=row.algorithm, max_trials=1,
            max_parallel_trials=1, seed=1, etag=base["etag"]) for i in range(104)])
    assert len(list_jobs(client, auth)["jobs"]) == 20
    body = list_jobs(client, auth, pageSize=1000)
    assert len(body["jobs"]) == 100 and "nextPageToken" in body
    body = list_jobs(client, auth, pageSize=1000, filter="jobId:bulk*")
    assert len(body["jobs"]) == 100 and "nextPageToken" in body


def test_listing_costs_the_same_queries_for_5_or_20_jobs_with_trials(client, auth):
    for i in range(20):
        create(client, auth, f"j{i}")
    for row in Job.objects.all():
        Trial.objects.bulk_create([Trial(job=row, trial_id=t, params={"x": t}) for t in (1, 2)])

    def queries(**params):
        with CaptureQueriesContext(connection) as ctx:
            list_jobs(client, auth, **params)
        return len(ctx.captured_queries)

    assert queries(pageSize=5) == queries(pageSize=20)
    assert queries(pageSize=5, filter="jobId:j*") == queries(pageSize=20, filter="jobId:j*")
