"""settings.HPDASH: one typed value read from the environment, each knob refused by name when
malformed; the core gets the Bayesian engine and the early-stopping rule from it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from support import submit_ml_job

from hpdash.ops.config import HpdashSettings

DATA = Path("/srv/hpdash-data")


@pytest.fixture
def bare_env(monkeypatch):
    """No HPDASH_* knob and no REDIS_URL: every value takes its default."""
    for name in [n for n in os.environ if n.startswith("HPDASH_")] + ["REDIS_URL"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_knob_takes_its_default_when_unset(bare_env):
    cfg = HpdashSettings.from_env(data_dir=DATA)
    assert (cfg.trial_log_max_bytes, cfg.trial_max_measurements) == (10 * 1024 * 1024, 10000)
    assert (cfg.trial_poll_interval, cfg.trial_stop_grace) == (0.5, 10.0)
    assert (cfg.host, cfg.port, cfg.web_processes, cfg.web_threads) == ("127.0.0.1", 8000, 2, 4)
    assert cfg.workers >= 2
    assert (cfg.heartbeat_timeout, cfg.reconcile_interval) == (60.0, 10.0)
    assert (cfg.early_stopping_rule, cfg.bayes_engine) == ("curve_bound", "hpdash")
    assert cfg.gpus is None and cfg.embedded_redis and cfg.gcs_root == ""
    assert os.path.realpath(DATA) in cfg.allowed_paths


def test_each_knob_is_read_from_its_variable(bare_env):
    for name, value in {"HPDASH_TRIAL_POLL_INTERVAL": "0.2", "HPDASH_WORKERS": "3",
                        "HPDASH_GPUS": "0,1", "HPDASH_ALLOWED_PATHS": f"/a{os.pathsep}/b",
                        "REDIS_URL": "redis://elsewhere:6379/0",
                        "HPDASH_EARLY_STOPPING_RULE": " median ",
                        "HPDASH_BAYES_ENGINE": " SKOPT ", "HPDASH_GCS_ROOT": "/srv/gcs/"}.items():
        bare_env.setenv(name, value)
    cfg = HpdashSettings.from_env(data_dir=DATA)
    assert (cfg.trial_poll_interval, cfg.workers, cfg.gpus) == (0.2, 3, ("0", "1"))
    assert cfg.allowed_paths == ("/a", "/b") and not cfg.embedded_redis
    assert (cfg.early_stopping_rule, cfg.bayes_engine) == ("median", "skopt")
    assert cfg.gcs_root == "/srv/gcs"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("HPDASH_WORKERS", "two", "^HPDASH_WORKERS must be an integer ≥ 1, got 'two'$"),
    ("HPDASH_GPUS", "0,zero one", "^HPDASH_GPUS must list GPU ids"),
    ("HPDASH_GCS_ROOT", "gcs", "^HPDASH_GCS_ROOT must be an absolute directory"),
    ("HPDASH_BAYES_ENGINE", "spearmint",
     "^HPDASH_BAYES_ENGINE='spearmint' is not a Bayesian engine; use one of hpdash, skopt$"),
    ("HPDASH_EARLY_STOPPING_RULE", "meadian",
     "^HPDASH_EARLY_STOPPING_RULE='meadian' is not an early stopping rule; choose one of "
     "asha, curve_bound, median, percentile$"),
])
def test_a_malformed_knob_is_refused_naming_its_variable(bare_env, name, value, message):
    bare_env.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        HpdashSettings.from_env(data_dir=DATA)


def test_settings_hpdash_is_the_typed_value_and_a_test_varies_it_with_replace(settings):
    assert isinstance(settings.HPDASH, HpdashSettings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.HPDASH.workers = 1  # type: ignore[misc]
    settings.HPDASH = dataclasses.replace(settings.HPDASH, bayes_engine="skopt")
    assert settings.HPDASH.bayes_engine == "skopt"


@pytest.mark.django_db
def test_the_scheduler_runs_the_bayesian_engine_the_settings_name(settings, monkeypatch):
    from hpdash.core.suggest import engines
    from hpdash.ops import queue
    from hpdash.services.scheduling import job_advance

    for name in ("enqueue_advance", "enqueue_trial", "dequeue_trials"):
        monkeypatch.setattr(queue, name, lambda *args: None)
    asked: list[int] = []

    class Recording:
        def suggest(self, spec, history, n, seed):
            asked.append(n)
            return [{"x": (i + 1) / 10} for i in range(n)]

    monkeypatch.setitem(engines.ENGINES, "skopt", Recording())
    settings.HPDASH = dataclasses.replace(settings.HPDASH, bayes_engine="skopt")
    job = submit_ml_job(project="p", data={"jobId": "bayes", "trainingInput": {
        "pythonModule": "trainer.task", "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 4,
            "maxParallelTrials": 2,
            "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}}})
    job_advance(job.pk)
    assert asked == [2]
    assert sorted(job.trials.values_list("params", flat=True), key=str) == [
        {"x": 0.1}, {"x": 0.2}]
