"""The dashboard, early-stopping and end-to-end overhead benchmarks keep working: each runs its
code paths on tiny inputs and writes its report; nothing about speed is timed or asserted.

The overhead benchmark's hpdash cell (a job through ``manage.py serve``) is left out: starting
the stack takes ~20 s here, and the end-to-end tests drive the same path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import dashboard  # noqa: E402
import e2e_overhead  # noqa: E402
import early_stopping  # noqa: E402


@pytest.mark.django_db
def test_the_dashboard_benchmark_requests_every_page_of_a_small_and_a_larger_job(
        tmp_path: Path) -> None:
    res = dashboard.measure([2, 6], repeats=1, warmups=0, log=lambda _: None)
    for size in (2, 6):
        for page in dashboard.PAGES:
            row = res["sizes"][size][page.key]
            assert row["status"] == 200 and row["bytes"] > 0 and len(row["ms"]) == 1
    text = dashboard.markdown(res, repeats=1, seconds=0.0)
    assert text.startswith("## Dashboard") and "| job page |" in text
    dashboard.plot(res, tmp_path / "dashboard.png")
    assert (tmp_path / "dashboard.png").stat().st_size > 0


def test_the_early_stopping_trainer_reports_every_epoch_with_hypertune(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    env = {**os.environ, "CLOUD_ML_HP_METRIC_FILE": str(metrics), "PYTHONPATH": str(BENCH)}
    subprocess.run([sys.executable, "-m", "early_stopping", "--trainer", "--problem=sgd_digits",
                    "--epochs=3", "--alpha=0.001", "--loss=log_loss"], env=env, check=True,
                   cwd=tmp_path, timeout=120)
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    assert [r["global_step"] for r in records] == ["1", "2", "3"]
    curve = early_stopping.learning_curve(("sgd_digits", {"alpha": "0.001", "loss": "log_loss"},
                                           0, 3))
    assert [float(r["accuracy"]) for r in records] == curve


def test_the_overhead_benchmark_floor_and_optuna_cells_run_the_trainer(tmp_path: Path) -> None:
    assert e2e_overhead.run_trainer(0.5, str(tmp_path / "m")) == 1.0
    redis = e2e_overhead.Redis(tmp_path)
    try:
        floor = e2e_overhead.run_floor(redis.url, tmp_path, n=3, workers=1, tag="smoke")
    finally:
        redis.close()
    optuna = e2e_overhead.run_optuna(tmp_path, n=3, processes=2, tag="smoke")
    assert floor["rate"] > 0 and optuna["rate"] > 0


def test_the_overhead_report_has_a_row_per_cell(tmp_path: Path) -> None:
    cell = {"rate": 10.0, "trial_ms": 30.0}
    res = {"bare_ms": 20.0, "trials": 3, "rounds": 1,
           "cells": {c: [cell] for c in e2e_overhead.CELLS}}
    text = e2e_overhead.markdown(res, seconds=0.0)
    assert text.startswith("## End-to-end overhead")
    assert text.count("| **10.0** |") == len(e2e_overhead.CELLS)
    e2e_overhead.plot(res, tmp_path / "e2e_overhead.png")
    assert (tmp_path / "e2e_overhead.png").stat().st_size > 0

