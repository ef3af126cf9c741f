"""Hostile input, property-based: whatever a client sends, the spec parser answers with a spec or
a ``SpecError`` and the REST API with a 2xx or a 4xx in Google's error envelope — never a 500,
never a traceback, never a half-created job."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import keyword
import math
import os
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support import submitter

from hpdash.api.common.errors import HTTP_STATUS
from hpdash.core.spec import NewJob, SpecError, load_config, parse_job
from hpdash.core.spec.parse import JOB_ID_PATTERN, RESERVED_METRIC_TAGS
from hpdash.models import ApiToken, Job, Trial
from hpdash.ops import queue

pytestmark = pytest.mark.django_db

# No example database in the repository; no per-example deadline (the first Django request of a
# test is slow); the API tests reuse one client and one user across examples.  For a deeper
# search: HPDASH_HYPOTHESIS_EXAMPLES=5000 (the API tests take 60% of that).
EXAMPLES = int(os.environ.get("HPDASH_HYPOTHESIS_EXAMPLES", 250))
FAST = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
API = settings(FAST, max_examples=EXAMPLES * 3 // 5)

# ---------------------------------------------------------------------------------------------
# Strategies: anything JSON can say, biased towards the names and values the parser looks at.

FIELD_NAMES = [
    "jobId", "labels", "trainingInput", "createTime", "state", "etag", "trainingOutput",
    "predictionInput", "hyperparameters", "pythonModule", "packageUris", "args", "jobDir",
    "scaleTier", "masterType", "workerType", "workerCount", "masterConfig", "scheduling",
    "maxRunningTime", "acceleratorConfig", "count", "region", "params", "parameterName", "type",
    "minValue", "maxValue", "categoricalValues", "discreteValues", "scaleType", "goal",
    "maxTrials", "maxParallelTrials", "maxFailedTrials", "hyperparameterMetricTag",
    "enableTrialEarlyStopping", "resumePreviousJobId", "algorithm", "job_id", "max_trials",
    "__proto__", "", " ", "jobId ", "JOBID",
]
ENUM_WORDS = [
    "DOUBLE", "INTEGER", "CATEGORICAL", "DISCRETE", "PARAMETER_TYPE_UNSPECIFIED", "double",
    "NONE", "UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE", "MAXIMIZE",
    "MINIMIZE", "GOAL_TYPE_UNSPECIFIED", "GRID_SEARCH", "RANDOM_SEARCH", "ALGORITHM_UNSPECIFIED",
    "BASIC", "CUSTOM", "trainer.task", "/tmp", "file:///tmp", "gs://bucket/x", "3600s",
    "../../etc/passwd", "/tmp/../etc", "NaN", "Infinity", "-Infinity", "1e999", "0x10", "12",
    "-3", "1.5", "1e-5", "yes", "null", "true", "timestamp", "\x00", "\ud800", "\udcff",
]
ANY_CHAR = st.characters(exclude_categories=())  # surrogates and control characters too
# What can reach a trainer's command line or environment: no NUL, no lone surrogate.
ARG_CHAR = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
HUGE_NUMBERS = st.sampled_from([
    10**9, 2**31, 2**53 + 1, 2**63, 2**64, 10**25, 10**400, -(10**400), 1e308, -1e308, 5e-324,
    -0.0, 1e-10, math.nan, math.inf, -math.inf, 0, 1, -1,
])
LONG_STRINGS = st.builds(lambda s, n: s * n,
                         st.sampled_from(["a", "é", "\x00", "\ud800", "../", "9", "ab_"]),
                         st.integers(200, 20_000))
TEXTS = st.text(ANY_CHAR, max_size=40) | st.sampled_from(ENUM_WORDS) | LONG_STRINGS
KEYS = st.sampled_from(FIELD_NAMES) | st.text(ANY_CHAR, max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers() | HUGE_NUMBERS
           | st.floats(allow_nan=True, allow_infinity=True) | TEXTS)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=30,
)


def nested(depth: int, kind: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"params": value}
    return value


# Python objects deep enough to matter but shallow enough for json.dumps in the test itself;
# DEEP_TEXT goes far deeper, as raw JSON text.
DEEP_VALUES = st.builds(nested, st.integers(10, 400), st.sampled_from(["list", "dict"]))


def nested_text(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"jobId": "j", "trainingInput": ' + b'{"a": ' * depth + b"1" + b"}" * (depth + 1)


DEEP_TEXT = st.builds(nested_text, st.integers(500, 50_000), st.sampled_from(["list", "dict"]))

# Valid specs, drawn field by field from what the ml v1 API allows.

PARAM_NAMES = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,20}", fullmatch=True)
# Bounds whose difference is finite: a wider range is refused (it overflows a double).
FINITE = st.floats(min_value=-1e307, max_value=1e307)
POSITIVE = st.floats(min_value=1e-300, max_value=1e300)


def _module_ok(name: str) -> bool:
    return all(p.isidentifier() and not keyword.iskeyword(p) for p in name.split("."))


MODULES = st.from_regex(r"[a-z_][a-z0-9_]{0,8}(\.[a-z_][a-z0-9_]{0,8}){0,3}",
                        fullmatch=True).filter(_module_ok)
ABS_PATHS = st.from_regex(r"/[A-Za-z0-9_.-]{1,12}(/[A-Za-z0-9_-]{1,12}){0,3}", fullmatch=True)


@st.composite
def valid_params(draw: st.DrawFn) -> dict[str, Any]:
    ptype = draw(st.sampled_from(["DOUBLE", "INTEGER", "CATEGORICAL", "DISCRETE"]))
    p: dict[str, Any] = {"type": ptype}
    log = draw(st.booleans()) and ptype in ("DOUBLE", "INTEGER", "DISCRETE")
    if ptype == "DOUBLE":
        a, b = sorted(draw(st.tuples(POSITIVE if log else FINITE, POSITIVE if log else FINITE)))
        p.update(minValue=a, maxValue=b)
    elif ptype == "INTEGER":
        lo = 1 if log else -(10**12)
        a, b = sorted(draw(st.tuples(st.integers(lo, 10**12), st.integers(lo, 10**12))))
        as_text = draw(st.booleans())
        p.update(minValue=str(a) if as_text else a, maxValue=b)
    elif ptype == "CATEGORICAL":
        p["categoricalValues"] = draw(st.lists(st.text(ARG_CHAR, max_size=30), min_size=1,
                                               max_size=20, unique=True))
    else:
        xs = sorted(set(draw(st.lists(POSITIVE if log else st.floats(-1e9, 1e9), min_size=1,
                                      max_size=20))))
        points = [xs[0]]
        for x in xs[1:]:
            if x - points[-1] >= 1e-9:
                points.append(x)
        p["discreteValues"] = points
    if log:
        p["scaleType"] = draw(st.sampled_from(["UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE"]))
    elif ptype != "CATEGORICAL" and draw(st.booleans()):
        p["scaleType"] = draw(st.sampled_from(["NONE", "UNIT_LINEAR_SCALE"]))
    return p


def _grid_size(params: list[dict[str, Any]]) -> float:
    size = 1.0
    for p in params:
        if p["type"] == "DOUBLE":
            return math.inf
        if p["type"] == "INTEGER":
            size *= int(p["maxValue"]) - int(p["minValue"]) + 1
        else:
            size *= len(p.get("categoricalValues") or p.get("discreteValues") or ())
    return size


@st.composite
def valid_hyperparameters(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(PARAM_NAMES, min_size=1, max_size=6,
                          unique_by=lambda n: n.replace("-", "_")))
    params = [{"parameterName": n, **draw(valid_params())} for n in names]
    hp: dict[str, Any] = {"params": params}
    max_trials = draw(st.integers(1, 100_000))
    if draw(st.booleans()):
        hp["maxTrials"] = str(max_trials) if draw(st.booleans()) else max_trials
    else:
        max_trials = 1
    if draw(st.booleans()):
        hp["maxParallelTrials"] = draw(st.integers(1, 1000))
    if draw(st.booleans()):
        hp["maxFailedTrials"] = draw(st.integers(0, max_trials))
    if draw(st.booleans()):
        hp["goal"] = draw(st.sampled_from(["MAXIMIZE", "MINIMIZE", "GOAL_TYPE_UNSPECIFIED"]))
    if draw(st.booleans()):
        hp["hyperparameterMetricTag"] = draw(st.text(ARG_CHAR, min_size=1, max_size=60).filter(
            lambda t: t not in RESERVED_METRIC_TAGS))
    if draw(st.booleans()):
        hp["enableTrialEarlyStopping"] = draw(st.booleans())
    algorithms = ["ALGORITHM_UNSPECIFIED", "RANDOM_SEARCH"]
    if _grid_size(params) <= 10_000_000:
        algorithms.append("GRID_SEARCH")
    if draw(st.booleans()):
        hp["algorithm"] = draw(st.sampled_from(algorithms))
    return hp


@st.composite
def valid_jobs(draw: st.DrawFn, *, local_files: bool = True) -> dict[str, Any]:
    ti: dict[str, Any] = {"pythonModule": draw(MODULES),
                          "hyperparameters": draw(valid_hyperparameters())}
    if draw(st.booleans()):
        ti["args"] = draw(st.lists(st.text(ARG_CHAR, max_size=20), max_size=5))
    if local_files and draw(st.booleans()):
        ti["packageUris"] = draw(st.lists(ABS_PATHS | ABS_PATHS.map("file://".__add__),
                                          max_size=3))
    if local_files and draw(st.booleans()):
        ti["jobDir"] = draw(ABS_PATHS)
    if draw(st.booleans()):
        ti.update(scaleTier="BASIC", region="local")
    job: dict[str, Any] = {"jobId": draw(st.from_regex(JOB_ID_PATTERN, fullmatch=True)),
                           "trainingInput": ti}
    if draw(st.booleans()):
        job["labels"] = draw(st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True),
            st.from_regex(r"[a-z0-9_-]{0,10}", fullmatch=True), max_size=4))
    return job


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_jobs(draw: st.DrawFn, *, local_files: bool = True) -> Any:
    """A valid job with one to three of its values replaced, removed, or given a sibling."""
    job: Any = copy.deepcopy(draw(valid_jobs(local_files=local_files)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(job)))
        new = draw(JSON_VALUES | DEEP_VALUES | HUGE_NUMBERS)
        if not path:
            job = new
            continue
        parent = job
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "sibling"]))
        if action == "replace":
            parent[path[-1]] = new
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(KEYS)] = new
        else:
            parent.append(new)
        if not isinstance(job, dict | list):
            break
    return job


ANY_JOB = JSON_VALUES | mutated_jobs() | valid_jobs() | DEEP_VALUES

# ---------------------------------------------------------------------------------------------
# The spec parser


def _parses_or_refuses(data: Any) -> NewJob | None:
    try:
        return parse_job(data)
    except SpecError as exc:
        assert exc.violations, "a SpecError names at least one violation"
        assert len(exc.violations) <= 201
        for v in exc.violations:
            assert isinstance(v.field, str) and isinstance(v.description, str) and v.description
        return None


@FAST
@given(ANY_JOB)
def test_the_parser_answers_any_value_with_a_spec_or_a_spec_error(data):
    spec = _parses_or_refuses(data)
    if spec is not None:  # what it accepted, it accepts again from its own echo
        again = parse_job({"jobId": spec.job_id, "labels": spec.labels,
                           "trainingInput": spec.request["trainingInput"]})
        assert again == spec


@FAST
@given(valid_jobs())
def test_every_valid_job_parses_and_keeps_its_values(job):
    spec = parse_job(job)
    assert spec.job_id == job["jobId"]
    hp = spec.definition.hyperparameters
    assert [p.name for p in hp.params] == [
        p["parameterName"] for p in job["trainingInput"]["hyperparameters"]["params"]]
    assert hp.max_trials == int(job["trainingInput"]["hyperparameters"].get("maxTrials", 1))
    # The same job through JSON text (as the API receives it) gives the same spec.
    assert parse_job(json.loads(json.dumps(job))) == spec


@FAST
@given(valid_jobs())
def test_a_valid_job_written_as_yaml_loads_and_parses(job):
    assert parse_job(load_config(yaml.safe_dump(job))) == parse_job(job)
    assert parse_job(load_config(yaml.safe_dump(job).encode())) == parse_job(job)


YAML_FRAGMENTS = st.sampled_from([
    "!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!python/tuple",
    "!!binary aGk=", "!!set {a}", "!!omap [a: 1]", "!!timestamp 2024-01-01", "!foo bar",
    "%YAML 1.1\n", "%TAG ! tag:yaml.org,2002:python/\n", "---\n", "...\n", "&a ", "*a ", "<<: *a",
    "[", "]", "{", "}", "- ", ": ", "? ", "|\n", ">\n", "\t", "  ", "\n", "'", '"', "#", ",",
    "jobId: j", "trainingInput:", "  hyperparameters:", "    params:", "      - parameterName: x",
    "1e999", "0x1F", "0o17", "1_000", "yes", "~", ".nan", "-.inf", "2001-12-14t21:59:43.10-05:00",
    "9" * 5000, "\ufeff", "\x00", "\ud800", "\x85", "\u2028",
])
YAML_TEXT = st.lists(YAML_FRAGMENTS | st.text(ANY_CHAR, max_size=6), max_size=40).map("".join)


def _loads_or_refuses(source: Any) -> None:
    try:
        data = load_config(source)
    except SpecError as exc:
        assert exc.violations and all(v.field == "config" for v in exc.violations)
        return
    assert isinstance(data, dict)
    _parses_or_refuses(data)


@FAST
@given(YAML_TEXT | st.text(ANY_CHAR) | JSON_VALUES.map(lambda v: json.dumps(v)))
def test_load_config_answers_any_text_with_data_or_a_spec_error(text):
    _loads_or_refuses(text)


@FAST
@given(st.binary(max_size=300) | YAML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
       | YAML_TEXT.map(lambda t: t.encode("utf-16", "surrogatepass")))
def test_load_config_answers_any_bytes_with_data_or_a_spec_error(raw):
    _loads_or_refuses(raw)


def test_load_config_refuses_python_tags_without_running_them(tmp_path):
    marker = tmp_path / "pwned"
    was_there = os.path.exists("/tmp/pwned")
    for doc in ('!!python/object/apply:os.system ["touch /tmp/pwned"]',
                f'!!python/object/apply:os.system ["touch {marker}"]',
                f'jobId: !!python/object/apply:os.system ["touch {marker}"]',
                f"x: !!python/object/new:os.system [touch {marker}]",
                f"%TAG ! tag:yaml.org,2002:python/\n---\nx: !object/apply:os.system "
                f"[touch {marker}]",
                "x: !!python/name:os.system", f"- !python/object/apply:os.system [touch {marker}]"):
        for source in (doc, doc.encode()):
            with pytest.raises(SpecError) as caught:
                load_config(source)
            assert caught.value.violations[0].field == "config"
    assert not marker.exists()
    assert was_there or not os.path.exists("/tmp/pwned")


def test_load_config_refuses_deep_nesting_alias_bombs_and_huge_documents():
    bomb = "a: &a [x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi",
                                                               strict=True))
    for doc in ("[" * 10_000 + "]" * 10_000, "a:\n" + "".join(
                f"{' ' * i}b:\n" for i in range(1, 200)), bomb, "x: " + "y" * (1024 * 1024 + 1),
                "x: " + "9" * 100_000):
        with pytest.raises(SpecError):
            load_config(doc)


def test_the_parser_caps_params_values_and_trials():
    hp = {"params": [{"parameterName": f"p{i}", "type": "INTEGER", "minValue": 0,
                      "maxValue": 1} for i in range(5000)], "maxTrials": 10**9}
    with pytest.raises(SpecError) as caught:
        parse_job({"jobId": "j", "trainingInput": {"pythonModule": "m", "hyperparameters": hp}})
    text = str(caught.value)
    assert "at most 100" in text and "maxTrials" in text
    cats = [{"parameterName": "c", "type": "CATEGORICAL",
             "categoricalValues": [f"v{i}" for i in range(100_000)]}]
    with pytest.raises(SpecError, match="categoricalValues has 100000 values"):
        parse_job({"jobId": "j", "trainingInput": {"pythonModule": "m",
                                                   "hyperparameters": {"params": cats}}})
    with pytest.raises(SpecError):
        parse_job(nested(50_000, "dict"))  # no RecursionError from Python objects either


# ---------------------------------------------------------------------------------------------
# The REST API


@pytest.fixture
def no_redis(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)


@pytest.fixture
def auth(no_redis):
    _, token = ApiToken.issue(submitter("alice"))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_answered_cleanly(resp, *, unimplemented: bool = False) -> Any:
    """2xx, or 4xx with ``{"error": {"code", "message", "status"}}`` and ``code`` = HTTP status.
    With ``unimplemented``, also Google's 501 UNIMPLEMENTED for an HTTP method a path lacks."""
    body: Any = json.loads(resp.content) if resp.content else None
    if unimplemented and resp.status_code == 501:
        assert body["error"]["status"] == "UNIMPLEMENTED"
        return body
    assert resp.status_code < 500, resp.content[:2000]
    assert 200 <= resp.status_code < 300 or 400 <= resp.status_code < 500, resp.status_code
    assert resp["Content-Type"].startswith("application/json")
    if resp.status_code >= 400:
        err = body["error"]
        assert {"code", "message", "status"} <= set(err)
        assert err["code"] == resp.status_code
        assert HTTP_STATUS[err["status"]] == resp.status_code
        assert isinstance(err["message"], str) and err["message"]
    return body


CONTENT_TYPES = st.sampled_from([
    "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
    "application/yaml", "", "application/json; charset=bogus",
])


def _encode(value: Any, ensure_ascii: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


BODIES = (
    st.builds(_encode, ANY_JOB, st.booleans())
    | st.builds(_encode, mutated_jobs(local_files=False), st.booleans())
    | st.binary(max_size=200)
    | YAML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
    | st.builds(lambda job: json.dumps(job).encode("utf-16"), valid_jobs(local_files=False))
    | DEEP_TEXT
)


def _create(client, auth, body: bytes, content_type: str = "application/json",
            project: str = "p"):
    """POST a create; check the answer and that a refused create left no row behind."""
    jobs_before, trials_before = Job.objects.count(), Trial.objects.count()
    resp = client.generic("POST", f"/v1/projects/{project}/jobs", body,
                          content_type=content_type, **auth)
    answer = assert_answered_cleanly(resp)
    assert Trial.objects.count() == trials_before
    if resp.status_code == 200:
        assert Job.objects.count() == jobs_before + 1
        assert Job.objects.filter(project__name=project, job_id=answer["jobId"]).exists()
        assert answer["state"] == "QUEUED"
    else:
        assert Job.objects.count() == jobs_before, "a refused create left a job behind"
    return resp


@API
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_create_answers_any_body_with_a_job_or_a_clean_error(client, auth, body, content_type):
    _create(client, auth, body, content_type)


@settings(API, max_examples=EXAMPLES * 2 // 5)
@given(job=valid_jobs(local_files=False))
def test_create_accepts_every_valid_job_once(client, auth, job):
    assume(not Job.objects.filter(job_id=job["jobId"]).exists())
    assert _create(client, auth, _encode(job, False)).status_code == 200
    assert _create(client, auth, _encode(job, True)).status_code == 409


@API
@given(project=st.text(ANY_CHAR, min_size=1, max_size=200), body=BODIES)
def test_create_in_any_project_name_answers_cleanly(client, auth, project, body):
    path = quote(project.encode("utf-8", "surrogatepass"), safe="")
    jobs_before = Job.objects.count()
    resp = client.generic("POST", f"/v1/projects/{path}/jobs", body,
                          content_type="application/json", **auth)
    assert_answered_cleanly(resp)
    if resp.status_code != 200:
        assert Job.objects.count() == jobs_before


FILTER_FRAGMENTS = st.sampled_from([
    "jobId", "state", "errorMessage", "createTime", "startTime", "endTime", "labels",
    "labels.team", "trainingInput", "trainingInput.hyperparameters.goal",
    "trainingInput.hyperparameters.maxTrials", "trainingInput.args",
    "trainingInput.hyperparameters.params.minValue", "trainingInput.scaletier", "nope",
    ":", "=", "!=", "<", "<=", ">", ">=", " AND ", " OR ", "NOT ", "-", "(", ")", " ", '"', "'",
    "\\", "*", "j*", "QUEUED", "FAILD", "2024-05-01", "2024-05-01T12:00:00Z", "2024-13-45",
    "9999-12-31T23:59:59Z", "0001-01-01", "+99999-01-01", "1e999", "NaN", "-1", "true", "vision",
    "9" * 5000, "(" * 500, ")" * 500, "NOT " * 500,
])
FILTERS = st.lists(FILTER_FRAGMENTS | st.text(ANY_CHAR, max_size=5), max_size=25).map("".join)


@st.composite
def page_tokens(draw: st.DrawFn, filter_text: str) -> str:
    """Tokens shaped like ours (right filter key) with any numbers in them, or any text."""
    key = hashlib.sha256(filter_text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    n = draw(st.integers() | HUGE_NUMBERS.filter(lambda x: isinstance(x, int)))
    m = draw(st.integers(min_value=0) | st.just(2**64) | st.just(10**30))
    raw = draw(st.sampled_from([f"k:{n}:{m}:{key}", f"k:{n}:{m}:{'0' * 8}", f"k:{n}:{m}"]))
    token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return draw(st.just(token) | st.text(ANY_CHAR, max_size=40) | st.just(""))


PAGE_SIZES = (st.integers().map(str) | st.sampled_from(
    ["", "0", "-1", "1.5", "1e3", " 7 ", "1_0", "٣", "9" * 5000, "0x10", "NaN", "\x00"])
    | st.text(ANY_CHAR, max_size=10))


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'), safe='')}"
                    for k, v in params.items())


@pytest.fixture
def some_jobs(client, auth):
    for i in range(3):
        body = {"jobId": f"j{i}", "labels": {"team": "vision"} if i else {},
                "trainingInput": {"pythonModule": "m", "hyperparameters": {"params": [
                    {"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}
        assert _create(client, auth, json.dumps(body).encode()).status_code == 200


@API
@given(data=st.data())
def test_list_answers_any_filter_page_size_and_token_cleanly(client, auth, some_jobs, data):
    filter_text = data.draw(FILTERS, label="filter")
    params = {"filter": filter_text}
    if data.draw(st.booleans()):
        params["pageSize"] = data.draw(PAGE_SIZES, label="pageSize")
    if data.draw(st.booleans()):
        params["pageToken"] = data.draw(page_tokens(filter_text), label="pageToken")
    resp = client.get("/v1/projects/p/jobs", QUERY_STRING=_query(params), **auth)
    body = assert_answered_cleanly(resp)
    if resp.status_code == 200 and "nextPageToken" in body:
        params["pageToken"] = body["nextPageToken"]
        resp = client.get("/v1/projects/p/jobs", QUERY_STRING=_query(params), **auth)
        assert resp.status_code == 200, resp.content


@API
@given(raw=st.binary(max_size=300))
def test_list_answers_any_raw_query_string_cleanly(client, auth, raw):
    resp = client.get("/v1/projects/p/jobs", QUERY_STRING=quote_from_bytes(raw, safe="=&"),
                      **auth)
    assert_answered_cleanly(resp)


MASKS = st.lists(st.sampled_from(["labels", "etag", "jobId", "trainingInput", "", " ", ",",
                                  "labels ", "LABELS", "labels.team"])
                 | st.text(ANY_CHAR, max_size=8), max_size=5).map(",".join)
PATCH_BODIES = (
    st.builds(_encode, st.fixed_dictionaries({}, optional={"labels": JSON_VALUES,
                                                           "etag": TEXTS | JSON_VALUES}),
              st.booleans())
    | st.builds(_encode, JSON_VALUES | DEEP_VALUES, st.booleans())
    | st.binary(max_size=100)
    | DEEP_TEXT
)


@API
@given(mask=MASKS, body=PATCH_BODIES, content_type=CONTENT_TYPES,
       job_id=st.sampled_from(["j1"]) | st.text(ANY_CHAR, min_size=1, max_size=20))
def test_patch_answers_any_mask_and_body_cleanly(client, auth, some_jobs, mask, body,
                                                 content_type, job_id):
    path = quote(job_id.encode("utf-8", "surrogatepass"), safe="")
    before = Job.objects.get(job_id="j1")
    resp = client.generic("PATCH", f"/v1/projects/p/jobs/{path}?{_query({'updateMask': mask})}",
                          body, content_type=content_type, **auth)
    answer = assert_answered_cleanly(resp)
    after = Job.objects.get(job_id="j1")
    if resp.status_code == 200:
        assert answer["etag"] == after.etag != before.etag
        assert answer.get("labels", {}) == after.labels
    else:
        assert (after.labels, after.etag) == (before.labels, before.etag)
    assert Job.objects.count() == 3 and Trial.objects.count() == 0


@API
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
       tail=st.text(ANY_CHAR, max_size=30), body=st.binary(max_size=50))
def test_any_method_on_any_api_path_answers_cleanly(client, auth, some_jobs, method, tail,
                                                    body):
    path = quote(tail.encode("utf-8", "surrogatepass"), safe="/:")
    resp = client.generic(method, f"/v1/projects/p/jobs/{path}", body, **auth)
    if method == "HEAD":
        assert resp.status_code < 500 or resp.status_code == 501
    else:
        assert_answered_cleanly(resp, unimplemented=True)
    assert Job.objects.count() == 3


@pytest.mark.parametrize(("url", "field"), [
    ("/v1/projects/p/jobs/%00", "job_id"), ("/v1/projects/p/jobs/a%00b:cancel", "job_id"),
    ("/v1/projects/p/jobs?filter=jobId%3Dx%00", "filter"),
    ("/v1/projects/p/locations/us-central1/customJobs/a%00b", "job_id"),
    ("/v1/projects/p/locations/us-central1/hyperparameterTuningJobs?pageToken=%00",
     "pageToken"),
])
def test_a_nul_character_in_a_name_or_a_filter_is_a_400_naming_it(client, auth, some_jobs, url,
                                                                   field):
    """PostgreSQL refuses a NUL in a query (a 500 there, found by the hypothesis test above
    when CI first ran every unit test on PostgreSQL); no name or filter can hold one.  (The
    pages answer 400 too: tests/dashboard/test_nul_characters.py.)"""
    method = "POST" if url.endswith(":cancel") else "GET"
    resp = client.generic(method, url, b"{}", **auth)
    body = assert_answered_cleanly(resp)
    assert resp.status_code == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
    assert body["error"]["message"] == f"{field} contains a NUL character."
    [violation] = body["error"]["details"][0]["fieldViolations"]
    assert violation == {"field": field, "description": "must not contain NUL characters"}


# Targeted cases from the issue: each is refused (or accepted) cleanly, with nothing half-made.

def _job(**hp: Any) -> dict[str, Any]:
    hyper = {"params": [{"parameterName": "x", "type": "INTEGER", "minValue": 1,
                         "maxValue": 4}], **hp}
    return {"jobId": "t1", "trainingInput": {"pythonModule": "trainer.task",
                                             "hyperparameters": hyper}}


def _refused(client, auth, body: bytes | str, field: str | None = None,
             content_type: str = "application/json") -> dict[str, Any]:
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    resp = _create(client, auth, raw, content_type)
    assert resp.status_code == 400, resp.content[:500]
    err: dict[str, Any] = resp.json()["error"]
    assert err["status"] == "INVALID_ARGUMENT"
    if field is not None:
        fields = [v["field"] for v in err["details"][0]["fieldViolations"]]
        assert any(f.startswith(field) for f in fields), fields
    return err


def test_a_body_over_one_mib_is_refused(client, auth):
    huge = _job()
    huge["trainingInput"]["args"] = ["a" * 1024] * 1025
    assert "1 MiB" in _refused(client, auth, json.dumps(huge))["message"]
    assert "1 MiB" in _refused(client, auth, b"\xff" * (1024 * 1024 + 1),
                               content_type="text/plain")["message"]


def test_huge_max_trials_thousands_of_params_and_categories_are_refused(client, auth):
    _refused(client, auth, json.dumps(_job(maxTrials=10**9)),
             "trainingInput.hyperparameters.maxTrials")
    _refused(client, auth, json.dumps(_job(maxTrials=10**400)),
             "trainingInput.hyperparameters.maxTrials")
    many = _job()
    many["trainingInput"]["hyperparameters"]["params"] = [
        {"parameterName": f"p{i}", "type": "INTEGER", "minValue": 0, "maxValue": 1}
        for i in range(5000)]
    _refused(client, auth, json.dumps(many), "trainingInput.hyperparameters.params")
    cats = _job()
    cats["trainingInput"]["hyperparameters"]["params"] = [
        {"parameterName": "c", "type": "CATEGORICAL",
         "categoricalValues": [str(i) for i in range(100_000)]}]
    _refused(client, auth, json.dumps(cats), "trainingInput.hyperparameters.params[0]")


@pytest.mark.parametrize("depth", [100, 999, 1001, 10_000, 100_000])
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_deeply_nested_json_is_a_400_not_a_500(client, auth, depth, kind):
    if kind == "list":
        text = "[" * depth + "]" * depth
    else:
        text = '{"jobId": "t1", "trainingInput": ' + '{"a":' * depth + "1" + "}" * depth + "}"
    _refused(client, auth, text)
    resp = client.generic("PATCH", "/v1/projects/p/jobs/t1?updateMask=labels", text,
                          content_type="application/json", **auth)
    assert resp.status_code in (400, 404) and assert_answered_cleanly(resp)


def test_a_ten_thousand_character_job_id_is_refused(client, auth):
    job = _job()
    job["jobId"] = "j" * 10_000
    err = _refused(client, auth, json.dumps(job), "jobId")
    assert len(err["message"]) < 5000
    resp = client.get("/v1/projects/p/jobs/" + "j" * 10_000, **auth)
    assert resp.status_code == 404 and assert_answered_cleanly(resp)


HP = "trainingInput.hyperparameters"


@pytest.mark.parametrize("bad", ["\x00", "\ud800", "\udcff", "a\x00b", "\ud83d"])
def test_nul_bytes_and_lone_surrogates_are_refused_wherever_they_would_reach_a_trial(
        client, auth, bad):
    """Escaped (\\u0000, \\ud800) or raw, they are refused in every field that reaches the
    trainer's argv, environment or file system, and never cause a 500."""
    for mutate, field in (
        (lambda j: j.update(jobId="j" + bad), "jobId"),
        (lambda j: j["trainingInput"].update(pythonModule="trainer" + bad), "trainingInput"),
        (lambda j: j["trainingInput"]["hyperparameters"]["params"][0].update(
            parameterName="x" + bad), f"{HP}.params[0]"),
        (lambda j: j["trainingInput"]["hyperparameters"].update(params=[
            {"parameterName": "c", "type": "CATEGORICAL", "categoricalValues": ["a", bad]}]),
         f"{HP}.params[0].categoricalValues[1]"),
        (lambda j: j.update(labels={"k" + bad: "v"}), "labels"),
        (lambda j: j.update(labels={"k": "v" + bad}), "labels"),
        (lambda j: j["trainingInput"].update(args=["--x", "y" + bad]), "trainingInput.args[1]"),
        (lambda j: j["trainingInput"].update(packageUris=["/tmp/x" + bad]),
         "trainingInput.packageUris[0]"),
        (lambda j: j["trainingInput"].update(jobDir="/tmp/x" + bad), "trainingInput.jobDir"),
        (lambda j: j["trainingInput"]["hyperparameters"].update(
            hyperparameterMetricTag="m" + bad), f"{HP}.hyperparameterMetricTag"),
    ):
        job = _job()
        mutate(job)
        for ensure_ascii in (True, False):
            _refused(client, auth, _encode(job, ensure_ascii), field)
    # A raw NUL byte inside a JSON string is not JSON at all.
    _refused(client, auth, b'{"jobId": "a\x00", "trainingInput": {}}', "job")


@pytest.mark.parametrize("uri", [
    "trainer", "./trainer", "../trainer", "~/trainer", "trainer/../../etc", "file:trainer",
    "file://host/srv/trainer", "/tmp/../etc", "/tmp/./../../etc/passwd", "file:///tmp/../etc",
    "/etc/passwd", "file:///etc", "//etc/passwd", "gs://b/trainer",
    "/proc/self/environ", "/tmp/x/..",
])
def test_package_uris_and_job_dir_with_traversal_or_relative_paths_are_refused(
        client, auth, uri):
    job = _job()
    job["trainingInput"]["packageUris"] = [uri]
    _refused(client, auth, json.dumps(job), "trainingInput.packageUris[0]")
    job = _job()
    job["trainingInput"]["jobDir"] = uri
    _refused(client, auth, json.dumps(job), "trainingInput.jobDir")


def test_percent_escapes_in_a_file_uri_never_lead_out_of_the_directory(client, auth):
    """The runner takes the text after file:// literally (``%2e%2e`` is a directory of that
    name), and so does the allowed-paths check: whatever is accepted stays inside /tmp."""
    from hpdash.core.runner.command import trial_job_dir

    for uri in ("file:///tmp/%2e%2e/etc", "file:///tmp/%2E%2E/%2e%2e/etc", "/tmp/%2e%2e/etc"):
        job = _job()
        job["jobId"] = "pct"
        job["trainingInput"]["jobDir"] = uri
        resp = _create(client, auth, json.dumps(job).encode())
        if resp.status_code == 200:
            assert os.path.realpath(trial_job_dir(uri, 1)).startswith("/tmp/")
            Job.objects.filter(job_id="pct").delete()


def test_a_symlink_out_of_the_allowed_directories_is_refused(client, auth, tmp_path):
    link = tmp_path / "sneaky"
    link.symlink_to("/etc")
    job = _job()
    job["trainingInput"]["packageUris"] = [str(link)]
    _refused(client, auth, json.dumps(job), "trainingInput.packageUris[0]")


def test_a_crafted_page_token_with_huge_numbers_is_a_400(client, auth, some_jobs):
    key = hashlib.sha256(b"").hexdigest()[:8]
    for raw in (f"k:{10**30}:1:{key}", f"k:-{10**30}:1:{key}", f"k:1:{10**30}:{key}",
                f"k:{2**63}:{2**63}:{key}", f"k:{'9' * 5000}:1:{key}"):
        token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        resp = client.get("/v1/projects/p/jobs", {"pageToken": token}, **auth)
        assert resp.status_code in (200, 400) and assert_answered_cleanly(resp)


def test_the_database_stays_usable_after_every_kind_of_refusal(client, auth):
    """After every kind of refusal the connection still works (no broken transaction)."""
    for body in (b"[" * 5000, b"\xff", json.dumps(_job(maxTrials=10**9)).encode()):
        _create(client, auth, body)
    assert _create(client, auth, json.dumps(_job()).encode()).status_code == 200
