"""The command line and environment of one trial, exactly as AI Platform (or Vertex AI) gave them.

``python -m <pythonModule> <args…> [--job-dir <jobDir>/<trialId>] --<name>=<value>…``: the
user's own args first, then ``--job-dir`` as two tokens, then one ``--name=value`` token per
hyperparameter in spec order (argparse's "last occurrence wins" lets tuned values override
defaults the user put in ``args``).  Vertex AI trials get no ``--job-dir``: their outputs are
the ``AIP_*`` directories of :func:`vertex_env`.  A container image's trial is told the same
after its image's entrypoint (or ``containerCommand``): ``<containerArgs…> <args…> [--job-dir
…] --<name>=<value>…``.  Nothing here ever goes through a shell.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hpdash.core.spec import HyperparameterSpec, ParamValue
from hpdash.core.spec.space import format_value
from hpdash.core.spec.types import local_path

# Variables of the service itself that a trainer has no business seeing.
_PRIVATE_ENV = re.compile(r"^(HPDASH_|DJANGO_|DATABASE_URL$|REDIS_URL$|SECRET_KEY$)")


def trial_job_dir(job_dir: str, trial_id: int) -> str:
    """``<jobDir>/<trialId>`` as a local path (``file://`` URIs decoded by the one decoder,
    :func:`hpdash.core.spec.types.local_path`); a trailing slash is ignored."""
    path = local_path(job_dir)
    return os.path.join(path.rstrip("/") or "/", str(trial_id))


def build_argv(
    python: str,
    module: str | None,
    *,
    args: Sequence[str],
    trial_dir: str | None,
    spec: HyperparameterSpec,
    params: Mapping[str, ParamValue],
) -> list[str]:
    """``trial_dir`` is the trial's own ``<jobDir>/<trialId>`` (see :func:`trial_job_dir`).
    ``module`` None: a container's arguments (``python`` is its image, which runs them)."""
    argv = [python, *(["-m", module] if module is not None else []), *args]
    if trial_dir:
        argv += ["--job-dir", trial_dir]
    for p in spec.params:
        if p.name in params:  # an inactive conditional parameter is not passed
            argv.append(f"--{p.name}={format_value(p, params[p.name])}")
    return argv


def build_env(
    base_env: Mapping[str, str],
    *,
    job_id: str,
    trial_id: int,
    metric_tag: str,
    metric_file: str,
    described: Mapping[str, Any],
    pythonpath: Sequence[str] = (),
) -> dict[str, str]:
    """``described`` is the job as its trainers are told about it (the typed job's
    ``described``): ``TF_CONFIG``'s ``job`` and ``CLOUD_ML_JOB``."""
    env = {k: v for k, v in base_env.items() if not _PRIVATE_ENV.match(k)}
    job = dict(described)
    env["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"master": ["127.0.0.1:2222"]},
            "task": {"type": "master", "index": 0, "trial": str(trial_id), "cloud": "hpdash"},
            "job": job,
            "environment": "cloud",
        }
    )
    env["CLOUD_ML_JOB_ID"] = job_id
    env["CLOUD_ML_TRIAL_ID"] = str(trial_id)
    env["CLOUD_ML_HP_METRIC_TAG"] = metric_tag
    env["CLOUD_ML_HP_METRIC_FILE"] = metric_file
    env["CLOUD_ML_JOB"] = json.dumps(job)
    env["PYTHONUNBUFFERED"] = "1"
    if pythonpath:
        existing = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join([*pythonpath, *([existing] if existing else [])])
    return env


def aip_dirs(base: str) -> dict[str, str]:
    """Vertex's output directories under ``base``, with its trailing slash: the model, the
    checkpoints (what a resuming trainer reads back), the TensorBoard logs."""
    base = base.rstrip("/")
    return {"AIP_MODEL_DIR": f"{base}/model/", "AIP_CHECKPOINT_DIR": f"{base}/checkpoints/",
            "AIP_TENSORBOARD_LOG_DIR": f"{base}/logs/"}


def vertex_env(trial_dir: str | None, *, trial_id: int, described: Mapping[str, Any]
               ) -> dict[str, str]:
    """What Vertex AI adds for a trial (``trial_dir`` is ``<baseOutputDirectory>/<trialId>``):
    ``AIP_MODEL_DIR``, ``AIP_CHECKPOINT_DIR`` and ``AIP_TENSORBOARD_LOG_DIR`` under it (with
    Vertex's trailing slash; none without a base output directory), and one replica as
    ``CLUSTER_SPEC`` (Vertex's worker pools) and ``TF_CONFIG`` (TensorFlow's ``chief``)."""
    env = aip_dirs(trial_dir) if trial_dir else {}
    address = ["127.0.0.1:2222"]
    env["CLUSTER_SPEC"] = json.dumps({
        "cluster": {"workerpool0": address},
        "environment": "cloud",
        "task": {"type": "workerpool0", "index": 0, "trial": str(trial_id)},
        "job": json.dumps(dict(described)),
    })
    env["TF_CONFIG"] = json.dumps({
        "cluster": {"chief": address},
        "task": {"type": "chief", "index": 0, "trial": str(trial_id)},
        "job": dict(described),
        "environment": "cloud",
    })
    return env
