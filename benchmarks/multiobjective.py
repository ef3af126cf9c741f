"""Multi-objective search: hpdash's default algorithm on a study with two metrics (expected
hypervolume improvement over a GP per metric, :mod:`hpdash.core.suggest.ehvi`) and its previous
default (random scalarisations over the GP bandit, :mod:`hpdash.core.suggest.multiobjective`)
against Optuna's multi-objective samplers, all at their defaults and seeded, in the same run:

* Optuna's default (``optuna.create_study(directions=[...])``: TPESampler in Optuna 5);
* ``GPSampler`` (log expected hypervolume improvement over a GP per objective; torch, so it
  runs in the peer venv ``benchmarks/.venv-optuna-gp`` over ``benchmarks/peers/peer.py``'s
  line protocol with ``--objectives 2``; reported as not installed when that venv is missing);
* ``NSGAIISampler`` (its default population of 50 is the whole 50-trial budget);

and hpdash's RANDOM_SEARCH as the floor.

Problems (both metrics minimised): ZDT1 and ZDT2 in 4 dimensions (Zitzler, Deb and Thiele
2000; reference point (11, 11)) and Branin-Currin in 2 (BoTorch's; reference point (18, 6)).
hpdash's multi-objective search is designed and tuned on other problems only (``--tuning``):
ZDT3 in 4 dimensions (reference (11, 11)), DTLZ2 with 2 objectives in 4 (reference (2, 2)) and
VLMOP2 in 2 (reference (1.1, 1.1)).  ``--reuse METHOD --reuse-from FILE`` takes a method's runs
from an earlier result file (same problems, seeds and trials) instead of running them again:
for GPSampler, whose runs take most of the time.
Score: the hypervolume dominated by the trials so far, at 20 and 50 trials, one trial at a
time; mean and 95 % t-interval over seeds, and hpdash's paired difference with each peer
(the same problem and seed index; t-interval over seeds).  Every run's hypervolumes are kept
in the JSON, which is rewritten after each run (so a run cut short still reports what it has).

    nice -n 10 .venv/bin/python benchmarks/multiobjective.py --seeds 10 --trials 50
    nice -n 10 .venv/bin/python benchmarks/multiobjective.py --tuning --seeds 5 \
        --methods "hpdash (default),hpdash (scalarisation; previous default)" --out /tmp/t.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from hpdash.core.pareto import hypervolume
from hpdash.core.spec.types import HyperparameterSpec, MetricSpec, ParameterSpec
from hpdash.core.suggest import SUCCEEDED, BayesSuggester, Observation, Suggester, get_suggester

Objective = Callable[[list[float]], tuple[float, float]]
CHECKPOINTS = (20, 50)
# two-sided 95 % t quantiles by degrees of freedom
_T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
        10: 2.23, 11: 2.20, 12: 2.18, 13: 2.16, 14: 2.14, 15: 2.13, 19: 2.09}
HERE = os.path.dirname(os.path.abspath(__file__))
OURS = "hpdash (default)"
PREVIOUS = "hpdash (scalarisation; previous default)"
GP_PEER = "optuna GPSampler (logEHVI)"


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


def dtlz2(d: int) -> Objective:
    def f(x: list[float]) -> tuple[float, float]:
        g = sum((v - 0.5) ** 2 for v in x[1:])
        return (1 + g) * math.cos(x[0] * math.pi / 2), (1 + g) * math.sin(x[0] * math.pi / 2)
    return f


def vlmop2(x: list[float]) -> tuple[float, float]:
    z = [4 * v - 2 for v in x]  # [-2, 2]^d
    c = 1 / math.sqrt(len(z))
    return (1 - math.exp(-sum((v - c) ** 2 for v in z)),
            1 - math.exp(-sum((v + c) ** 2 for v in z)))


PROBLEMS = (
    Problem("zdt1-4d", 4, zdt(4, lambda r: 1 - math.sqrt(max(r, 0.0))), (11.0, 11.0)),
    Problem("zdt2-4d", 4, zdt(4, lambda r: 1 - r ** 2), (11.0, 11.0)),
    Problem("branin-currin", 2, branin_currin, (18.0, 6.0)),
)
# Design and tuning happen on these only (--tuning), never on the reported ones above.
TUNING_PROBLEMS = (
    Problem("zdt3-4d", 4, zdt(4, lambda r: 1 - math.sqrt(max(r, 0.0))
                              - r * math.sin(10 * math.pi * r)), (11.0, 11.0)),
    Problem("dtlz2-4d", 4, dtlz2(4), (2.0, 2.0)),
    Problem("vlmop2-2d", 2, vlmop2, (1.1, 1.1)),
)


def _spec(p: Problem, trials: int) -> HyperparameterSpec:
    return HyperparameterSpec(
        params=tuple(ParameterSpec(f"x{i}", "DOUBLE", 0.0, 1.0) for i in range(p.dim)),
        goal="MINIMIZE", metric_tag="f1", more_metrics=(MetricSpec("f2", "MINIMIZE"),),
        max_trials=trials)


def run_hpdash(p: Problem, algorithm: str | Suggester, seed: int, trials: int
               ) -> list[tuple[float, ...]]:
    spec = _spec(p, trials)
    suggester = get_suggester(algorithm) if isinstance(algorithm, str) else algorithm
    history: list[Observation] = []
    while len(history) < trials:
        [point] = suggester.suggest(spec, history, 1, seed)
        values = p.objective([float(point[f"x{i}"]) for i in range(p.dim)])
        history.append(Observation(dict(point), SUCCEEDED, values[0], values))
    return [o.values for o in history]


def _optuna_study(sampler: Any) -> Any:
    import optuna  # the bench extra; hpdash never imports it

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)


def _ask_tell(study: Any, p: Problem, trials: int) -> list[tuple[float, ...]]:
    out: list[tuple[float, ...]] = []
    for _ in range(trials):
        t = study.ask()
        values = p.objective([t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(p.dim)])
        study.tell(t, list(values))
        out.append(values)
    return out


def run_optuna(p: Problem, seed: int, trials: int) -> list[tuple[float, ...]]:
    import optuna

    # Optuna's default multi-objective sampler (TPESampler in Optuna 5), seeded.
    default = _optuna_study(None).sampler
    assert isinstance(default, optuna.samplers.TPESampler), type(default)
    return _ask_tell(_optuna_study(optuna.samplers.TPESampler(seed=seed)), p, trials)


def run_nsga2(p: Problem, seed: int, trials: int) -> list[tuple[float, ...]]:
    import optuna

    return _ask_tell(_optuna_study(optuna.samplers.NSGAIISampler(seed=seed)), p, trials)


def peer_python(peer: str) -> str | None:
    venv = os.path.join(HERE, f".venv-{peer}")
    python = os.path.join(venv, "bin", "python")
    return python if os.path.exists(os.path.join(venv, ".installed")) else None


def run_optuna_gp(p: Problem, seed: int, trials: int) -> list[tuple[float, ...]]:
    """Optuna's GPSampler with two objectives, in its venv (``peers/peer.py``)."""
    python = peer_python("optuna-gp")
    if python is None:
        raise FileNotFoundError("benchmarks/.venv-optuna-gp (bash benchmarks/peers/setup.sh "
                                "optuna-gp)")
    space = [{"name": f"x{i}", "type": "DOUBLE", "min": 0.0, "max": 1.0, "log": False,
              "values": []} for i in range(p.dim)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [python, os.path.join(HERE, "peers", "peer.py"), "optuna-gp", "--seed", str(seed),
         "--space", json.dumps(space), "--objectives", "2"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None

    def call(request: dict[str, Any]) -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"peer optuna-gp exited with {proc.wait()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    out: list[tuple[float, ...]] = []
    try:
        for _ in range(trials):
            trial = call({"op": "ask"})
            values = p.objective([float(trial["params"][f"x{i}"]) for i in range(p.dim)])
            call({"op": "tell", "id": trial["id"], "value": list(values)})
            out.append(values)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    return out


METHODS: dict[str, Callable[[Problem, int, int], list[tuple[float, ...]]]] = {
    OURS: lambda p, s, n: run_hpdash(p, "ALGORITHM_UNSPECIFIED", s, n),
    PREVIOUS: lambda p, s, n: run_hpdash(p, BayesSuggester(multi_objective="scalarised"), s, n),
    GP_PEER: run_optuna_gp,
    "optuna default MO (TPE)": run_optuna,
    "optuna NSGAIISampler": run_nsga2,
    "hpdash RANDOM_SEARCH": lambda p, s, n: run_hpdash(p, "RANDOM_SEARCH", s, n),
}


def summary(xs: list[float]) -> dict[str, float]:
    mean = statistics.fmean(xs)
    half = (_T95.get(len(xs) - 1, 1.96) * statistics.stdev(xs) / math.sqrt(len(xs))
            if len(xs) > 1 else float("nan"))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": len(xs)}


def report(raw: dict[str, Any]) -> dict[str, Any]:
    """From every run's hypervolumes (``raw[problem][method][checkpoint]``: one a seed, in
    seed order): each method's summary and hpdash's paired difference with each other method
    over the seeds both ran."""
    out: dict[str, Any] = {}
    rank = {name: i for i, name in enumerate(METHODS)}
    for prob, by_method in raw.items():
        for name in sorted(by_method, key=lambda m: rank.get(m, len(rank))):
            by_cp = by_method[name]
            cell = out.setdefault(prob, {}).setdefault(name, {})
            for cp, xs in by_cp.items():
                if cp.startswith("hv@") and xs:
                    cell[cp] = summary(xs)
                    if name != OURS and OURS in by_method:
                        ours = by_method[OURS][cp]
                        n = min(len(ours), len(xs))
                        if n:
                            cell[f"ours-minus@{cp[3:]}"] = summary(
                                [a - b for a, b in zip(ours[:n], xs[:n], strict=True)])
            cell["seconds_per_run"] = by_cp.get("seconds_per_run")
    return out


def table(results: dict[str, Any], checkpoints: Sequence[int] = CHECKPOINTS) -> list[str]:
    lines = ["| problem | method | seeds | " + " | ".join(f"HV @{c}" for c in checkpoints)
             + " | " + " | ".join(f"hpdash − it @{c}" for c in checkpoints) + " | s/run |",
             "|---|---|---:|" + "---|" * (2 * len(checkpoints)) + "---:|"]

    def fmt(s: dict[str, float] | None, sign: str = "") -> str:
        if not s:
            return ""
        return f"{s['mean']:{sign}.2f} [{s['low']:{sign}.2f}, {s['high']:{sign}.2f}]"

    for prob, by_method in results.items():
        for name, r in by_method.items():
            n = max((r[k]["n"] for k in r if k.startswith("hv@")), default=0)
            lines.append(
                f"| {prob} | {name} | {n} | "
                + " | ".join(fmt(r.get(f"hv@{c}")) for c in checkpoints) + " | "
                + " | ".join(fmt(r.get(f"ours-minus@{c}"), "+") for c in checkpoints)
                + f" | {r.get('seconds_per_run') or 0:.1f} |")
    return lines


def reused_runs(path: str, methods: Sequence[str], problems: Sequence[Problem], seeds: int,
                trials: int, checkpoints: Sequence[int]
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """The runs of ``methods`` kept in an earlier result file (``raw``), for the first ``seeds``
    seeds of each problem; an error unless it ran the same number of trials and has every seed
    and checkpoint.  Returns them as ``raw`` cells and, per method, where they came from."""
    with open(path) as f:
        old = json.load(f)
    if old["trials"] != trials:
        raise SystemExit(f"--reuse: {path} ran {old['trials']} trials, not {trials}")
    raw: dict[str, Any] = {}
    for name in methods:
        for p in problems:
            cell = old["raw"].get(p.name, {}).get(name, {})
            kept = {f"hv@{c}": cell.get(f"hv@{c}", [])[:seeds] for c in checkpoints}
            if any(len(v) < seeds for v in kept.values()):
                raise SystemExit(f"--reuse: {path} lacks {seeds} seeds of {name} on {p.name}")
            kept["seconds"] = cell.get("seconds", [])[:seeds]
            kept["seconds_per_run"] = (statistics.fmean(kept["seconds"]) if kept["seconds"]
                                       else None)
            raw.setdefault(p.name, {})[name] = kept
        reused = f"runs of the {old['began']} run ({os.path.basename(path)}), not run again"
    return raw, dict.fromkeys(methods, reused)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=max(CHECKPOINTS))
    ap.add_argument("--methods", default=",".join(METHODS),
                    help="comma-separated, from: " + ", ".join(METHODS))
    ap.add_argument("--problems", default=None,
                    help="comma-separated (default: the reported set, or with --tuning the "
                    "tuning set), from: " + ", ".join(p.name for p in PROBLEMS + TUNING_PROBLEMS))
    ap.add_argument("--tuning", action="store_true",
                    help="the tuning problems (" + ", ".join(p.name for p in TUNING_PROBLEMS)
                    + ") instead of the reported ones")
    ap.add_argument("--reuse", default="",
                    help="comma-separated methods whose runs are taken from --reuse-from (same "
                    "problems, seeds and trials) instead of run again")
    ap.add_argument("--reuse-from", default=os.path.join(HERE, "results", "multiobjective.json"))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "multiobjective.json"))
    args = ap.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    default = TUNING_PROBLEMS if args.tuning else PROBLEMS
    names = args.problems.split(",") if args.problems else [p.name for p in default]
    problems = [p for p in PROBLEMS + TUNING_PROBLEMS if p.name in names]
    reuse = [m for m in args.reuse.split(",") if m]
    unknown = set(methods + reuse) - set(METHODS)
    if unknown:
        ap.error(f"--methods/--reuse: unknown {sorted(unknown)}")
    missing: dict[str, str] = {}
    raw: dict[str, Any] = {}
    checkpoints = [c for c in CHECKPOINTS if c <= args.trials] or [args.trials]
    reused: dict[str, str] = {}
    if reuse:
        raw, reused = reused_runs(args.reuse_from, reuse, problems, args.seeds, args.trials,
                                  checkpoints)
        methods = [m for m in methods if m not in reuse]
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    # Seeds outermost: a run stopped early still has every method on the seeds it finished.
    for seed in range(args.seeds):
        for p in problems:
            for name in methods:
                if name in missing:
                    continue
                t0 = time.monotonic()
                try:
                    values = METHODS[name](p, seed, args.trials)
                except FileNotFoundError as e:
                    missing[name] = f"not installed: {e}"
                    continue
                cell = raw.setdefault(p.name, {}).setdefault(name, {})
                for c in checkpoints:
                    cell.setdefault(f"hv@{c}", []).append(
                        hypervolume(values[:c], p.reference, [False, False]))
                cell.setdefault("seconds", []).append(round(time.monotonic() - t0, 2))
                cell["seconds_per_run"] = statistics.fmean(cell["seconds"])
                print(seed, p.name, name, {c: round(cell[f"hv@{c}"][-1], 2)
                                           for c in checkpoints},
                      f"{cell['seconds'][-1]:.1f}s", flush=True)
                os.makedirs(os.path.dirname(args.out), exist_ok=True)
                with open(args.out, "w") as f:
                    json.dump({"seeds": args.seeds, "trials": args.trials, "began": began,
                               "finished": None, "missing": missing, "reused": reused, "raw": raw,
                               "results": report(raw)}, f, indent=1)
    results = report(raw)
    with open(args.out, "w") as f:
        json.dump({"seeds": args.seeds, "trials": args.trials, "began": began,
                   "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "missing": missing, "reused": reused, "raw": raw, "results": results},
                  f, indent=1)
    print()
    print("\n".join(table(results, checkpoints)))
    for name, why in missing.items():
        print(f"{name}: {why}")


if __name__ == "__main__":
    main()
