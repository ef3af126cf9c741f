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
import shutil
import sys
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
    # The interpreters a job's environment is built from, by the name a job's pythonVersion
    # gives (HPDASH_PYTHONS); the first is the default.
    pythons: tuple[tuple[str, str], ...] = ()
    # The uv binary that builds the jobs' environments.
    uv: str = ""

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
            pythons=pythons_from_env(),
            uv=uv_binary(),
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
    # The service user's home, but of root's only the CLI's default staging folder: /root
    # holds keys a job must not have copied into its trainer's reach.  (The data dir is here
    # for uploads alone: see hpdash.core.path_policy.)
    home = [os.path.expanduser("~/.cache/hpdash" if os.geteuid() == 0 else "~")]
    paths = env_list("HPDASH_ALLOWED_PATHS", "", sep=os.pathsep) or [
        str(data_dir), str(BASE_DIR), *home, tempfile.gettempdir()]
    return tuple(os.path.realpath(p) for p in paths)


def base_python() -> str:
    """The interpreter hpdash's own virtualenv was made from (its ``.venv/bin/python`` is a
    link into the checkout, which the trial user may not reach)."""
    base = getattr(sys, "_base_executable", "") or sys.executable
    return os.path.realpath(base)


def pythons_from_env() -> tuple[tuple[str, str], ...]:
    """``HPDASH_PYTHONS``: comma-separated ``NAME=PATH`` (``3.12=/usr/bin/python3.12``) or bare
    paths, named by their file name after "python" (``/usr/bin/python3.12`` is "3.12").
    Default: hpdash's own base interpreter, named by its version (``3.11``)."""
    entries = env_list("HPDASH_PYTHONS", "")
    if not entries:
        return ((f"{sys.version_info[0]}.{sys.version_info[1]}", base_python()),)
    found: dict[str, str] = {}
    for entry in entries:
        name, sep, path = entry.partition("=")
        if not sep:
            path, name = entry, os.path.basename(entry).removeprefix("python") or entry
        name, path = name.strip(), path.strip()
        if not (os.path.isabs(path) and os.path.isfile(path) and os.access(path, os.X_OK)):
            raise ImproperlyConfigured(f"HPDASH_PYTHONS: {entry!r} does not name an "
                                       "interpreter by its absolute path")
        if name in found:
            raise ImproperlyConfigured(f"HPDASH_PYTHONS names {name!r} twice")
        found[name] = path
    return tuple(found.items())


def uv_binary() -> str:
    """The ``uv`` installed beside hpdash's interpreter (the PyPI package ``uv``), else on
    PATH; "" if there is none (the worker then refuses to start)."""
    beside = os.path.join(os.path.dirname(sys.executable), "uv")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("uv") or ""


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
