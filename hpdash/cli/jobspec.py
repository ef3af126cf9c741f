"""Builds the ``Job`` body of ``jobs submit training`` the way gcloud does
(``api_lib/ml_engine/jobs.py`` ``BuildTrainingJob``):

- ``--config FILE`` is a whole ``Job`` resource (``jobId``, ``labels``, ``trainingInput``, all
  optional), YAML or JSON;
- flags given on the command line overwrite the matching ``trainingInput`` field;
- the user args after ``--`` *replace* the file's ``args`` (no merge);
- ``--labels`` replace the file's ``labels``; the positional JOB sets ``jobId``.

The server validates the result; nothing here second-guesses the spec.
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

# gcloud's --scale-tier choices (command_lib/ml_engine/jobs_util.py) -> the API enum.
SCALE_TIERS = {
    "basic": "BASIC",
    "standard-1": "STANDARD_1",
    "premium-1": "PREMIUM_1",
    "basic-gpu": "BASIC_GPU",
    "basic-tpu": "BASIC_TPU",
    "custom": "CUSTOM",
}


class UsageError(Exception):
    """A mistake on the command line or in a local file: exit 1 with the message."""


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
    for key, value in overrides.items():
        if value is not None:
            ti[key] = value
    return job
