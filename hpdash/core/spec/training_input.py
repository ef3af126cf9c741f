"""ml v1's ``trainingInput`` fields other than the hyperparameters: the trainer (package
locations, module, args, job dir), the machine fields hpdash type-checks, stores and echoes, and
what the typed job reads from them (the GPU request, what trainers are told about their job).
Part of the ml v1 parser (:mod:`hpdash.core.spec.parse`)."""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from .checks import (
    BAD,
    SURROGATE,
    Checker,
    Ctx,
    check_arg,
    check_bool,
    check_duration,
    check_str,
    enum_checker,
    field_name,
    got,
    int_checker,
    list_checker,
    object_checker,
    show,
    unpassable,
)
from .types import GpuRequest

_URI_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_MAX_PACKAGE_URIS: Final = 100
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

SCALE_TIERS = ("BASIC", "STANDARD_1", "PREMIUM_1", "BASIC_GPU", "BASIC_TPU", "CUSTOM")
ACCELERATOR_TYPES = (
    "ACCELERATOR_TYPE_UNSPECIFIED", "NVIDIA_TESLA_K80", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100",
    "NVIDIA_TESLA_P4", "NVIDIA_TESLA_T4", "NVIDIA_TESLA_A100", "TPU_V2", "TPU_V3", "TPU_V2_POD",
    "TPU_V3_POD", "TPU_V4_POD",
)

# ---------------------------------------------------------------------------------------------
# Trainer fields and the trainingInput schema


def _check_local_location(ctx: Ctx, value: Any, path: str) -> Any:
    """An absolute local path or a ``file://`` URI with an absolute path (hpdash runs on the
    machine's own files; there is no Cloud Storage)."""
    name = field_name(path)
    if not isinstance(value, str):
        ctx.add(path, f"{name} must be a string, got {got(value)}")
        return BAD
    shown = show(value)
    if not value:
        ctx.add(path, f"{name} must not be empty")
        return BAD
    scheme = _URI_SCHEME.match(value)
    if scheme and scheme.group(1).lower() != "file":
        kind = f"{scheme.group(1)}://" if value[scheme.end():].startswith("//") else (
            f"{scheme.group(1)}:")
        if name == "jobDir":  # where trials write: nothing to copy, a place to choose
            ctx.add(path, f"{name} {shown} is a {kind} location, but hpdash runs on local "
                          "files: give a local output directory instead, as an absolute path "
                          "or a file:// URI (each trial writes to <jobDir>/<trialId> there)")
            return BAD
        how = " (e.g. with gsutil cp)" if kind == "gs://" else ""
        ctx.add(path, f"{name} {shown} is a {kind} location, but hpdash runs on local files: "
                      f"copy it to this machine{how} and give its absolute path or a file:// "
                      "URI")
        return BAD
    if scheme:
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.netloc not in ("", "localhost") or parts.query or (
            parts.fragment
        ):
            ctx.add(path, f"{name} {shown} must be a file:// URI of a local absolute path, "
                          "such as file:///srv/packages/trainer-0.1.tar.gz")
            return BAD
        local = unquote(parts.path)
    else:
        local = value
    if "\x00" in local:
        ctx.add(path, f"{name} {shown} contains a NUL character")
        return BAD
    if SURROGATE.search(value):
        ctx.add(path, f"{name} {shown} {unpassable(value)}")
        return BAD
    if not local.startswith("/"):
        ctx.add(path, f"{name} {shown} must be an absolute local path (starting with /) or a "
                      "file:// URI")
        return BAD
    return value


def _check_python_module(ctx: Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        ctx.add(path, f"pythonModule must be a string, got {got(value)}")
        return BAD
    parts = value.split(".")
    if value and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return value
    hint = ""
    if value.endswith(".py") or "/" in value:
        guess = value.removesuffix(".py").strip("/").replace("/", ".")
        hint = f" (did you mean {guess}?)"
    ctx.add(path, f"pythonModule {show(value)} is not a Python module name: it must be a "
                  f"dotted module path such as trainer.task{hint}")
    return BAD


_STR_LIST = list_checker(check_str)


_IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$")


def check_image_uri(ctx: Ctx, value: Any, path: str) -> Any:
    """A container image reference as podman names one (``gcr.io/my-proj/trainer:v1``,
    ``trainer``, ``repo@sha256:...``).  An empty string is proto3's "unset" and passes.
    Whether some worker has the image is the service's check (at create)."""
    if check_str(ctx, value, path) is BAD:
        return BAD
    if value and (len(value) > 512 or not _IMAGE_REF.match(value)):
        ctx.add(path, f"imageUri {show(value)} is not a container image reference such as "
                      "gcr.io/my-proj/trainer:v1 (lower-case letters, digits and ./:@_-)")
        return BAD
    return value


def _refuse_image_uri(ctx: Ctx, value: Any, path: str) -> Any:
    """Only the master runs (one process per trial): another replica's image would be accepted
    and never run, so it is refused by name.  An empty string is proto3's "unset"."""
    if check_str(ctx, value, path) is BAD:
        return BAD
    if value:
        ctx.add(path, f"imageUri {show(value)}: hpdash runs one replica per trial, the "
                      "master: give the image as trainingInput.masterConfig.imageUri")
        return BAD
    return value


def _replica_config(image: Checker) -> Checker:
    return object_checker({
        "acceleratorConfig": object_checker({
            "count": int_checker(0, _INT64[1], as_string=True),
            "type": enum_checker(ACCELERATOR_TYPES),
        }),
        "containerArgs": _STR_LIST,
        "containerCommand": _STR_LIST,
        "diskConfig": object_checker({
            "bootDiskSizeGb": int_checker(0, _INT32[1]),
            "bootDiskType": check_str,
        }),
        "imageUri": image,
        "tpuTfVersion": check_str,
    })


_REPLICA_CONFIG = _replica_config(_refuse_image_uri)

_COUNT = int_checker(0, _INT64[1], as_string=True)

# TrainingInput fields that hpdash only type-checks, stores and echoes.
_TRAINING_INPUT_SCHEMA: dict[str, Checker] = {
    "scaleTier": enum_checker(SCALE_TIERS),
    "masterType": check_str,
    "workerType": check_str,
    "parameterServerType": check_str,
    "evaluatorType": check_str,
    "workerCount": _COUNT,
    "parameterServerCount": _COUNT,
    "evaluatorCount": _COUNT,
    "masterConfig": _replica_config(check_image_uri),
    "workerConfig": _REPLICA_CONFIG,
    "parameterServerConfig": _REPLICA_CONFIG,
    "evaluatorConfig": _REPLICA_CONFIG,
    "region": check_str,
    "runtimeVersion": check_str,
    "pythonVersion": check_str,
    "scheduling": object_checker({
        "maxRunningTime": check_duration,
        "maxWaitTime": check_duration,
        "priority": int_checker(0, 1000),
    }),
    "serviceAccount": check_str,
    "network": check_str,
    "encryptionConfig": object_checker({"kmsKeyName": check_str}),
    "enableWebAccess": check_bool,
    "useChiefInTfConfig": check_bool,
    # Fields hpdash runs with.
    "pythonModule": _check_python_module,
    "packageUris": list_checker(_check_local_location, max_items=_MAX_PACKAGE_URIS),
    "args": list_checker(check_arg),
    "jobDir": _check_local_location,
    # "hyperparameters" is added per call by _parse_training_input.
}


# For the Vertex front door, whose pythonPackageSpec has the same two fields.
check_local_location: Checker = _check_local_location
check_python_module: Checker = _check_python_module


def image_uri(training_input: Mapping[str, Any]) -> str:
    """``masterConfig.imageUri``: the image each trial runs in ("" for a Python package)."""
    return str((training_input.get("masterConfig") or {}).get("imageUri") or "")


def gpu_request(training_input: Mapping[str, Any]) -> GpuRequest:
    """What each trial asks for, by AI Platform's rules as far as a workstation has them:
    ``masterConfig.acceleratorConfig.count`` devices (of the stored, shown, never matched
    ``type``); else one for ``scaleTier: BASIC_GPU``; else none (other tiers and ``masterType``
    names such as ``standard_gpu`` included)."""
    accel = (training_input.get("masterConfig") or {}).get("acceleratorConfig") or {}
    if "count" in accel or "type" in accel:
        count = int(accel.get("count", 0) or 0)
        return GpuRequest(count=count, type=str(accel.get("type", "")) if count else "",
                          field="trainingInput.masterConfig.acceleratorConfig.count")
    if training_input.get("scaleTier") == "BASIC_GPU":
        return GpuRequest(count=1, field="trainingInput.scaleTier")
    return GpuRequest()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def snake_case_keys(value: Any) -> Any:
    """TF_CONFIG's ``job`` is the training input in snake_case, as the classic service set it."""
    if isinstance(value, dict):
        return {_snake(k): snake_case_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_case_keys(v) for v in value]
    return value
