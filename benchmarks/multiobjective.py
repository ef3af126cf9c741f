"""Multi-objective search: hpdash's default algorithm on a study with two metrics (random
scalarisations over the GP bandit, :mod:`hpdash.core.suggest.multiobjective`) against Optuna's
default multi-objective sampler (``optuna.create_study(directions=[...])``: TPESampler in Optuna
5), both at defaults, and hpdash's RANDOM_SEARCH as the floor.

Problems (both metrics minimised): ZDT1 and ZDT2 in 4 dimensions (Zitzler, Deb and Thiele
2000; reference point (11, 11)) and Branin-Currin in 2 (BoTorch's; reference point (18, 6)).
Score: the hypervolume dominated by the trials so far, at 20 and 50 trials, one trial at a
time; mean and 95 % t-interval over seeds.

    .venv/bin/python benchmarks/multiobjective.py --seeds 5 --trials 50
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from hpdash.core.pareto import hypervolume
from hpdash.core.spec.types import HyperparameterSpec, MetricSpec, ParameterSpec
from hpdash.core.suggest import SUCCEEDED, Observation, get_suggester

Objective = Callable[[list[float]], tuple[float, float]]
CHECKPOINTS = (20, 50)
# two-sided 95 % t quantiles by degrees of freedom
_T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}


def zdt(d: int, shape: Callable[[float], float]) -> Objective:
    def f(x: list[float]) -> tuple[float, float]:
        g = 1 + 9 * sum(x[1:]) / (d - 1)
        return x[0], g * shape(x[0] / g)
    return f


def branin_currin(x: list[float]) -> tuple[float, float]:
    u, v = 15 * x[0] - 5, 15 * x[1]
    branin = ((v - 5.1 / (4 * math.pi ** 2) * u ** 2 + 5 / math.pi * u - 6) ** 2
              + 10 * (1 - 1 / (8 * math.pi)) * math.cos(u) + 10)
    a, b = x
    factor = 1 - math.exp(-1 / (2 * b)) if b > 0 else 1.0
    currin = factor * (2300 * a ** 3 + 1900 * a ** 2 + 2092 * a + 60) / (
        100 * a ** 3 + 500 * a ** 2 + 4 * a + 20)
    return branin, currin


@dataclass(frozen=True)
class Problem:
    name: str
    dim: int
    objective: Objective
    reference: tuple[float, float]


PROBLEMS = (
    Problem("zdt1-4d", 4, zdt(4, lambda r: 1 - math.sqrt(max(r, 0.0))), (11.0, 11.0)),
    Problem("zdt2-4d", 4, zdt(4, lambda r: 1 - r ** 2), (11.0, 11.0)),
    Problem("branin-currin", 2, branin_currin, (18.0, 6.0)),
)


def _spec(p: Problem, trials: int) -> HyperparameterSpec:
    return HyperparameterSpec(
        params=tuple(ParameterSpec(f"x{i}", "DOUBLE", 0.0, 1.0) for i in range(p.dim)),
        goal="MINIMIZE", metric_tag="f1", more_metrics=(MetricSpec("f2", "MINIMIZE"),),
        max_trials=trials)


def run_hpdash(p: Problem, algorithm: str, seed: int, trials: int) -> list[tuple[float, ...]]:
    spec, suggester = _spec(p, trials), get_suggester(algorithm)
    history: list[Observation] = []
    while len(history) < trials:
        [point] = suggester.suggest(spec, history, 1, seed)
        values = p.objective([float(point[f"x{i}"]) for i in range(p.dim)])
        history.append(Observation(dict(point), SUCCEEDED, values[0], values))
    return [o.values for o in history]


def run_optuna(p: Problem, seed: int, trials: int) -> list[tuple[float, ...]]:
    import optuna  # the bench extra; hpdash never imports it

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Optuna's default multi-objective sampler (TPESampler in Optuna 5), seeded.
    default = optuna.create_study(directions=["minimize", "minimize"]).sampler
    assert isinstance(default, optuna.samplers.TPESampler), type(default)
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=optuna.samplers.TPESampler(seed=seed))
    out: list[tuple[float, ...]] = []
    for _ in range(trials):
        t = study.ask()
        values = p.objective([t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(p.dim)])
        study.tell(t, list(values))
        out.append(values)
    return out


def summary(xs: list[float]) -> dict[str, float]:
    mean = statistics.fmean(xs)
    half = (_T95.get(len(xs) - 1, 1.96) * statistics.stdev(xs) / math.sqrt(len(xs))
            if len(xs) > 1 else float("nan"))
    return {"mean": mean, "low": mean - half, "high": mean + half}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=max(CHECKPOINTS))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "multiobjective.json"))
    args = ap.parse_args()
    methods: dict[str, Callable[[Problem, int, int], list[tuple[float, ...]]]] = {
        "hpdash (default)": lambda p, s, n: run_hpdash(p, "ALGORITHM_UNSPECIFIED", s, n),
        "optuna (default MO)": run_optuna,
        "hpdash RANDOM_SEARCH": lambda p, s, n: run_hpdash(p, "RANDOM_SEARCH", s, n),
    }
    results: dict[str, Any] = {}
    for p in PROBLEMS:
        for name, run in methods.items():
            hv: dict[int, list[float]] = {c: [] for c in CHECKPOINTS if c <= args.trials}
            began = time.monotonic()
            for seed in range(args.seeds):
                values = run(p, seed, args.trials)
                for c, xs in hv.items():
                    xs.append(hypervolume(values[:c], p.reference, [False, False]))
            results.setdefault(p.name, {})[name] = {
                "seconds": round(time.monotonic() - began, 1),
                **{f"hv@{c}": summary(xs) for c, xs in hv.items()}}
            print(p.name, name, {k: (round(v["mean"], 3) if isinstance(v, dict) else v)
                                 for k, v in results[p.name][name].items()}, flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"seeds": args.seeds, "trials": args.trials, "results": results}, f, indent=1)
    print("\n| problem | method | " + " | ".join(f"HV @{c}" for c in CHECKPOINTS) + " |")
    print("|---|---|" + "---|" * len(CHECKPOINTS))
    for prob, by_method in results.items():
        for name, r in by_method.items():
            cells = [f"{r[f'hv@{c}']['mean']:.3f} [{r[f'hv@{c}']['low']:.3f}, "
                     f"{r[f'hv@{c}']['high']:.3f}]" if f"hv@{c}" in r else "" for c in CHECKPOINTS]
            print(f"| {prob} | {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
