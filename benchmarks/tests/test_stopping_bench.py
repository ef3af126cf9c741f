"""The early-stopping benchmark (benchmarks/early_stopping.py) keeps working: its replay feeds
hpdash's rules and Optuna's pruners the same reports, and its report has the comparison table.
(Nothing about speed is asserted.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import early_stopping  # noqa: E402
import lcbench  # noqa: E402

GOOD = [[0.5 + 0.02 * s for s in range(10)] for _ in range(3)]
BAD = [0.1] * 10


def test_the_replay_stops_a_clearly_worse_trial_with_the_default_rule() -> None:
    stopper = early_stopping.HpdashStopper(early_stopping.hpdash_rule("curve_bound")().rule)
    out = early_stopping.replay([*GOOD, BAD], parallel=1, stopper=stopper)
    assert out.stopped == [False, False, False, True] and out.steps[3] == 3
    off = early_stopping.replay([*GOOD, BAD], parallel=1)
    assert off.steps == [10] * 4 and not any(off.stopped)


@pytest.mark.parametrize("method", list(early_stopping.METHODS))
def test_every_method_replays_a_job_and_never_stops_a_finished_trial(method: str) -> None:
    job = early_stopping.Job("sklearn", "random", "x", 0, [*GOOD, BAD] * 3, 100.0)
    for parallel in (1, 2):
        run = early_stopping.compare(job, parallel, method, early_stopping.METHODS[method][1])
        assert 0 <= run.saved < 1 and run.stopped <= len(job.curves)


def test_the_benchmark_builds_its_jobs_replays_them_and_writes_the_table(tmp_path: Path) -> None:
    sizes = early_stopping.Sizes(seeds_lcbench=1, seeds_sklearn=1, trials_random=12,
                                 trials_bayes=8, trials_sklearn=6, epochs=4,
                                 problems=("sgd_digits",),
                                 tasks=(lcbench.TUNING_TASKS[0], lcbench.HELDOUT_TASKS[0]))
    res = early_stopping.measure(sizes, parallels=(1, 2), processes=1, log=lambda _: None)
    sets = {r.curves_set for r in res["runs"]}
    assert "sklearn" in sets
    if lcbench.available():
        assert {"lcbench tuning", "lcbench held-out", "lcbench held-out + noise"} <= sets
    text = early_stopping.markdown(res, None, seconds=0.0)
    assert text.startswith("## Early stopping") and "Optuna `WilcoxonPruner()`" in text
    assert "**Targets**" in text
    early_stopping.plot(res, tmp_path / "early_stopping.png")
    assert (tmp_path / "early_stopping.png").stat().st_size > 0


def test_the_default_algorithm_ordering_runs_the_gp_over_an_lcbench_pool() -> None:
    if not lcbench.available():
        pytest.skip("LCBench curves not on this machine")
    order = early_stopping.lcbench_bayes_order(lcbench.TUNING_TASKS[0], seed=0, n=12)
    assert len(order) == len(set(order)) == 12 and all(0 <= i < 200 for i in order)
