"""Parse and validate ml v1 ``Job`` resources (as sent to the API or read from a gcloud config).

This is hpdash's one validator: the REST API, the YAML upload, the form and the admin all call
:func:`parse_job` (or :func:`parse_hyperparameters`) and map the returned
:class:`~hpdash.core.spec.types.FieldViolation` paths onto their own fields.

Contract:

- Input is JSON-like data (``dict``/``list``/``str``/``int``/``float``/``bool``/``None``, nested
  arbitrarily). Whatever it is, the only exception that can leave is :class:`SpecError`, which
  carries *every* violation found, each with a JSON path in the camelCase names the user wrote
  (``trainingInput.hyperparameters.params[2].minValue``).
- Field names, enum names and JSON types follow the ml v1 discovery document. Numbers follow the
  proto3 JSON mapping: integer fields take a JSON number or a decimal string, double fields take a
  JSON number or a numeric string. Booleans are never numbers and numbers are never strings: a
  YAML ``yes`` in a list of categories is reported, not silently turned into ``"True"``.
- ``NewJob.request["trainingInput"]`` is the validated ``trainingInput`` in API form, as the API
  echoes it: in the user's key order, int64 fields as decimal strings, doubles as floats;
  defaults are not filled in.  Everything hpdash runs with is in the typed
  :class:`~hpdash.core.spec.types.JobDefinition`: the GPU request and ``TF_CONFIG``'s ``job``
  are read from ml v1's fields once, while parsing.

Where the parts live: :mod:`~hpdash.core.spec.config` loads YAML/JSON config text safely,
:mod:`~hpdash.core.spec.checks` holds the violation collector and the generic checkers,
:mod:`~hpdash.core.spec.params` the ``ParameterSpec`` rules and
:mod:`~hpdash.core.spec.training_input` the trainer and machine fields of ``trainingInput``;
this module holds the job and its ``HyperparameterSpec``.  No Django here: only the standard
library.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from .checks import (
    BAD,
    Checker,
    Ctx,
    FieldTree,
    check_bool,
    check_object,
    enum_checker,
    field_name,
    field_tree,
    got,
    int_checker,
    join_path,
    quote_hint,
    show,
    unknown_field,
    unpassable,
)
from .params import MAX_PARAMS, PARAM_CHECKERS, parse_params
from .space import value_count
from .training_input import (
    _TRAINING_INPUT_SCHEMA,
    gpu_request,
    image_uri,
    snake_case_keys,
)
from .types import (
    ALGORITHMS,
    DEFAULT_MAX_RUNNING_SECONDS,
    DEFAULT_METRIC_TAG,
    ContainerImage,
    FieldViolation,
    HyperparameterSpec,
    JobDefinition,
    NewJob,
    ParameterSpec,
    PythonPackage,
    SpecError,
)

__all__ = [
    "JOB_ID_PATTERN",
    "PROJECT_PATTERN",
    "RESERVED_METRIC_TAGS",
    "cap_violations",
    "check_labels",
    "parse_hyperparameters",
    "parse_job",
    "parse_labels",
]

# ---------------------------------------------------------------------------------------------
# Limits and patterns


JOB_ID_PATTERN: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
# Project names (the <project> of projects/<project>/jobs): hpdash's choice.
PROJECT_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_MAX_LABELS: Final = 64

# Keys cloudml-hypertune writes into every metric record next to the metric itself; a metric tag
# equal to one of them would be overwritten by (or overwrite) the bookkeeping value.
RESERVED_METRIC_TAGS: Final = frozenset({"timestamp", "trial", "global_step", "checkpoint_path"})

_MAX_METRIC_TAG_LEN: Final = 256
_MAX_TRIALS: Final = 100_000
_MAX_PARALLEL_TRIALS: Final = 1000
_MAX_GRID: Final = 10_000_000
# What a trial's process receives must fit the OS's limits: one environment string at most
# 128 KiB (TF_CONFIG and CLOUD_ML_JOB each hold the whole trainingInput), and argv plus
# environment at most ARG_MAX (2 MiB here).  Exceeding them fails every trial with E2BIG.
_MAX_TRAINING_INPUT_JSON: Final = 100_000

OUTPUT_ONLY_JOB_FIELDS: Final = frozenset(
    {"createTime", "startTime", "endTime", "state", "errorMessage", "trainingOutput", "etag",
     "jobPosition"}
)
_PREDICTION_FIELDS: Final = frozenset({"predictionInput", "predictionOutput"})
_JOB_FIELDS: Final = frozenset({"jobId", "labels", "trainingInput"}) | OUTPUT_ONLY_JOB_FIELDS | (
    _PREDICTION_FIELDS
)

_GOALS_IN = ("GOAL_TYPE_UNSPECIFIED", "MAXIMIZE", "MINIMIZE")

# ---------------------------------------------------------------------------------------------
# Job id and labels


def _check_job_id(ctx: Ctx, value: Any, path: str) -> Any:
    name = field_name(path)
    if not isinstance(value, str):
        ctx.add(path, f"{name} must be a string, got {got(value)}")
        return BAD
    if JOB_ID_PATTERN.fullmatch(value):
        return value
    hint = ""
    if "-" in value and JOB_ID_PATTERN.fullmatch(value.replace("-", "_")):
        hint = f" (did you mean {value.replace('-', '_')}?)"
    ctx.add(path, f"{name} {show(value)} is not valid: it must start with a letter, contain "
                  f"only letters, digits and underscores, and be at most 128 characters{hint}")
    return BAD


def _check_labels(ctx: Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        ctx.add(path, f"labels must be an object mapping label keys to string values, got "
                      f"{got(value)}")
        return BAD
    if len(value) > _MAX_LABELS:
        ctx.add(path, f"labels has {len(value)} entries; at most {_MAX_LABELS} are allowed")
    out: dict[str, str] = {}
    for key, v in value.items():
        if not isinstance(key, str):
            ctx.add(path, f"label keys must be strings, got {got(key)}")
            continue
        kpath = join_path(path, key)
        ok = True
        if not _LABEL_KEY.fullmatch(key):
            ctx.add(kpath, f"label key {show(key)} is not valid: it must start with a lowercase "
                           "letter and contain only lowercase letters, digits, '_' and '-' "
                           "(at most 63 characters)")
            ok = False
        if not isinstance(v, str):
            ctx.add(kpath, f"label {show(key)} must have a string value, got {got(v)}"
                           f"{quote_hint(v)}")
            ok = False
        elif not _LABEL_VALUE.fullmatch(v):
            ctx.add(kpath, f"label value {show(v)} is not valid: it may contain only lowercase "
                           "letters, digits, '_' and '-' (at most 63 characters)")
            ok = False
        if ok:
            out[key] = v
    return out


# The labels rule, for the other front doors (Google's label rules are the same everywhere).
check_labels: Checker = _check_labels


def parse_labels(data: Any, path: str = "labels") -> dict[str, str]:
    """Validate a ``labels`` map (Google's label rules); for ``jobs.patch``."""
    ctx = Ctx()
    out = _check_labels(ctx, data, path)
    ctx.raise_if_any(path)
    assert isinstance(out, dict)
    return out


# ---------------------------------------------------------------------------------------------
# HyperparameterSpec


def _check_metric_tag(ctx: Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        ctx.add(path, f"hyperparameterMetricTag must be a string, got {got(value)}")
        return BAD
    if unpassable(value):  # the trial's CLOUD_ML_HP_METRIC_TAG
        ctx.add(path, f"hyperparameterMetricTag {show(value)} {unpassable(value)}")
        return BAD
    if not value:
        ctx.add(path, "hyperparameterMetricTag must not be empty (leave it out to use "
                      f"{DEFAULT_METRIC_TAG})")
        return BAD
    if len(value) > _MAX_METRIC_TAG_LEN:
        ctx.add(path, f"hyperparameterMetricTag is {len(value)} characters long; at most "
                      f"{_MAX_METRIC_TAG_LEN} are allowed")
        return BAD
    if value in RESERVED_METRIC_TAGS:
        ctx.add(path, f"hyperparameterMetricTag {show(value)} is reserved: cloudml-hypertune "
                      "writes a key of that name into every metric record; choose another tag")
        return BAD
    return value


_HP_CHECKERS: dict[str, Checker] = {
    "goal": enum_checker(_GOALS_IN),
    "maxTrials": int_checker(1, _MAX_TRIALS),
    "maxParallelTrials": int_checker(1, _MAX_PARALLEL_TRIALS),
    "maxFailedTrials": int_checker(0, _MAX_TRIALS),
    "hyperparameterMetricTag": _check_metric_tag,
    "resumePreviousJobId": _check_job_id,
    "enableTrialEarlyStopping": check_bool,
    "algorithm": enum_checker(tuple(ALGORITHMS)),
    # "params" is added per call by _parse_hp.
}


# ml v1's HyperparameterSpec fields and the typed spec's names for them.
_HP_FIELDS: Final = {
    "goal": "goal", "hyperparameterMetricTag": "metric_tag", "params": "params",
    "maxTrials": "max_trials", "maxParallelTrials": "max_parallel_trials",
    "maxFailedTrials": "max_failed_trials", "enableTrialEarlyStopping": "enable_early_stopping",
    "resumePreviousJobId": "resume_previous_job_id", "algorithm": "algorithm",
}


# Where the typed job's fields are in an ml v1 request (NewJob.paths).
_TYPED_PATHS: Final = {
    "trainer.package_uris": "trainingInput.packageUris",
    "trainer.python_version": "trainingInput.pythonVersion",
    "trainer.image_uri": "trainingInput.masterConfig.imageUri",
    "job_dir": "trainingInput.jobDir",
    **{f"hyperparameters.{typed}": f"trainingInput.hyperparameters.{name}"
       for name, typed in _HP_FIELDS.items()},
}


def _check_grid(ctx: Ctx, path: str, specs: list[ParameterSpec | None], params_raw: Any
                ) -> None:
    """GRID_SEARCH needs a finite grid of at most ``_MAX_GRID`` points."""
    for i, praw in enumerate(params_raw if isinstance(params_raw, list) else []):
        if isinstance(praw, dict) and praw.get("type") == "DOUBLE":
            ctx.add(f"{path}.params[{i}].type",
                    "type DOUBLE cannot be used with GRID_SEARCH, which needs a finite grid: "
                    "use INTEGER, CATEGORICAL or DISCRETE, or another algorithm")
    if not specs or not all(p is not None and p.type != "DOUBLE" for p in specs):
        return
    size = 1
    for p in specs:
        assert p is not None
        size *= value_count(p) or 0
        if size > _MAX_GRID:
            ctx.add(f"{path}.params",
                    f"the GRID_SEARCH grid has more than {_MAX_GRID:,} points (the product "
                    "of every parameter's number of values); narrow the parameters")
            return


def _parse_hp(ctx: Ctx, data: Any, path: str) -> tuple[HyperparameterSpec | None, Any]:
    start = ctx.count
    specs: list[ParameterSpec | None] = []
    params_raw: Any = []

    def check_params(c: Ctx, v: Any, p: str) -> Any:
        nonlocal specs, params_raw
        specs, params_raw = parse_params(c, v, p)
        return params_raw

    raw = check_object(ctx, data, path, {**_HP_CHECKERS, "params": check_params})
    if raw is BAD:
        return None, BAD
    assert isinstance(data, dict)

    max_trials = raw.get("maxTrials", 1)
    # When maxTrials itself is invalid, comparing against it would only add noise.
    if "maxFailedTrials" in raw and ("maxTrials" in raw or "maxTrials" not in data):
        if raw["maxFailedTrials"] > max_trials:
            ctx.add(f"{path}.maxFailedTrials",
                    f"maxFailedTrials ({raw['maxFailedTrials']}) must be ≤ maxTrials "
                    f"({max_trials})")

    # Resuming copies the previous job's params, so they may be left out.
    if "resumePreviousJobId" not in data:
        if "params" not in data:
            ctx.add(f"{path}.params", "params is required: list at least one parameter to tune")
        elif isinstance(data["params"], list | tuple) and not data["params"]:
            ctx.add(f"{path}.params", "params must list at least one parameter to tune")

    if raw.get("algorithm") == "GRID_SEARCH":
        _check_grid(ctx, path, specs, params_raw)

    if ctx.count > start:
        return None, raw
    params = tuple(p for p in specs if p is not None)
    goal = raw.get("goal", "MAXIMIZE")
    spec = HyperparameterSpec(
        params=params,
        goal="MAXIMIZE" if goal == "GOAL_TYPE_UNSPECIFIED" else goal,
        metric_tag=raw.get("hyperparameterMetricTag", DEFAULT_METRIC_TAG),
        max_trials=max_trials,
        max_parallel_trials=raw.get("maxParallelTrials", 1),
        max_failed_trials=raw.get("maxFailedTrials", 0),
        enable_early_stopping=raw.get("enableTrialEarlyStopping", False),
        resume_previous_job_id=raw.get("resumePreviousJobId"),
        algorithm=raw.get("algorithm", "ALGORITHM_UNSPECIFIED"),
        given=frozenset(_HP_FIELDS[key] for key in data if key in _HP_FIELDS),
    )
    return spec, raw


def parse_hyperparameters(
    data: Any, path: str = "trainingInput.hyperparameters"
) -> HyperparameterSpec:
    """Validate one ``HyperparameterSpec`` object; violations are reported under ``path``."""
    ctx = Ctx()
    try:
        spec, _ = _parse_hp(ctx, data, path)
    except RecursionError:  # pragma: no cover - the walk is bounded by the schema
        raise SpecError([FieldViolation(path, "the value is nested too deeply")]) from None
    ctx.raise_if_any(path)
    assert spec is not None
    return spec


# ---------------------------------------------------------------------------------------------
# TrainingInput and Job


_COUNT_TYPES = (
    ("workerCount", "workerType"),
    ("parameterServerCount", "parameterServerType"),
    ("evaluatorCount", "evaluatorType"),
)


def _parse_training_input(ctx: Ctx, data: Any, path: str
                          ) -> tuple[JobDefinition | None, dict[str, Any]]:
    start = ctx.count
    hp: HyperparameterSpec | None = None

    def check_hp(c: Ctx, v: Any, p: str) -> Any:
        nonlocal hp
        hp, raw_hp = _parse_hp(c, v, p)
        return raw_hp

    schema = {**_TRAINING_INPUT_SCHEMA, "hyperparameters": check_hp}
    raw = check_object(ctx, data, path, schema)
    if raw is BAD:
        return None, {}
    assert isinstance(data, dict)

    image = image_uri(raw)
    master = data.get("masterConfig")
    if image or (isinstance(master, dict) and master.get("imageUri")):  # even a bad one
        for key in ("pythonModule", "packageUris"):
            if data.get(key):
                ctx.add(f"{path}.{key}", f"{key} cannot be given with masterConfig.imageUri: "
                                         "a trial runs either a container image or Python "
                                         "packages")
    elif "pythonModule" not in data:
        ctx.add(f"{path}.pythonModule", "pythonModule is required: the Python module to run "
                                        "for each trial, such as trainer.task (on the command "
                                        "line: --module-name trainer.task), unless "
                                        "masterConfig.imageUri names a container image")
    if "hyperparameters" not in data:
        ctx.add(f"{path}.hyperparameters", "hyperparameters is required: hpdash runs "
                                           "hyperparameter tuning jobs")

    # ml v1's CUSTOM scale tier rules. An unset tier means BASIC.
    if "scaleTier" not in data or "scaleTier" in raw:
        tier = raw.get("scaleTier")
        if tier == "CUSTOM" and "masterType" not in data:
            ctx.add(f"{path}.masterType", "masterType is required when scaleTier is CUSTOM")
        for count_key, type_key in _COUNT_TYPES:
            if count_key not in raw or int(raw[count_key]) == 0:
                continue
            if tier != "CUSTOM":
                now = f"scaleTier is {tier}" if tier else "scaleTier is not set, which means BASIC"
                ctx.add(f"{path}.{count_key}",
                        f"{count_key} can only be used when scaleTier is CUSTOM ({now})")
            elif type_key not in data:
                ctx.add(f"{path}.{type_key}",
                        f"{type_key} is required when {count_key} is greater than zero")

    _check_command_size(ctx, raw, path)
    if ctx.count > start or hp is None:
        return None, raw
    limit = (raw.get("scheduling") or {}).get("maxRunningTime")
    return JobDefinition(
        hyperparameters=hp,
        trainer=ContainerImage(image_uri=image,
                               command=tuple(raw["masterConfig"].get("containerCommand", ())),
                               args=tuple(raw["masterConfig"].get("containerArgs", ())))
        if image else PythonPackage(module=raw["pythonModule"],
                                    package_uris=tuple(raw.get("packageUris", ())),
                                    python_version=raw.get("pythonVersion")),
        args=tuple(raw.get("args", ())),
        job_dir=raw.get("jobDir"),
        max_running_seconds=float(limit[:-1]) if limit else DEFAULT_MAX_RUNNING_SECONDS,
        gpus=gpu_request(raw),
        described=snake_case_keys(raw),
    ), raw


def training_input_fields() -> FieldTree:
    """Every field name ``trainingInput`` accepts, as a tree: the one catalogue (the list
    filter reports a misspelt ``trainingInput.scaletier`` from it)."""
    hp = {**field_tree(_HP_CHECKERS), "params": field_tree(PARAM_CHECKERS)}
    return {**field_tree(_TRAINING_INPUT_SCHEMA), "hyperparameters": hp}


def _check_command_size(ctx: Ctx, raw: dict[str, Any], path: str) -> None:
    """A job that validates can run: its trials' command line and environment fit the OS."""
    try:
        size = len(json.dumps(raw, separators=(",", ":")).encode())
    except (TypeError, ValueError, RecursionError):  # not data at all: reported elsewhere
        return
    if size > _MAX_TRAINING_INPUT_JSON:
        ctx.add(path, f"trainingInput is {size:,} bytes as JSON; each trial receives it in "
                      f"TF_CONFIG, which the OS caps at 128 KiB: at most "
                      f"{_MAX_TRAINING_INPUT_JSON:,} bytes are allowed (move large values into "
                      "a file and pass its path in args)")
    # args are part of that JSON, so they fit on the command line too (ARG_MAX is 2 MiB).


def _parse_job(ctx: Ctx, data: Any, require_job_id: bool) -> NewJob | None:
    if not isinstance(data, dict):
        ctx.add("job", f"the job must be an object (a Job resource), got {got(data)}")
        return None
    job_id: Any = None
    labels: Any = {}
    training: JobDefinition | None = None
    raw: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or key not in _JOB_FIELDS:
            unknown_field(ctx, "", key, _JOB_FIELDS)
        elif key in _PREDICTION_FIELDS:
            ctx.add(key, f"{key}: prediction jobs are not supported by hpdash, which runs "
                         "hyperparameter tuning jobs (trainingInput)")
        elif key == "jobId":
            job_id = _check_job_id(ctx, value, "jobId")
        elif key == "labels":
            labels = _check_labels(ctx, value, "labels")
        elif key == "trainingInput":
            training, raw = _parse_training_input(ctx, value, "trainingInput")
        # Output-only fields are accepted and ignored.
    if require_job_id and "jobId" not in data:
        ctx.add("jobId", "jobId is required")
    if "trainingInput" not in data:
        ctx.add("trainingInput", "trainingInput is required: hpdash runs hyperparameter tuning "
                                 "jobs described by trainingInput.hyperparameters")
    if ctx.count or training is None:
        return None
    return NewJob(job_id=job_id if isinstance(job_id, str) else None, definition=training,
                  labels=labels, request={"trainingInput": raw}, family="mlv1",
                  paths=_TYPED_PATHS)


def parse_job(data: Any, *, require_job_id: bool = True) -> NewJob:
    """Validate a whole ml v1 ``Job`` resource (camelCase JSON data) into a :class:`NewJob`.

    With ``require_job_id=False`` a gcloud config without ``jobId`` (``{trainingInput: ...}``)
    is accepted. Output-only fields are ignored. Raises :class:`SpecError` with every violation.
    """
    ctx = Ctx()
    try:
        job = _parse_job(ctx, data, require_job_id)
    except RecursionError:  # pragma: no cover - the walk is bounded by the schema
        raise SpecError([FieldViolation("job", "the job is nested too deeply")]) from None
    ctx.raise_if_any("job")
    assert job is not None
    return job


def cap_violations(data: Any) -> list[FieldViolation]:
    """Only the size caps of :func:`parse_job` (``trainingInput`` as JSON, the number of
    params), for a job that need not be complete: the new-job form's Import applies them
    before it builds a form of a pasted job (10,000 params took a web thread 88 s)."""
    ctx = Ctx()
    training = data.get("trainingInput") if isinstance(data, dict) else None
    if isinstance(training, dict):
        _check_command_size(ctx, training, "trainingInput")
        hp = training.get("hyperparameters")
        params = hp.get("params") if isinstance(hp, dict) else None
        if isinstance(params, list | tuple) and len(params) > MAX_PARAMS:
            ctx.add("trainingInput.hyperparameters.params",
                    f"params has {len(params)} parameters; at most {MAX_PARAMS} are allowed")
    return ctx.violations
