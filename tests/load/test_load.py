"""Load (issue 6): 50 concurrent API clients for a minute, and 20 jobs at once on 2 workers,
against ``manage.py serve``.  Excluded from the default run; ``pytest -m load tests/load -s``
prints the figures (``make bench`` runs the same code and writes ``benchmarks/results/load.md``;
the tests leave the committed report alone)."""

from __future__ import annotations

import os
from typing import Any

import load as bench
import pytest
from harness import Stack

pytestmark = pytest.mark.load

CLIENTS = int(os.environ.get("HPDASH_LOAD_CLIENTS", 50))
SECONDS = float(os.environ.get("HPDASH_LOAD_SECONDS", 60))
JOBS = int(os.environ.get("HPDASH_LOAD_JOBS", 20))
RESULTS: dict[str, Any] = {}


def _report() -> None:
    print("\n" + bench.markdown(RESULTS.get("clients"), RESULTS.get("many")))


def test_fifty_clients_for_a_minute_get_only_2xx_answers_and_lose_no_job(load_stack: Stack):
    result = bench.run_clients(load_stack, clients=CLIENTS, seconds=SECONDS)
    RESULTS["clients"] = result
    _report()
    assert not result.errors, [f"{s.op} {s.status} {s.error}" for s in result.errors[:10]]
    assert not result.problems, result.problems[:10]
    assert len(result.jobs) == 2 * CLIENTS, "every client created its jobs"
    assert {s.op for s in result.samples} == set(bench.OPERATIONS)
    assert bench.lost_or_wrong_jobs(result) == []


def test_twenty_jobs_at_once_on_two_workers_run_exactly_max_trials_within_their_limits(
        load_stack: Stack):
    result = bench.run_many_jobs(load_stack, jobs=JOBS, workers=bench.WORKERS)
    RESULTS["many"] = result
    _report()
    assert bench.wrong_many_jobs(result) == []
    assert result.trials == sum(max_trials for max_trials, _ in result.spec.values())
