"""The benchmark code keeps working: one tiny search-quality run per method and schedule, one
latency measurement and the report writer, with nothing timed or asserted about speed."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

pytest.importorskip("optuna")

import problems  # noqa: E402
import run  # noqa: E402
import search_quality  # noqa: E402
import suggest_latency  # noqa: E402


@pytest.mark.parametrize("method", search_quality.METHODS)
@pytest.mark.parametrize("mode", list(search_quality.MODES))
def test_a_search_quality_run_asks_every_method_through_the_worker_code_path(method, mode):
    result = search_quality.run_one("branin", method, mode, seed=0, budget=3)
    assert len(result["values"]) == 3
    assert all(math.isfinite(v) for v in result["values"])
    baseline = search_quality.load_baseline()["problems"]["branin"]
    scores = search_quality.seed_scores([result], baseline, 3)
    assert 0.0 <= scores[0] <= 1.0


def test_every_problem_has_a_frozen_baseline_and_a_finite_objective_at_a_random_point():
    from hpdash.core.suggest import get_suggester

    baseline = search_quality.load_baseline()["problems"]
    for name, problem in problems.build_problems().items():
        assert baseline[name]["opt"] < baseline[name]["clip"]
        if problem.kind == "synthetic":
            point = get_suggester("RANDOM_SEARCH").suggest(problem.spec, [], 1, seed=0)[0]
            assert math.isfinite(problem(point))
            assert problem(point) >= problem.known_opt


def test_a_sklearn_problem_evaluates_with_cross_validation():
    problem = problems.build_problems()["kNN_diabetes_mse"]
    assert problem({"n_neighbors": 10, "p": 2}) > 0
    assert set(problems.optuna_distributions(problem.spec)) == {"n_neighbors", "p"}


def test_the_report_writer_produces_a_markdown_section(tmp_path, monkeypatch):
    monkeypatch.setattr(search_quality, "RESULTS", tmp_path)
    runs = [
        search_quality.run_one("branin", m, mode, seed=0, budget=3)
        for m in search_quality.METHODS
        for mode in (search_quality.MODES if m != "random" else ("seq",))
    ]
    text = search_quality.write_report(
        runs, search_quality.load_baseline(), ["branin"], seeds=1, budget=3, quick=True, wall=0.0
    )
    assert text.startswith("## Search quality")
    assert (tmp_path / "search_quality.md").exists()


def test_the_latency_suite_measures_a_small_history():
    rows = suggest_latency.measure((3,), (12,), repeats=1)
    assert rows[0]["one"] > 0 and rows[0]["four"] > 0


def test_the_runner_knows_the_suites_in_order_and_describes_the_machine():
    names = [s[0] for s in run.SUITES]
    assert names[:2] == ["search_quality", "suggest_latency"]
    assert run.header(quick=True, started=__import__("datetime").datetime.now(), wall=1.0)
