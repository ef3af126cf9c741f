"""Latency of the default (Bayesian) suggester on synthetic histories.

    python benchmarks/suggest_latency.py [--repeats 5]

Prints a markdown table: median wall time of one suggestion and of a batch of 4, for 3 and 8
parameters and 20, 100, 300 and 1000 finished trials.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from hpdash.spec.types import HyperparameterSpec, ParameterSpec  # noqa: E402
from hpdash.suggest import SUGGESTERS, Observation  # noqa: E402
from hpdash.suggest.base import Point  # noqa: E402

TRIALS = (20, 100, 300, 1000)

PARAMS = (
    ParameterSpec("learning_rate", "DOUBLE", 1e-5, 1.0, scale_type="UNIT_LOG_SCALE"),
    ParameterSpec("hidden", "INTEGER", 8, 512, scale_type="UNIT_LOG_SCALE"),
    ParameterSpec("optimizer", "CATEGORICAL", categorical_values=("sgd", "adam", "rmsprop")),
    ParameterSpec("dropout", "DOUBLE", 0.0, 0.9, scale_type="UNIT_LINEAR_SCALE"),
    ParameterSpec("momentum", "DOUBLE", 0.5, 0.999, scale_type="UNIT_REVERSE_LOG_SCALE"),
    ParameterSpec("layers", "INTEGER", 1, 8),
    ParameterSpec("batch", "DISCRETE", discrete_values=(16.0, 32.0, 64.0, 128.0, 256.0)),
    ParameterSpec("weight_decay", "DOUBLE", 1e-6, 1e-2, scale_type="UNIT_LOG_SCALE"),
)


def objective(point: Point) -> float:
    """A smooth synthetic accuracy with an optimum inside the space, plus a little noise."""
    v = -((math.log10(float(point["learning_rate"])) + 2.5) ** 2)
    v -= (math.log2(float(point["hidden"])) - 7) ** 2 / 4
    v += {"sgd": 0.0, "adam": 0.5, "rmsprop": 0.3}[str(point["optimizer"])]
    for name, best in (("dropout", 0.2), ("momentum", 0.9), ("layers", 3), ("batch", 64)):
        if name in point:
            v -= (float(point[name]) - best) ** 2 / (1.0 + best * best)
    if "weight_decay" in point:
        v -= (math.log10(float(point["weight_decay"])) + 4) ** 2 / 10
    return v + 0.01 * math.sin(1000 * v)


def history(spec: HyperparameterSpec, size: int) -> list[Observation]:
    points = SUGGESTERS["RANDOM_SEARCH"].suggest(spec, [], size, seed=7)
    return [Observation(p, "SUCCEEDED", objective(p)) for p in points]


def median_time(spec: HyperparameterSpec, hist: list[Observation], n: int, repeats: int) -> float:
    bayes = SUGGESTERS["ALGORITHM_UNSPECIFIED"]
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        points = bayes.suggest(spec, hist, n, seed)
        times.append(time.perf_counter() - start)
        assert len(points) == n
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, repeats: {args.repeats} (median)\n")
    print("| params | finished trials | 1 suggestion (s) | batch of 4 (s) |")
    print("|---:|---:|---:|---:|")
    for d in (3, 8):
        spec = HyperparameterSpec(params=PARAMS[:d], goal="MAXIMIZE")
        for size in TRIALS:
            hist = history(spec, size)
            one = median_time(spec, hist, 1, args.repeats)
            four = median_time(spec, hist, 4, args.repeats)
            print(f"| {d} | {size} | {one:.3f} | {four:.3f} |", flush=True)


if __name__ == "__main__":
    main()
