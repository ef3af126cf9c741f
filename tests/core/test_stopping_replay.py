"""The default rule replayed over whole tuning runs: a trial it stops early never turns out to be
one that would have beaten the run's final best."""

import csv
import gzip
import math
import random
from pathlib import Path

import pytest

from hpdash.core.stopping import DEFAULT_RULE, Curves, StoppingContext, get_rule

LCBENCH = Path("/work/shared/data/lcbench/curves.csv.gz")


def replay(curves, maximize=True):
    """One trial at a time, every report judged by the configured (default) rule against the
    finished trials, as the worker does; returns the steps each trial ran."""
    rule = get_rule(DEFAULT_RULE)
    completed = Curves()
    ran = []
    for i, curve in enumerate(curves):
        own = []
        for step, value in enumerate(curve, start=1):
            own.append((step, value))
            decision = rule.decide(StoppingContext(points=own, completed=completed,
                                                   maximize=maximize))
            if decision is not None and step < len(curve):
                assert decision.step == step and decision.rule == "curve_bound"
                break
        completed.add(i, own, stopped_early=len(own) < len(curve))
        ran.append(len(own))
    return ran


def assert_no_stopped_trial_beats_the_final_best(curves, maximize=True):
    ran = replay(curves, maximize)
    finals = [c[n - 1] for c, n in zip(curves, ran, strict=True)]
    best = max(finals) if maximize else min(finals)
    stopped = [i for i, (c, n) in enumerate(zip(curves, ran, strict=True)) if n < len(c)]
    for i in stopped:
        would_have = curves[i][-1]
        assert (would_have <= best) if maximize else (would_have >= best), (i, would_have, best)
    return len(stopped), 1 - sum(ran) / sum(len(c) for c in curves)


def synthetic_run(seed, n=40, steps=30):
    """Saturating curves of random quality and speed, some slow to start, with noise."""
    rng = random.Random(seed)
    curves = []
    for _ in range(n):
        q, tau, delay = rng.uniform(0.3, 0.95), rng.uniform(1, 12), rng.choice([0, 0, 0, 6])
        curves.append([q * (1 - math.exp(-max(0, t - delay) / tau)) + rng.gauss(0, 0.003)
                       for t in range(1, steps + 1)])
    return curves


@pytest.mark.parametrize("seed", range(6))
def test_a_trial_stopped_by_the_default_rule_never_beats_the_final_best(seed):
    stopped, saved = assert_no_stopped_trial_beats_the_final_best(synthetic_run(seed))
    assert stopped > 0 and saved > 0.2


def test_the_same_holds_when_minimizing():
    curves = [[1 - v for v in c] for c in synthetic_run(7)]
    stopped, _ = assert_no_stopped_trial_beats_the_final_best(curves, maximize=False)
    assert stopped > 0


@pytest.mark.skipif(not LCBENCH.exists(), reason="LCBench curves not on this machine")
def test_on_lcbench_runs_no_stopped_trial_beats_the_final_best():
    by_task: dict[str, dict[int, list[float]]] = {}
    with gzip.open(LCBENCH, "rt", newline="") as f:
        for r in csv.DictReader(f):
            by_task.setdefault(r["task"], {}).setdefault(int(r["config"]), []).append(
                float(r["val_accuracy"]))
    for task, configs in by_task.items():
        order = list(configs)
        random.Random(int(task)).shuffle(order)
        stopped, saved = assert_no_stopped_trial_beats_the_final_best(
            [configs[i] for i in order[:100]])
        assert stopped > 10 and saved > 0.3, task
