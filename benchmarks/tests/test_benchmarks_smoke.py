"""The benchmark code keeps working: one tiny search-quality run per method and schedule, one
latency measurement and the report writer, with nothing timed or asserted about speed."""

from __future__ import annotations

import math
import os
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import container_overhead  # noqa: E402
import problems  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import search_quality  # noqa: E402
import suggest_latency  # noqa: E402
import trial_box  # noqa: E402


@pytest.mark.parametrize("method", search_quality.METHODS)
@pytest.mark.parametrize("mode", list(search_quality.MODES))
def test_a_search_quality_run_asks_every_method_through_the_worker_code_path(
        method: str, mode: str) -> None:
    result = search_quality.run_one("branin", method, mode, seed=0, budget=3)
    assert len(result["values"]) == 3
    assert all(math.isfinite(v) for v in result["values"])
    baseline = search_quality.load_baseline()["problems"]["branin"]
    scores = search_quality.seed_scores([result], baseline, 3)
    assert 0.0 <= scores[0] <= 1.0


def test_the_suggester_sees_the_max_trials_and_parallelism_of_the_job_it_runs() -> None:
    """Its initial design depends on maxTrials (issue 23: every run here used to say 1)."""
    from collections.abc import Sequence

    from hpdash.core.spec.types import HyperparameterSpec
    from hpdash.core.suggest import Observation, get_suggester
    from hpdash.core.suggest.base import Point

    seen: set[tuple[int, int]] = set()

    class Recorder:
        def suggest(self, spec: HyperparameterSpec, history: Sequence[Observation], n: int,
                    seed: int) -> list[Point]:
            seen.add((spec.max_trials, spec.max_parallel_trials))
            return get_suggester("RANDOM_SEARCH").suggest(spec, history, n, seed)

    branin = problems.build_problems()["branin"]
    assert len(search_quality.run_hpdash(branin, Recorder(), 0, 7, 4)[0]) == 7
    assert seen == {(7, 4)}
    assert search_quality.MODE_BUDGET["seq10"] == 10  # the 10-trial jobs of the report


def test_every_problem_has_a_frozen_baseline_and_a_finite_objective_at_a_random_point() -> None:
    from hpdash.core.suggest import get_suggester

    baseline = search_quality.load_baseline()["problems"]
    for name, problem in problems.build_problems().items():
        assert baseline[name]["opt"] < baseline[name]["clip"]
        if problem.kind == "synthetic":
            point = get_suggester("RANDOM_SEARCH").suggest(problem.spec, [], 1, seed=0)[0]
            assert math.isfinite(problem(point))
            assert problem.known_opt is not None and problem(point) >= problem.known_opt


def test_a_sklearn_problem_evaluates_with_cross_validation() -> None:
    problem = problems.build_problems()["kNN_diabetes_mse"]
    assert problem({"n_neighbors": 10, "p": 2}) > 0
    assert set(problems.optuna_distributions(problem.spec)) == {"n_neighbors", "p"}


def test_optuna_gets_a_discrete_parameter_as_an_ordered_index() -> None:
    import optuna

    spec = problems.build_problems()["net7"].spec
    dists = problems.optuna_distributions(spec)
    assert dists["warmup"] == optuna.distributions.IntDistribution(0, 4)
    point = problems.optuna_point(spec, {"warmup": 3, "kernel": 0, "layers": 2})
    assert point == {"warmup": 1000.0, "kernel": 1.0, "layers": 2}
    assert problems.optuna_params(spec, point) == {"warmup": 3, "kernel": 0, "layers": 2}


def test_the_held_out_set_has_at_least_12_problems_none_of_them_tuned_on() -> None:
    known = problems.build_problems()
    assert len(set(problems.HELDOUT)) >= 12
    assert set(problems.HELDOUT) <= set(known)
    assert not set(problems.HELDOUT) & set(problems.TUNING)


def test_the_decision_set_is_apart_from_the_tuning_and_held_out_sets() -> None:
    """Choices that pass the tuning set are decided on problems of their own, so the held-out
    set stays a report."""
    assert len(set(problems.DECISION)) >= 6
    assert set(problems.DECISION) <= set(problems.build_problems())
    assert not set(problems.DECISION) & (set(problems.HELDOUT) | set(problems.TUNING))


def test_a_cached_run_goes_stale_when_its_problem_changes_and_only_then(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The run cache's fingerprint is per problem: a problem whose values change loses its
    cached runs, the others keep theirs (adding the decision set once made all 530 GPSampler
    runs stale)."""
    cache = tmp_path / "runs.jsonl"
    for name in ("branin", "hartmann6"):
        search_quality._append(cache, {"problem": name, "method": "optuna-gp", "mode": "seq",
                                       "seed": 0, "budget": 2, "values": [1.0, 0.5]})
    assert set(search_quality.load_cache(cache)) == {
        ("branin", "optuna-gp", "seq", 0), ("hartmann6", "optuna-gp", "seq", 0)}
    known = search_quality._problems()
    branin = known["branin"]
    monkeypatch.setitem(known, "branin", problems.Problem(
        "branin", branin.params, lambda p: branin.objective(p) + 1.0, "synthetic",
        known_opt=branin.known_opt))
    search_quality.problem_print.cache_clear()
    try:
        assert set(search_quality.load_cache(cache)) == {("hartmann6", "optuna-gp", "seq", 0)}
    finally:
        search_quality.problem_print.cache_clear()


def test_added_seeds_join_the_stored_runs_and_replace_a_rerun() -> None:
    """``--add-seeds``: runs of new seeds are added to the stored ones; a run of the same
    problem, method, schedule and seed replaces the stored one."""

    def run(seed: int, mode: str, value: float) -> dict[str, object]:
        return {"problem": "branin", "method": "hpdash", "mode": mode, "seed": seed,
                "values": [value]}

    old = [run(0, "seq", 1.0), run(1, "seq", 1.0), run(1, "par4", 1.0)]
    merged = search_quality.merge_runs(old, [run(1, "seq", 2.0), run(2, "seq", 2.0)])
    assert sorted((r["seed"], r["mode"], r["values"]) for r in merged) == [
        (0, "seq", [1.0]), (1, "par4", [1.0]), (1, "seq", [2.0]), (2, "seq", [2.0])]


def test_the_report_writer_produces_a_markdown_section(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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


def test_the_latency_suite_measures_a_small_history() -> None:
    rows = suggest_latency.measure((3,), (12,), repeats=1)
    assert rows[0]["one"] > 0 and rows[0]["four"] > 0


def test_the_runner_knows_the_suites_in_order_and_describes_the_machine() -> None:
    names = [s[0] for s in run.SUITES]
    assert names[:2] == ["search_quality", "suggest_latency"]
    assert run.header(quick=True, started=__import__("datetime").datetime.now(), wall=1.0)


@pytest.mark.parametrize(
    ("ratio", "lo", "hi", "expected"),
    [
        (0.70, 0.60, 0.85, "met"),  # the whole interval below 0.90
        (0.77, 0.52, 1.15, "not established"),  # point below, interval reaches above
        (0.85, 0.70, 0.90, "not established"),  # the upper bound must be strictly below
        (0.95, 0.80, 1.10, "missed"),  # point estimate not below the threshold
        (1.20, 1.05, 1.40, "missed"),
    ],
)
def test_a_below_target_is_met_only_when_its_whole_interval_is_below(
        ratio: float, lo: float, hi: float, expected: str) -> None:
    assert search_quality.verdict_below(ratio, lo, hi) == expected


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.90, 1.05, "met"),
        (0.95, 1.10, "met"),  # within 10 % includes 10 %
        (1.00, 1.25, "not established"),
        (1.11, 1.40, "missed"),  # even the lower bound is more than 10 % worse
    ],
)
def test_a_within_target_is_judged_on_its_interval(lo: float, hi: float, expected: str) -> None:
    assert search_quality.verdict_within(lo, hi) == expected


def test_the_targets_use_the_interval_not_the_point_estimate() -> None:
    figures = {
        "ratio": {
            "optuna-gp/seq@20": (0.77, 0.52, 1.15),
            "optuna-gp/seq@50": (0.47, 0.26, 0.80),
            # seq / par4: par4 / seq is 1.16 [1.02, 1.32] at 20, 1.34 [1.19, 1.56] at 50
            "hpdash/par4@20": (1 / 1.16, 1 / 1.32, 1 / 1.02),
            "hpdash/par4@50": (1 / 1.34, 1 / 1.56, 1 / 1.19),
        },
        "worse_than_random": {},
    }
    lines = search_quality.targets(figures, (10, 20, 50))
    gp20, gp50, _, par20, par50 = lines[1:6]
    assert gp20.endswith("**not established**.") and "0.77 [0.52, 1.15]" in gp20
    assert gp50.endswith("**met**.")
    assert par20.endswith("**not established**.") and "1.16 [1.02, 1.32]" in par20
    assert par50.endswith("**missed**.")


def test_the_parallel_target_shows_what_sequential_scored_with_the_same_information() -> None:
    figures = {
        "ratio": {"hpdash/par4@20": (1 / 1.19, 1 / 1.33, 1 / 1.07)},
        "mean": {"hpdash/par4@20": 0.189, "hpdash/seq@17": 0.193},
        "ci": {"hpdash/seq@17": (0.173, 0.213)},
        "worse_than_random": {},
    }
    (par20,) = [line for line in search_quality.targets(figures, (20,)) if "within 10" in line]
    assert "sequential run knows at 17 trials" in par20
    assert "0.193 [0.173, 0.213] there, 4 in parallel 0.189 at 20" in par20


def test_the_random_target_is_not_claimed_when_random_search_did_not_run() -> None:
    figures = {"ratio": {}, "worse_than_random": {}, "random_compared": False}
    (line,) = [x for x in search_quality.targets(figures, (20,)) if "than random" in x]
    assert "not measured" in line and "**met**" not in line


def test_a_resumed_job_is_handed_the_points_its_values_belong_to() -> None:
    problem = search_quality._problems()["branin"]
    values, _, trials = search_quality.run_hpdash_trials(
        problem, search_quality.SUGGESTER["hpdash"], 3, 8, 1)
    # Past the initial design (5 points for 2 parameters) the points are the model's, not
    # the Sobol sequence's: the history must carry those.
    assert [o.value for o in trials] == values
    assert all(o.value == search_quality.evaluate(problem, o.params) for o in trials)
    result = search_quality.resume_one("branin", 0)
    assert len(result["cold"]) == search_quality.RESUME_COLD
    assert len(result["resumed"]) == len(result["fresh"]) == search_quality.RESUME_NEW


def test_a_peer_whose_venv_is_missing_is_reported_as_not_installed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_quality, "RESULTS", tmp_path)
    monkeypatch.setattr(search_quality, "peer_python", lambda peer: None)
    assert search_quality._run_task(("branin", "optuna-gp", "seq", 0, 3)) is None
    search_quality.main([
        "--problems", "branin", "--heldout", "", "--seeds", "1", "--budget", "3",
        "--methods", "hpdash,optuna-gp,vizier", "--workers", "1", "--cache", "",
        "--resume-reps", "0",
    ])
    text = (tmp_path / "search_quality.md").read_text()
    for name in ("Optuna 5 GPSampler", "OSS Vizier default (GP-UCB-PE)"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        assert "not installed" in row
    hpdash = next(line for line in text.splitlines() if line.startswith("| **hpdash default** |"))
    assert "(1 seed: no interval)" in hpdash  # one seed: nothing to resample


def test_the_report_and_its_plot_take_a_slow_tuner_given_fewer_trials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_quality, "RESULTS", tmp_path)
    runs = [search_quality.run_one("branin", "random", "seq", seed=s, budget=3) for s in (0, 1)]
    # A Vizier-like peer run with 2 of the 3 trials (its values: random's, for speed).
    runs += [{**r, "method": "vizier", "values": r["values"][:2]} for r in runs]
    text = search_quality.write_report(
        runs, search_quality.load_baseline(), [], seeds=2, budget=3, quick=True, wall=None,
        heldout=["branin"],
    )
    assert "rebuilt from saved runs" in text
    assert (tmp_path / "search_quality.png").exists()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap"),
                    reason="the trial box needs root and bubblewrap (CI has both)")
def test_the_trial_box_suite_times_boxed_and_bare_trials_and_judges_the_overhead() -> None:
    times = trial_box.measure(rounds=1)
    assert all(len(v) == 1 and v[0] > 0 for v in times.values())
    text = trial_box.render(times, 1.0, (1.0, 1.0))
    assert "Overhead of the box per trial" in text and "| boxed |" in text


@pytest.mark.skipif(os.geteuid() != 0 or not all(shutil.which(t) for t in (
    "podman", "catatonit", "bwrap")), reason="needs root, podman and bubblewrap (CI has them)")
def test_the_container_suite_times_package_and_container_trials() -> None:
    times = container_overhead.measure(rounds=1)
    assert set(times) == set(container_overhead.CELLS)
    assert all(len(v) == 1 and v[0] > 0 for v in times.values())
    text = container_overhead.render(times, 1.0)
    assert "Overhead of a container per trial" in text and "| container |" in text


def test_an_ablation_runs_a_variant_and_compares_it_with_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ablate

    from hpdash.core.suggest import bayes

    monkeypatch.setattr(ablate, "OUT", tmp_path)
    monkeypatch.setattr(bayes, "CENTRE_FIRST", False)
    ablate.run("a", [], ["branin"], seeds=2, budget=6, modes=["seq"], workers=1)
    ablate.run("b", ["CENTRE_FIRST=true"], ["branin"], seeds=2, budget=6, modes=["seq"],
               workers=1)
    assert bayes.CENTRE_FIRST is True  # the variant's setting was applied
    ablate.compare("b", "a", [6])
    out = capsys.readouterr().out
    assert "b vs a, seq, 1 problems" in out and "| @6 | 2 |" in out


def test_a_suite_that_cannot_run_here_is_skipped_and_keeps_its_last_section(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``make bench`` on a machine without PostgreSQL (or root, or podman): the suite says why,
    the run does not fail, and its last measured section stays; a suite that writes nothing
    without saying so still fails."""
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.setattr(run, "RESULTS", results)
    (tmp_path / "needs_pg.py").write_text(
        "import sys\nprint('needs_pg: needs PostgreSQL; skipped')\n"
        f"sys.exit({report.SKIPPED})\n")
    (tmp_path / "silent.py").write_text("pass\n")
    (results / "needs_pg.md").write_text("## needs_pg\n\nthe last real measurement\n")
    status, _, detail = run.run_suite("needs_pg", True, 60)
    assert status == "skipped" and "needs PostgreSQL" in detail
    assert (results / "needs_pg.md").read_text().endswith("the last real measurement\n")
    assert not (results / "needs_pg.md.last").exists()
    status, _, detail = run.run_suite("silent", True, 60)
    assert status == "failed" and "wrote no" in detail
