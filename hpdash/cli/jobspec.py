"""Builds the ``Job`` body of ``jobs submit training`` the way gcloud does
(``api_lib/ml_engine/jobs.py`` ``BuildTrainingJob``):

- ``--config FILE`` is a whole ``Job`` resource (``jobId``, ``labels``, ``trainingInput``, all
  optional), YAML or JSON;
- flags given on the command line overwrite the matching ``trainingInput`` field;
- the user args after ``--`` *replace* the file's ``args`` (no merge);
- ``--labels`` replace the file's ``labels``; the positional JOB sets ``jobId``;
- the machine flags (``TrainingCustomInputServerConfig`` in gcloud's
  ``command_lib/ml_engine/jobs_util.py``) set ``masterType``, ``workerType``/``workerCount``,
  ``parameterServerType``/``parameterServerCount`` and each replica's
  ``acceleratorConfig {count, type}``. Like gcloud, they never set ``scaleTier``: a job with
  workers or parameter servers needs ``--scale-tier custom`` (or ``scaleTier: CUSTOM`` in the
  file), and the server says so by field if it is missing.

The server validates the result; nothing here second-guesses the spec beyond the flag rules
gcloud itself enforces (an accelerator's type, positive counts, a machine type with its count).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hpdash.core.spec import SpecError
from hpdash.core.spec.config import MAX_CONFIG_BYTES
from hpdash.core.spec.config import load_config as load_yaml_config
from hpdash.core.spec.training_input import ACCELERATOR_TYPES

# gcloud's --scale-tier choices (command_lib/ml_engine/jobs_util.py) -> the API enum.
SCALE_TIERS = {
    "basic": "BASIC",
    "standard-1": "STANDARD_1",
    "premium-1": "PREMIUM_1",
    "basic-gpu": "BASIC_GPU",
    "basic-tpu": "BASIC_TPU",
    "custom": "CUSTOM",
}


# gcloud's accelerator choices: the API enum without its UNSPECIFIED value, lower case with
# dashes on the command line (ChoiceToEnum upper-cases and turns dashes into underscores).
ACCELERATOR_CHOICES = tuple(t for t in ACCELERATOR_TYPES if t != "ACCELERATOR_TYPE_UNSPECIFIED")

# gcloud's custom-container flags that hpdash cannot honour (a trial is its master alone; no
# TPUs): refused by name (not left to argparse's "unrecognized arguments").
# --master-image-uri is honoured (masterConfig.imageUri).
CONTAINER_FLAGS = ("--worker-image-uri", "--parameter-server-image-uri", "--tpu-tf-version")


class UsageError(Exception):
    """A mistake on the command line or in a local file: exit 1 with the message."""


def refuse_container_flag(flag: str) -> UsageError:
    return UsageError(f"{flag}: hpdash runs one replica per trial, the master: give its image "
                      "with --master-image-uri IMAGE (or package the trainer and pass "
                      "--package-path DIR and --module-name MODULE)")


def accelerator(value: str, flag: str) -> dict[str, str]:
    """``count=2,type=nvidia-tesla-t4`` -> ``{"count": "2", "type": "NVIDIA_TESLA_T4"}`` (an
    ``acceleratorConfig``; int64 ``count`` as a string, as gcloud sends it). ``type`` is
    required; ``count`` defaults to 1."""
    items: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or key not in ("count", "type"):
            raise UsageError(f"{flag}: expected count=N,type=TYPE, got {item.strip()!r}")
        if key in items:
            raise UsageError(f"{flag}: {key} is given twice")
        items[key] = val.strip()
    if not items.get("type"):
        raise UsageError(f"{flag}: type is required, e.g. {flag} count=1,type=nvidia-tesla-t4")
    kind = items["type"].replace("-", "_").upper()
    if kind not in ACCELERATOR_CHOICES:
        choices = ", ".join(c.lower().replace("_", "-") for c in ACCELERATOR_CHOICES)
        raise UsageError(f"{flag}: invalid type {items['type']!r} (choose from {choices})")
    count = items.get("count", "1")
    try:
        n = int(count)
    except ValueError:
        raise UsageError(f"{flag}: count must be an integer, got {count!r}") from None
    if n < 1:
        raise UsageError(f"{flag}: count must be greater than 0, got {count!r}")
    return {"count": str(n), "type": kind}


def scale_tier(choice: str) -> str:
    """``standard-1`` -> ``STANDARD_1`` (the API's spelling is accepted too)."""
    key = choice.strip().lower().replace("_", "-")
    if key not in SCALE_TIERS:
        raise UsageError(f"--scale-tier: invalid choice {choice!r} (choose from "
                         f"{', '.join(SCALE_TIERS)})")
    return SCALE_TIERS[key]


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    """``["k=v,k2=v2", "k3=v3"]`` -> a dict (repeated ``--labels`` flags add up, later wins)."""
    labels: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            if not item.strip():
                continue
            key, sep, val = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise UsageError(f"--labels: expected KEY=VALUE, got {item!r}")
            labels[key] = val.strip()
    return labels


def split_packages(values: Sequence[str]) -> list[str]:
    """``--packages a.tar.gz,b.whl --packages c.tar.gz`` -> three entries."""
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def local_uri(value: str) -> str:
    """A local path made absolute; ``file://``/``gs://`` URIs are left to the server."""
    if "://" in value:
        return value
    return os.path.abspath(os.path.expanduser(value))


def load_config(path: str) -> dict[str, Any]:
    """The ``--config`` file: a ``Job`` resource in YAML (JSON is YAML too)."""
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"--config: cannot read {path}: {exc.strerror or exc}") from None
    if not text.strip():
        return {}  # an empty config: the flags say everything
    try:  # the server's own hardened loader: no alias bombs, no tags, no duplicate keys
        data = load_yaml_config(text)
    except SpecError as exc:
        why = "; ".join(v.description for v in exc.violations)
        raise UsageError(f"--config: {path}: {why}") from None
    ti = data.get("trainingInput")
    if ti is not None and not isinstance(ti, dict):
        raise UsageError(f"--config: trainingInput in {path} must be a mapping")
    return data


@dataclass
class SubmitOptions:
    """What the command line says; None (or an empty list) means "not given"."""

    job_id: str
    module_name: str | None = None
    packages: list[str] = field(default_factory=list)
    job_dir: str | None = None
    scale_tier: str | None = None
    region: str | None = None
    runtime_version: str | None = None
    python_version: str | None = None
    labels: list[str] = field(default_factory=list)
    user_args: list[str] | None = None  # None: no `--` on the command line
    master_machine_type: str | None = None
    master_accelerator: str | None = None  # count=N,type=T
    master_image_uri: str | None = None  # masterConfig.imageUri
    worker_machine_type: str | None = None
    worker_count: int | None = None
    worker_accelerator: str | None = None
    parameter_server_machine_type: str | None = None
    parameter_server_count: int | None = None
    parameter_server_accelerator: str | None = None
    use_chief_in_tf_config: bool | None = None


# (flag of the machine type, its field, flag of the count, its field): gcloud takes each pair
# as a group (both or neither); here the file may supply the other half.
_REPLICA_PAIRS = (
    ("--worker-machine-type", "workerType", "--worker-count", "workerCount"),
    ("--parameter-server-machine-type", "parameterServerType", "--parameter-server-count",
     "parameterServerCount"),
)


def _machine_overrides(opts: SubmitOptions) -> dict[str, Any]:
    """The machine flags as ``trainingInput`` fields (None: not given)."""
    return {
        "masterType": opts.master_machine_type,
        "workerType": opts.worker_machine_type,
        "workerCount": None if opts.worker_count is None else str(opts.worker_count),
        "parameterServerType": opts.parameter_server_machine_type,
        "parameterServerCount": (None if opts.parameter_server_count is None
                                 else str(opts.parameter_server_count)),
        "useChiefInTfConfig": opts.use_chief_in_tf_config,
    }


def _set_master_image(ti: dict[str, Any], opts: SubmitOptions) -> None:
    if opts.master_image_uri is None:
        return
    master = ti.get("masterConfig")
    if not isinstance(master, dict):  # absent, or malformed in the file: the flag wins
        master = ti["masterConfig"] = {}
    master["imageUri"] = opts.master_image_uri  # the other fields are kept


def _set_accelerators(ti: dict[str, Any], opts: SubmitOptions) -> None:
    for flag, value, config in (
            ("--master-accelerator", opts.master_accelerator, "masterConfig"),
            ("--worker-accelerator", opts.worker_accelerator, "workerConfig"),
            ("--parameter-server-accelerator", opts.parameter_server_accelerator,
             "parameterServerConfig")):
        if value is None:
            continue
        replica = ti.get(config)
        if not isinstance(replica, dict):  # absent, or malformed in the file: the flag wins
            replica = ti[config] = {}
        replica["acceleratorConfig"] = accelerator(value, flag)  # the other fields are kept


def _check_machine_flags(ti: dict[str, Any], opts: SubmitOptions) -> None:
    given = _machine_overrides(opts)
    for type_flag, type_key, count_flag, count_key in _REPLICA_PAIRS:
        if given[type_key] is not None and count_key not in ti:
            raise UsageError(f"{type_flag} needs {count_flag} (how many), as in gcloud")
        if given[count_key] is not None and type_key not in ti:
            raise UsageError(f"{count_flag} needs {type_flag} (which machine), as in gcloud")
    if opts.scale_tier and scale_tier(opts.scale_tier) == "CUSTOM" and "masterType" not in ti:
        raise UsageError("--master-machine-type is required when --scale-tier is custom (or "
                         "masterType in the --config file)")


def build_job(config: dict[str, Any], opts: SubmitOptions,
              built_packages: Sequence[str] = ()) -> dict[str, Any]:
    """The request body: ``config`` overridden by ``opts`` (gcloud's precedence)."""
    job = copy.deepcopy(config)
    job["jobId"] = opts.job_id
    if opts.labels:
        job["labels"] = parse_labels(opts.labels)
    ti: dict[str, Any] = job.get("trainingInput") or {}
    job["trainingInput"] = ti
    uris = [local_uri(p) for p in split_packages(opts.packages)] + list(built_packages)
    overrides: dict[str, Any] = {
        "pythonModule": opts.module_name,
        "args": opts.user_args,
        "packageUris": uris or None,
        "region": opts.region,
        "jobDir": local_uri(opts.job_dir) if opts.job_dir else None,
        "scaleTier": scale_tier(opts.scale_tier) if opts.scale_tier else None,
        "runtimeVersion": opts.runtime_version,
        "pythonVersion": opts.python_version,
    }
    overrides.update(_machine_overrides(opts))
    for key, value in overrides.items():
        if value is not None:
            ti[key] = value
    _set_accelerators(ti, opts)
    _set_master_image(ti, opts)
    _check_machine_flags(ti, opts)
    return job
