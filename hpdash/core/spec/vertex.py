"""Parse Vertex AI ``HyperparameterTuningJob`` and ``CustomJob`` resources into the typed job.

The Vertex front door's validator, as :mod:`hpdash.core.spec.parse` is ml v1's: it builds the
same :class:`~hpdash.core.spec.types.NewJob` (``family="vertex"``, ``contract="vertex"``), and
every violation names the Vertex field path the user wrote
(``trialJobSpec.workerPoolSpecs[0].pythonPackageSpec.packageUris[0]``).  Input is proto3 JSON
as the ``google-cloud-aiplatform`` SDK sends it: enums as numbers or names, default values left
out, int64 as strings.

Decisions (documented in the README's "Coming from Vertex AI"):

- A ``CustomJob`` is a job of one trial with no parameters: the trainer runs once, its
  ``AIP_*`` directories right under ``baseOutputDirectory`` (a tuning trial's are under
  ``<base>/<trialId>/``), as on Vertex.
- One worker pool of one replica; ``pythonPackageSpec``, or ``containerSpec`` (run by the
  container executor, as ml v1's ``masterConfig.imageUri``: the image's entrypoint or
  ``command``, then ``args``, then ``--name=value``); ``executorImageUri`` is recorded and
  ignored (the trial runs in hpdash's Python environment, as ml v1's ``runtimeVersion``).
  ``machineSpec.acceleratorCount`` GPUs of the recorded ``acceleratorType`` are leased to
  each trial; TPUs are refused.
- Several metrics make a multi-objective study (the first is ``metric_tag``/``goal``, the
  rest ``more_metrics``); ``conditionalParameterSpecs`` are refused until they are built.
  ``defaultValue`` is checked; when every parameter has one, the first trial takes them.  Any
  of the stopping specs turns early stopping on (the rule is the server's);
  ``studyStoppingConfig`` stops the study early (hpdash.core.study_stopping).
- ``packageUris`` and ``baseOutputDirectory.outputUriPrefix`` are absolute paths or
  ``file://`` URIs, as in ml v1: there is no Cloud Storage.  A server with
  ``HPDASH_GCS_ROOT`` reads ``gs://BUCKET/PATH`` as ``<root>/BUCKET/PATH`` (a local mirror).

No Django here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from .checks import (
    BAD,
    Checker,
    Ctx,
    check_arg,
    check_bool,
    check_duration,
    check_object,
    check_str,
    got,
    int_checker,
    list_checker,
    object_checker,
    show,
)
from .parse import check_labels
from .training_input import check_image_uri, check_local_location, check_python_module
from .types import (
    DEFAULT_MAX_RUNNING_SECONDS,
    DEFAULT_METRIC_TAG,
    ContainerImage,
    FieldViolation,
    GpuRequest,
    HyperparameterSpec,
    JobDefinition,
    MetricSpec,
    NewJob,
    PythonPackage,
    SpecError,
    Trainer,
)
from .vertex_gcs import echo_as_sent, on_local_disk
from .vertex_study import (
    STOPPING_SPEC_KEYS,
    STUDY_SCHEMA,
    parse_parameters,
    study_stopping,
    vertex_enum,
)

__all__ = ["ACCELERATORS", "parse_custom_job", "parse_tuning_job"]

ACCELERATORS: Final = {
    0: "ACCELERATOR_TYPE_UNSPECIFIED", 1: "NVIDIA_TESLA_K80", 2: "NVIDIA_TESLA_P100",
    3: "NVIDIA_TESLA_V100", 4: "NVIDIA_TESLA_P4", 5: "NVIDIA_TESLA_T4", 6: "TPU_V2",
    7: "TPU_V3", 8: "NVIDIA_TESLA_A100", 9: "NVIDIA_A100_80GB", 10: "TPU_V4_POD",
    11: "NVIDIA_L4", 12: "TPU_V5_LITEPOD", 13: "NVIDIA_H100_80GB", 14: "NVIDIA_H100_MEGA_80GB",
    15: "NVIDIA_H200_141GB", 16: "NVIDIA_B200", 17: "NVIDIA_GB200", 18: "NVIDIA_RTX_PRO_6000",
}
_INT32_MAX: Final = 2**31 - 1
_MAX_TRIALS: Final = 100_000
_MAX_PARALLEL: Final = 1000
_MAX_DISPLAY_NAME: Final = 128
_MAX_METRICS: Final = 10
_MAX_SPEC_JSON: Final = 100_000  # the job reaches each trial in TF_CONFIG (see parse.py)
# Output-only fields a client may send back (a resource it read): accepted and ignored.
_OUTPUT_ONLY: Final = frozenset({
    "name", "state", "createTime", "startTime", "endTime", "updateTime", "error", "trials",
    "webAccessUris", "satisfiesPzs", "satisfiesPzi"})


def _any(ctx: Ctx, value: Any, path: str) -> Any:
    """A field hpdash records and ignores (it has no counterpart on one machine)."""
    return value


def _check_display_name(ctx: Ctx, value: Any, path: str) -> Any:
    if check_arg(ctx, value, path) is BAD:
        return BAD
    if not value or len(value) > _MAX_DISPLAY_NAME:
        ctx.add(path, f"displayName must be 1 to {_MAX_DISPLAY_NAME} characters, got "
                      f"{len(value)}")
        return BAD
    return value


def _check_output_dir(ctx: Ctx, value: Any, path: str) -> Any:
    if isinstance(value, str) and value.lower().startswith("gs://"):
        ctx.add(path, f"outputUriPrefix {show(value)} is a gs:// location, but hpdash writes "
                      "to local files: give a local directory as an absolute path or a file:// "
                      "URI (with the SDK: base_output_dir=\"/srv/out\"; without it the SDK "
                      "makes a gs:// one under staging_bucket), or ask the administrator to "
                      "mirror Cloud Storage locally (HPDASH_GCS_ROOT)")
        return BAD
    return check_local_location(ctx, value, path)


def _check_env_var(ctx: Ctx, value: Any, path: str) -> Any:
    out = check_object(ctx, value, path, {"name": check_arg, "value": check_arg})
    if out is BAD:
        return BAD
    name = out.get("name", "")
    if not name or "=" in name:
        ctx.add(f"{path}.name", f"name must be a non-empty variable name without '=', got "
                                f"{show(name)}")
        return BAD
    return out


def _check_accelerator(ctx: Ctx, value: Any, path: str) -> Any:
    name = vertex_enum(ACCELERATORS)(ctx, value, path)
    if isinstance(name, str) and name.startswith("TPU"):
        ctx.add(path, f"acceleratorType {name}: hpdash leases GPUs, not TPUs")
        return BAD
    return name


_POOL: Final = object_checker({
    "machineSpec": object_checker({
        "machineType": check_str,
        "acceleratorType": _check_accelerator,
        "acceleratorCount": int_checker(0, _INT32_MAX),
        "gpuPartitionSize": check_str,
        "tpuTopology": check_str,
        "reservationAffinity": _any,
    }),
    "replicaCount": int_checker(0, 2**63 - 1, as_string=True),
    "diskSpec": object_checker({"bootDiskType": check_str,
                                "bootDiskSizeGb": int_checker(0, _INT32_MAX)}),
    "nfsMounts": _any,
    "lustreMounts": _any,
    "containerSpec": object_checker({
        "imageUri": check_image_uri,
        "command": list_checker(check_arg),
        "args": list_checker(check_arg),
        "env": list_checker(_check_env_var),
    }),
    "pythonPackageSpec": object_checker({
        "executorImageUri": check_str,
        "packageUris": list_checker(check_local_location, max_items=100),
        "pythonModule": check_python_module,
        "args": list_checker(check_arg),
        "env": list_checker(_check_env_var),
    }),
})

_CUSTOM_JOB_SPEC: Final[dict[str, Checker]] = {
    "workerPoolSpecs": list_checker(_POOL),
    "scheduling": object_checker({
        "timeout": check_duration, "restartJobOnWorkerRestart": check_bool,
        "strategy": _any, "disableRetries": check_bool, "maxWaitDuration": check_duration}),
    "baseOutputDirectory": object_checker({"outputUriPrefix": _check_output_dir}),
    **{key: _any for key in (
        "serviceAccount", "network", "reservedIpRanges", "tensorboard", "enableWebAccess",
        "enableDashboardAccess", "experiment", "experimentRun", "models",
        "persistentResourceId", "pscInterfaceConfig", "protectedArtifactLocationId")},
}


_Trainer = tuple[Trainer | None, tuple[tuple[str, str], ...], GpuRequest, tuple[str, ...]]


def _trainer(ctx: Ctx, data: Any, raw: dict[str, Any], path: str) -> _Trainer:
    """The one pool's trainer, environment, GPUs and args (after checking there is one)."""
    pools = raw.get("workerPoolSpecs")
    given = data.get("workerPoolSpecs") if isinstance(data, dict) else None
    if not isinstance(given, list) or not given:
        ctx.add(f"{path}.workerPoolSpecs", "workerPoolSpecs is required: one worker pool with "
                                           "a pythonPackageSpec or a containerSpec")
        return None, (), GpuRequest(), ()
    for i in range(1, len(given)):
        if given[i]:  # Vertex lets later pools be empty placeholders
            ctx.add(f"{path}.workerPoolSpecs[{i}]", "distributed training (more than one "
                    "worker pool) is not supported: hpdash runs each trial as one process")
    if not isinstance(pools, list) or not pools:
        return None, (), GpuRequest(), ()
    pool, ppath = pools[0], f"{path}.workerPoolSpecs[0]"
    if int(pool.get("replicaCount", "1")) > 1:
        ctx.add(f"{ppath}.replicaCount", "replicaCount must be 1: hpdash runs each trial as "
                                         "one process (distributed training is not supported)")
    package, container = pool.get("pythonPackageSpec"), pool.get("containerSpec")
    if package is not None and container is not None:
        ctx.add(f"{ppath}.containerSpec", "give either containerSpec or pythonPackageSpec, "
                                          "not both")
        return None, (), GpuRequest(), ()
    spec = package if package is not None else container
    if spec is None:
        if "containerSpec" not in given[0] and "pythonPackageSpec" not in given[0]:
            ctx.add(f"{ppath}.pythonPackageSpec", "pythonPackageSpec (packageUris and "
                                                  "pythonModule) or containerSpec (imageUri) "
                                                  "is required")
        return None, (), GpuRequest(), ()
    trainer: Trainer
    if package is not None:
        for key in ("packageUris", "pythonModule"):
            if key not in package:
                ctx.add(f"{ppath}.pythonPackageSpec.{key}", f"{key} is required")
        trainer = PythonPackage(module=package.get("pythonModule", ""),
                                package_uris=tuple(package.get("packageUris", ())))
    else:  # the image runs with its entrypoint, or command; args, then --name=value
        if not container.get("imageUri"):
            ctx.add(f"{ppath}.containerSpec.imageUri", "imageUri is required: the image each "
                                                       "trial runs in")
        trainer = ContainerImage(image_uri=container.get("imageUri", ""),
                                 command=tuple(container.get("command", ())))
    machine = pool.get("machineSpec") or {}
    count = machine.get("acceleratorCount", 0)
    gpus = GpuRequest(count=count, type=machine.get("acceleratorType", "") if count else "",
                      field=f"{ppath}.machineSpec.acceleratorCount")
    env = tuple((e["name"], e.get("value", "")) for e in spec.get("env", ()))
    return trainer, env, gpus, tuple(spec.get("args", ()))


def _definition(ctx: Ctx, data: Any, path: str, hp: HyperparameterSpec | None,
                contract: str = "vertex") -> tuple[JobDefinition | None, Any]:
    raw = check_object(ctx, data, path, _CUSTOM_JOB_SPEC)
    if raw is BAD:
        return None, BAD
    trainer, env, gpus, args = _trainer(ctx, data, raw, path)
    try:
        size = len(json.dumps(raw, separators=(",", ":")).encode())
    except (TypeError, ValueError, RecursionError):
        size = 0
    if size > _MAX_SPEC_JSON:
        ctx.add(path, f"{path} is {size:,} bytes as JSON; each trial receives it in TF_CONFIG, "
                      f"which the OS caps: at most {_MAX_SPEC_JSON:,} bytes are allowed")
    if ctx.count or trainer is None or hp is None:
        return None, raw
    timeout = (raw.get("scheduling") or {}).get("timeout")
    return JobDefinition(
        hyperparameters=hp, trainer=trainer, args=args,
        job_dir=(raw.get("baseOutputDirectory") or {}).get("outputUriPrefix"),
        max_running_seconds=float(timeout[:-1]) if timeout else DEFAULT_MAX_RUNNING_SECONDS,
        gpus=gpus, described=raw, contract=contract, env=env,
    ), raw


def _typed_paths(spec_key: str) -> dict[str, str]:
    pool = f"{spec_key}.workerPoolSpecs[0]"
    return {"trainer.package_uris": f"{pool}.pythonPackageSpec.packageUris",
            "trainer.image_uri": f"{pool}.containerSpec.imageUri",
            "job_dir": f"{spec_key}.baseOutputDirectory.outputUriPrefix"}


def _metrics(ctx: Ctx, given: Any, checked: Any, path: str) -> tuple[MetricSpec, ...]:
    """``studySpec.metrics``: one or more objectives, each with its ``metricId`` and ``goal``;
    several make a multi-objective study (hpdash.core.suggest.multiobjective)."""
    if not given:
        ctx.add(path, "metrics is required: at least one metric (metricId and goal)")
        return ()
    if isinstance(given, list) and len(given) > _MAX_METRICS:
        ctx.add(path, f"metrics has {len(given)} entries; at most {_MAX_METRICS} are allowed")
    if not isinstance(checked, list):
        return ()
    out: list[MetricSpec] = []
    for i, metric in enumerate(checked):
        goal = metric.get("goal", "GOAL_TYPE_UNSPECIFIED")
        if goal == "GOAL_TYPE_UNSPECIFIED":
            ctx.add(f"{path}[{i}].goal", "goal is required: MAXIMIZE (1) or MINIMIZE (2)")
        if "metricId" not in metric:
            ctx.add(f"{path}[{i}].metricId", "metricId is required: the tag the trainer "
                                             "reports with hypertune")
        elif any(m.tag == metric["metricId"] for m in out):
            ctx.add(f"{path}[{i}].metricId", f"metricId {metric['metricId']!r} is given twice: "
                                             "each metric needs its own id")
        else:
            out.append(MetricSpec(metric["metricId"], goal))
    return tuple(out) if len(out) == len(checked) else ()


def _study(ctx: Ctx, data: Any, path: str, counts: dict[str, Any]
           ) -> tuple[HyperparameterSpec | None, Any]:
    raw = check_object(ctx, data, path, STUDY_SCHEMA)
    if raw is BAD:
        return None, BAD
    assert isinstance(data, dict)
    params, echoed = parse_parameters(ctx, data.get("parameters"), f"{path}.parameters",
                                      raw.get("algorithm"))
    if echoed is not BAD:
        raw["parameters"] = echoed
    metrics = _metrics(ctx, data.get("metrics"), raw.get("metrics"), f"{path}.metrics")
    if ctx.count or params is None or not metrics:
        return None, raw
    selection = raw.get("measurementSelectionType", "")
    stopping = study_stopping(ctx, raw.get("studyStoppingConfig"),
                              f"{path}.studyStoppingConfig")
    if ctx.count:
        return None, raw
    return HyperparameterSpec(
        params=params, goal=metrics[0].goal, metric_tag=metrics[0].tag,
        more_metrics=metrics[1:],
        max_trials=counts.get("maxTrialCount", 1),
        max_parallel_trials=counts.get("parallelTrialCount", 1),
        max_failed_trials=counts.get("maxFailedTrialCount", 0),
        enable_early_stopping=any(key in raw for key in STOPPING_SPEC_KEYS),
        algorithm=raw.get("algorithm", "ALGORITHM_UNSPECIFIED"),
        measurement_selection="BEST" if selection == "BEST_MEASUREMENT" else "LAST",
        study_stopping=stopping,
    ), raw


def _job(ctx: Ctx, data: Any, schema: dict[str, Checker], required: tuple[str, ...],
         build: Callable[[Ctx, dict[str, Any], dict[str, Any]], JobDefinition | None]
         ) -> tuple[JobDefinition | None, dict[str, Any], dict[str, str]]:
    if not isinstance(data, dict):
        ctx.add("job", f"the request body must be an object, got {got(data)}")
        return None, {}, {}
    full = {"displayName": _check_display_name, "labels": check_labels,
            "encryptionSpec": object_checker({"kmsKeyName": check_str}),
            **schema, **{key: _any for key in _OUTPUT_ONLY}}
    raw = check_object(ctx, data, "", full)
    for key in ("displayName", *required):
        if key not in data:
            ctx.add(key, f"{key} is required")
    definition = build(ctx, data, raw)
    request = {k: v for k, v in raw.items() if k not in _OUTPUT_ONLY and k != "labels"}
    labels = raw.get("labels") if isinstance(raw.get("labels"), dict) else {}
    return definition, request, labels


def _finish(ctx: Ctx, definition: JobDefinition | None, request: dict[str, Any],
            labels: dict[str, str], spec_key: str) -> NewJob:
    ctx.raise_if_any("job")
    assert definition is not None
    return NewJob(job_id=None, definition=definition, labels=labels, request=request,
                  family="vertex", paths=_typed_paths(spec_key))


_COUNT_SCHEMA: Final[dict[str, Checker]] = {
    "maxTrialCount": int_checker(1, _MAX_TRIALS),
    "parallelTrialCount": int_checker(1, _MAX_PARALLEL),
    "maxFailedTrialCount": int_checker(0, _MAX_TRIALS),
}


def parse_tuning_job(data: Any, *, gcs_root: str = "") -> NewJob:
    """A ``HyperparameterTuningJob`` (proto3 JSON) → the typed job; raises :class:`SpecError`
    with every violation, each at its Vertex field path.  With ``gcs_root``, a
    ``gs://BUCKET/PATH`` package or output location is the local ``<gcs_root>/BUCKET/PATH``
    (the request is echoed as sent)."""
    ctx = Ctx()
    data, replaced = on_local_disk(data, "trialJobSpec", gcs_root)

    def build(c: Ctx, body: dict[str, Any], raw: dict[str, Any]) -> JobDefinition | None:
        counts = {k: raw[k] for k in _COUNT_SCHEMA if k in raw}
        if counts.get("maxFailedTrialCount", 0) > counts.get("maxTrialCount", _MAX_TRIALS):
            c.add("maxFailedTrialCount", "maxFailedTrialCount must be ≤ maxTrialCount")
        hp, study = _study(c, body.get("studySpec", {}), "studySpec", counts)
        if study is not BAD:
            raw["studySpec"] = study
        definition, spec = _definition(c, body.get("trialJobSpec", {}), "trialJobSpec", hp)
        if spec is not BAD:
            raw["trialJobSpec"] = spec
        return definition

    schema = {**_COUNT_SCHEMA, "studySpec": _any, "trialJobSpec": _any}
    try:
        definition, request, labels = _job(ctx, data, schema, (
            "maxTrialCount", "parallelTrialCount", "studySpec", "trialJobSpec"), build)
    except RecursionError:  # pragma: no cover - the walk is bounded by the schema
        raise SpecError([FieldViolation("job", "the job is nested too deeply")]) from None
    echo_as_sent(request, "trialJobSpec", replaced)
    return _finish(ctx, definition, request, labels, "trialJobSpec")


def parse_custom_job(data: Any, *, gcs_root: str = "") -> NewJob:
    """A ``CustomJob`` → the typed job: one trial, no parameters, the trainer run once
    (``gcs_root`` as for :func:`parse_tuning_job`)."""
    ctx = Ctx()
    data, replaced = on_local_disk(data, "jobSpec", gcs_root)
    once = HyperparameterSpec(params=(), metric_tag=DEFAULT_METRIC_TAG)

    def build(c: Ctx, body: dict[str, Any], raw: dict[str, Any]) -> JobDefinition | None:
        definition, spec = _definition(c, body.get("jobSpec", {}), "jobSpec", once,
                                   "vertex_custom")
        if spec is not BAD:
            raw["jobSpec"] = spec
        return definition

    try:
        definition, request, labels = _job(ctx, data, {"jobSpec": _any}, ("jobSpec",), build)
    except RecursionError:  # pragma: no cover
        raise SpecError([FieldViolation("job", "the job is nested too deeply")]) from None
    echo_as_sent(request, "jobSpec", replaced)
    return _finish(ctx, definition, request, labels, "jobSpec")
