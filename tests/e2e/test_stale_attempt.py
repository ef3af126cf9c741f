"""A worker frozen past the heartbeat timeout (SIGSTOP: a hung process, a long lock) cannot fence
its own trainer, which runs on and keeps writing its metric file while the trial runs again on
another worker.  Each attempt has its own metric file (issue 20): the re-run reads only what
its own trainer wrote, so every measurement of the trial comes from one trainer run."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from harness import (
    Stack,
    alive,
    running_stack,
    trainer_job,
    trainers_under,
    wait_for_state,
    worker_of,
)

pytestmark = pytest.mark.e2e

TICKER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 1,
          "maxParallelTrials": 1, "algorithm": "RANDOM_SEARCH",
          "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}
STEPS = 60


def _tickers(root: int) -> list[int]:
    return trainers_under(root, "e2etrainer.ticker")


def _values(stack: Stack, job_id: str) -> list[tuple[int, float]]:
    query = ("SELECT m.step, m.value FROM hpdash_measurement m JOIN hpdash_trial t "
             "ON t.id = m.trial_id JOIN hpdash_job j ON j.id = t.job_id WHERE j.job_id = {} "
             "ORDER BY m.step")
    if "DATABASE_URL" in stack.env:
        import psycopg

        with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
            return [(int(s), float(v)) for s, v in
                    conn.execute(query.format("%s"), (job_id,)).fetchall()]
    with sqlite3.connect(stack.data_dir / "hpdash.sqlite3") as db:
        return [(int(s), float(v)) for s, v in db.execute(query.format("?"), (job_id,))]


@pytest.mark.parametrize("box", ["off", "auto"])
def test_a_stalled_workers_trainer_writes_nothing_into_the_rerun(tmp_path: Path, box: str):
    with running_stack(tmp_path / "data", workers=2, HPDASH_HEARTBEAT_TIMEOUT="4",
                       HPDASH_RECONCILE_INTERVAL="1", HPDASH_TRIAL_BOX=box) as stack:
        assert stack.proc is not None
        ml = stack.ml()
        body = trainer_job("stale_1", "e2etrainer.ticker", TICKER,
                           args=[f"--steps={STEPS}", "--sleep=0.25"])
        ml.projects().jobs().create(parent="projects/f", body=body).execute()
        deadline = time.monotonic() + 60
        while not (first := _tickers(stack.proc.pid)):
            assert time.monotonic() < deadline, "no trainer started"
            time.sleep(0.1)
        stale = first[0]
        worker = worker_of(stale)
        time.sleep(1)
        os.kill(worker, signal.SIGSTOP)  # frozen: no heartbeat, no fencing, no stop
        # The trainer is held too, and let go once its trial runs again, so that the two
        # trainers overlap however long the re-run takes to start on a loaded machine.
        os.kill(stale, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 90
            while [p for p in _tickers(stack.proc.pid) if p != stale] == []:
                assert time.monotonic() < deadline, "the trial did not run again"
                time.sleep(0.1)
            os.kill(stale, signal.SIGCONT)  # the stale trainer writes on beside the re-run
            time.sleep(1)  # a few steps: each writes its metric file
            if box == "auto":  # boxed, it writes into its own (bound, since removed) folder
                assert alive(stale), "the stale trainer runs on beside the re-run"
            # Unboxed, its folder is gone (the re-run's attempt made the trial's directory
            # afresh): hypertune's next write fails and the stale trainer ends; before each
            # attempt had its own folder, it wrote on into the re-run's metric file.
            job = wait_for_state(ml, "projects/f/jobs/stale_1", timeout=120)
        finally:
            os.kill(stale, signal.SIGCONT)
            os.kill(worker, signal.SIGCONT)
        points = _values(stack, "stale_1")
    assert job["state"] == "SUCCEEDED", job
    values = {v for _, v in points}
    assert len(values) == 1, f"measurements of two trainer runs: {points}"
    assert [s for s, _ in points] == list(range(1, STEPS + 1))
    assert job["trainingOutput"]["trials"][0]["finalMetric"]["objectiveValue"] == values.pop()
