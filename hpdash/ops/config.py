"""hpdash's own settings (``settings.HPDASH``): one typed, frozen value, read from the
environment once, when Django loads ``hpdash/settings.py``.

Every knob is read and checked here, each refusing a malformed value with
``ImproperlyConfigured`` naming its variable; everyone else reads attributes of
``settings.HPDASH`` (``settings.HPDASH.trial_poll_interval``), whose types mypy sees through
django-stubs.  The pure core reads no environment: it takes these values as arguments (the
suggester registry the Bayesian engine's name, the stopping rules a rule's name).

A test changes a value the way it changes any Django setting, with a new value made by
``dataclasses.replace``::

    settings.HPDASH = dataclasses.replace(settings.HPDASH, allowed_paths=(str(tmp_path),))

This module, not ``settings.py``, holds it so that reading the environment can be tested (and
reused, by the benchmarks) without loading Django's settings again.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from hpdash.core.stopping import DEFAULT_RULE, RULES
from hpdash.core.suggest.engines import DEFAULT_ENGINE, ENGINES
from hpdash.ops.env import env_float, env_int, env_list, env_str
from hpdash.ops.gpus import gpus_from_env
from hpdash.ops.paths import BASE_DIR

BAYES_ENGINE_ENV = "HPDASH_BAYES_ENGINE"
EARLY_STOPPING_RULE_ENV = "HPDASH_EARLY_STOPPING_RULE"


@dataclass(frozen=True)
class HpdashSettings:
    """``settings.HPDASH``.  Defaults and variable names live in :meth:`from_env`."""

    # packageUris and jobDir must lie inside one of these directories (real paths).
    allowed_paths: tuple[str, ...]
    # Per-trial caps: a trainer's output cannot fill the disk or the database.
    trial_log_max_bytes: int
    trial_max_measurements: int
    # How often a running trial's metrics file and cancel flag are looked at (seconds).
    trial_poll_interval: float
    # Seconds between SIGTERM and SIGKILL when a trial is stopped.
    trial_stop_grace: float
    # `make run`: the web server, the workers, and the reconciler.
    host: str
    port: int
    web_processes: int
    web_threads: int
    workers: int
    # A RUNNING trial whose worker sent no heartbeat for this long is re-queued (seconds).
    heartbeat_timeout: float
    reconcile_interval: float
    # The early-stopping rule (a name in hpdash.core.stopping.RULES) for jobs with
    # enableTrialEarlyStopping.
    early_stopping_rule: str
    # The engine of the default (Bayesian) algorithm (a name in
    # hpdash.core.suggest.engines.ENGINES).
    bayes_engine: str
    # This machine's GPU ids; None: ask nvidia-smi -L.
    gpus: tuple[str, ...] | None
    # Whether make run starts its own Redis: REDIS_URL set means an external one.
    embedded_redis: bool
    # A worker machine (make worker): the main machine's web server, where trial logs are sent
    # ("" on the main machine, and on a worker machine that keeps its logs), and its worker key.
    server_url: str
    worker_key: str
    # Where the Vertex front door finds gs://BUCKET/PATH: <gcs_root>/BUCKET/PATH ("" = gs://
    # locations are refused).
    gcs_root: str

    @classmethod
    def from_env(cls, *, data_dir: Path) -> HpdashSettings:
        """Every knob from its ``HPDASH_*`` variable (``ImproperlyConfigured`` naming the
        variable when its value is malformed).  ``data_dir`` is one of the directories allowed
        by default."""
        gpus = gpus_from_env(os.environ.get("HPDASH_GPUS"))
        return cls(
            allowed_paths=_allowed_paths(data_dir),
            trial_log_max_bytes=env_int("HPDASH_TRIAL_LOG_MAX_BYTES", 10 * 1024 * 1024,
                                        minimum=1),
            trial_max_measurements=env_int("HPDASH_TRIAL_MAX_MEASUREMENTS", 10000, minimum=1),
            trial_poll_interval=env_float("HPDASH_TRIAL_POLL_INTERVAL", 0.5, minimum=0.01),
            trial_stop_grace=env_float("HPDASH_TRIAL_STOP_GRACE", 10.0),
            host=env_str("HPDASH_HOST", "127.0.0.1"),
            port=env_int("HPDASH_PORT", 8000, minimum=1),
            web_processes=env_int("HPDASH_WEB_PROCESSES", 2, minimum=1),
            web_threads=env_int("HPDASH_WEB_THREADS", 4, minimum=1),
            workers=env_int("HPDASH_WORKERS", max(2, os.cpu_count() or 1), minimum=1),
            heartbeat_timeout=env_float("HPDASH_HEARTBEAT_TIMEOUT", 60.0, minimum=1.0),
            reconcile_interval=env_float("HPDASH_RECONCILE_INTERVAL", 10.0, minimum=0.1),
            early_stopping_rule=early_stopping_rule_from_env(),
            bayes_engine=bayes_engine_from_env(),
            gpus=None if gpus is None else tuple(gpus),
            embedded_redis=not os.environ.get("REDIS_URL"),
            server_url=_server_url(),
            worker_key=env_str("HPDASH_WORKER_KEY", ""),
            gcs_root=_gcs_root(),
        )


def _gcs_root() -> str:
    root = env_str("HPDASH_GCS_ROOT", "")
    if root and not os.path.isabs(root):
        raise ImproperlyConfigured(f"HPDASH_GCS_ROOT must be an absolute directory (gs://B/P "
                                   f"is then <root>/B/P), got {root!r}")
    return root.rstrip("/") or ("/" if root else "")


def _server_url() -> str:
    url = env_str("HPDASH_SERVER_URL", "")
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ImproperlyConfigured(f"HPDASH_SERVER_URL must be the main machine's http(s) "
                                   f"address (http://main:8000), got {url!r}")
    return url.rstrip("/")


def _allowed_paths(data_dir: Path) -> tuple[str, ...]:
    # Unset: a workstation's sensible default; set HPDASH_ALLOWED_PATHS on shared servers.
    paths = env_list("HPDASH_ALLOWED_PATHS", "", sep=os.pathsep) or [
        str(data_dir), str(BASE_DIR), os.path.expanduser("~"), tempfile.gettempdir()]
    return tuple(os.path.realpath(p) for p in paths)


def bayes_engine_from_env() -> str:
    """``HPDASH_BAYES_ENGINE`` (default ``"hpdash"``, any case), one of ``ENGINES``."""
    raw = os.environ.get(BAYES_ENGINE_ENV)
    name = (raw or "").strip().lower() or DEFAULT_ENGINE
    if name not in ENGINES:
        raise ImproperlyConfigured(f"{BAYES_ENGINE_ENV}={raw!r} is not a Bayesian engine; "
                                   f"use one of {', '.join(sorted(ENGINES))}")
    return name


def early_stopping_rule_from_env() -> str:
    """``HPDASH_EARLY_STOPPING_RULE`` (default ``"curve_bound"``), one of ``RULES``."""
    name = os.environ.get(EARLY_STOPPING_RULE_ENV, "").strip() or DEFAULT_RULE
    if name not in RULES:
        raise ImproperlyConfigured(f"{EARLY_STOPPING_RULE_ENV}={name!r} is not an early "
                                   f"stopping rule; choose one of {', '.join(sorted(RULES))}")
    return name
