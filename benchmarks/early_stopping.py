"""Early stopping: trainer steps saved, and the best result lost, by hpdash's median stopping
rule (``hpdash.core.stopping``) on real learning curves.

**Simulation** (fast, deterministic).  Two problems on scikit-learn's bundled ``digits`` data,
each trainer reporting validation accuracy after every epoch of ``partial_fit``:
``MLPClassifier`` (adam; learning rate, L2, width, batch size) and ``SGDClassifier`` (L2,
step size, schedule, loss).  For every seed, hpdash's own ``RANDOM_SEARCH`` suggester draws the
configurations and every configuration is trained for the full number of epochs, which records
its learning curve.  The tuning loop is then replayed from those curves: trials start in trial
order on ``maxParallelTrials`` slots, each epoch takes one time unit, and every reported value
goes through ``hpdash.core.stopping.should_stop`` against ``CompletedCurves`` of the trials that
have finished (SUCCEEDED, stopped ones with their partial curves) — what the worker does
(``hpdash.worker.trial_runner._EarlyStopper``).  With random search the configurations do
not depend on the results, so "with" and "without" early stopping run the very same trials.
Steps saved =
1 − Σ epochs run with / Σ without; regret = best final value without − best with.

**Validation through the service**: one grid-search job (so both jobs get the same trials in
the same order) with and without ``enableTrialEarlyStopping``, ``maxParallelTrials`` 1, run by
``manage.py serve`` with this file as the trainer (``python -m early_stopping --trainer …``:
the same learning curve, one epoch every ``--epoch-seconds``), checked against the simulation
of the same trials.

    .venv/bin/python benchmarks/early_stopping.py [--quick] [--seeds N] [--no-e2e]
"""

from __future__ import annotations

import argparse
import heapq
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import report  # benchmarks/report.py: the scripts run with benchmarks/ on sys.path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TAG = "accuracy"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    name: str
    title: str
    params: list[dict[str, Any]]  # AI Platform ParameterSpecs
    defaults: dict[str, Any]


PROBLEMS = {
    "mlp_digits": Problem(
        "mlp_digits", "MLPClassifier (adam) on digits",
        [{"parameterName": "learning_rate_init", "type": "DOUBLE", "minValue": 1e-5,
          "maxValue": 1.0, "scaleType": "UNIT_LOG_SCALE"},
         {"parameterName": "alpha", "type": "DOUBLE", "minValue": 1e-7, "maxValue": 0.1,
          "scaleType": "UNIT_LOG_SCALE"},
         {"parameterName": "hidden_units", "type": "INTEGER", "minValue": 8, "maxValue": 128,
          "scaleType": "UNIT_LOG_SCALE"},
         {"parameterName": "batch_size", "type": "INTEGER", "minValue": 32, "maxValue": 256,
          "scaleType": "UNIT_LOG_SCALE"}],
        {"learning_rate_init": 1e-3, "alpha": 1e-4, "hidden_units": 32, "batch_size": 64}),
    "sgd_digits": Problem(
        "sgd_digits", "SGDClassifier on digits",
        [{"parameterName": "alpha", "type": "DOUBLE", "minValue": 1e-7, "maxValue": 1.0,
          "scaleType": "UNIT_LOG_SCALE"},
         {"parameterName": "eta0", "type": "DOUBLE", "minValue": 1e-5, "maxValue": 1.0,
          "scaleType": "UNIT_LOG_SCALE"},
         {"parameterName": "learning_rate", "type": "CATEGORICAL",
          "categoricalValues": ["constant", "optimal", "invscaling"]},
         {"parameterName": "loss", "type": "CATEGORICAL",
          "categoricalValues": ["hinge", "log_loss", "modified_huber"]}],
        {"alpha": 1e-4, "eta0": 1e-2, "learning_rate": "optimal", "loss": "hinge"}),
}


def hyperparameters(problem: Problem, **extra: Any) -> dict[str, Any]:
    return {"goal": "MAXIMIZE", "hyperparameterMetricTag": TAG, "params": problem.params,
            **extra}


@cache
def _digits() -> tuple[Any, Any, Any, Any, Any]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    import numpy as np

    return scaler.transform(x_tr), scaler.transform(x_va), y_tr, y_va, np.unique(y_tr)


def _model(problem: str, p: dict[str, Any], seed: int) -> Any:
    if problem == "mlp_digits":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=(int(float(p["hidden_units"])),),
                             learning_rate_init=float(p["learning_rate_init"]),
                             alpha=float(p["alpha"]), batch_size=int(float(p["batch_size"])),
                             random_state=seed)
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(alpha=float(p["alpha"]), eta0=float(p["eta0"]),
                         learning_rate=str(p["learning_rate"]), loss=str(p["loss"]),
                         random_state=seed)


def epochs_of(problem: str, params: dict[str, Any], seed: int, epochs: int
              ) -> Iterator[float]:
    """Validation accuracy after each epoch (one ``partial_fit`` pass over the training set)."""
    x_tr, x_va, y_tr, y_va, classes = _digits()
    model = _model(problem, {**PROBLEMS[problem].defaults, **params}, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and overflow warnings of bad configs
        for _ in range(epochs):
            model.partial_fit(x_tr, y_tr, classes=classes)
            yield float(model.score(x_va, y_va))


def learning_curve(args: tuple[str, dict[str, Any], int, int]) -> list[float]:
    problem, params, seed, epochs = args
    return list(epochs_of(problem, params, seed, epochs))


def configurations(problem: Problem, seed: int, n: int) -> list[dict[str, Any]]:
    """``n`` configurations drawn by hpdash's RANDOM_SEARCH suggester (job seed ``seed``)."""
    from hpdash.core.spec import parse_hyperparameters
    from hpdash.core.suggest import get_suggester

    spec = parse_hyperparameters(hyperparameters(problem, maxTrials=n))
    return get_suggester("RANDOM_SEARCH").suggest(spec, [], n, seed)


def record_curves(jobs: list[tuple[str, dict[str, Any], int, int]], processes: int = 2
                  ) -> list[list[float]]:
    if processes <= 1 or len(jobs) < 8:
        return [learning_curve(j) for j in jobs]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return pool.map(learning_curve, jobs, chunksize=4)


# --------------------------------------------------------------------------- the replay


@dataclass(frozen=True)
class Outcome:
    steps: list[int]  # epochs each trial ran
    finals: list[float]  # each trial's final metric (its last reported value)
    stopped: list[bool]

    @property
    def best(self) -> float:
        return max(self.finals)


@contextmanager
def rule(grace: int, min_completed: int) -> Iterator[None]:
    """hpdash.core.stopping with other values of its two parameters (the rule itself unchanged)."""
    from hpdash.core import stopping

    saved = stopping.GRACE_MEASUREMENTS, stopping.MIN_COMPLETED_TRIALS
    stopping.GRACE_MEASUREMENTS, stopping.MIN_COMPLETED_TRIALS = grace, min_completed
    try:
        yield
    finally:
        stopping.GRACE_MEASUREMENTS, stopping.MIN_COMPLETED_TRIALS = saved


def replay(curves: Sequence[Sequence[float]], parallel: int, early_stopping: bool,
           stopped_join: bool = True) -> Outcome:
    """The tuning loop over recorded curves: trials start in order on ``parallel`` slots, one
    epoch per time unit, each report checked by ``should_stop`` against the finished trials.
    ``stopped_join=False`` leaves stopped trials out of the completed ones (hpdash counts
    them: they are SUCCEEDED); only for comparison."""
    from hpdash.core.stopping import CompletedCurves, should_stop

    n = len(curves)
    steps, finals, stopped = [0] * n, [0.0] * n, [False] * n
    own: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    completed = CompletedCurves({})
    start = [0] * n
    events: list[tuple[int, int]] = []  # (time of the next report, trial)
    nxt = 0
    while nxt < min(parallel, n):
        heapq.heappush(events, (1, nxt))
        nxt += 1
    while events:
        t, i = heapq.heappop(events)
        step = t - start[i]
        value = curves[i][step - 1]
        own[i].append((step, value))
        stop = early_stopping and should_stop(own[i], completed, maximize=True) is not None
        if stop or step == len(curves[i]):
            steps[i], finals[i], stopped[i] = step, value, stop
            if stopped_join or not stop:
                completed.add(i, own[i])
            if nxt < n:
                start[nxt] = t
                heapq.heappush(events, (t + 1, nxt))
                nxt += 1
        else:
            heapq.heappush(events, (t + 1, i))
    return Outcome(steps, finals, stopped)


@dataclass(frozen=True)
class Run:
    problem: str
    seed: int
    parallel: int
    saved: float  # fraction of epochs saved
    regret: float  # best without − best with (accuracy); < 0: better with
    best_stopped: bool  # the trial that is best without early stopping was stopped
    stopped: int


def compare(problem: str, seed: int, curves: Sequence[Sequence[float]], parallel: int,
            stopped_join: bool = True) -> Run:
    full = replay(curves, parallel, early_stopping=False)
    es = replay(curves, parallel, early_stopping=True, stopped_join=stopped_join)
    best_trial = max(range(len(curves)), key=lambda i: (full.finals[i], -i))
    return Run(problem, seed, parallel, 1 - sum(es.steps) / sum(full.steps),
               full.best - es.best, es.stopped[best_trial], sum(es.stopped))


@dataclass(frozen=True)
class Summary:
    saved_mean: float
    saved_min: float
    regret_mean: float
    regret_max: float
    best_lost: int  # runs whose best result got worse
    best_stopped: int  # runs whose would-be best trial was stopped
    runs: int


def summarize(runs: Sequence[Run]) -> Summary:
    return Summary(statistics.mean(r.saved for r in runs), min(r.saved for r in runs),
                   statistics.mean(r.regret for r in runs), max(r.regret for r in runs),
                   sum(r.regret > 1e-12 for r in runs), sum(r.best_stopped for r in runs),
                   len(runs))


# --------------------------------------------------------------------------- end to end


# (learning rates, hidden units, epochs); the learning rate changes fastest in grid order.
GRID = {"full": ([1e-4, 1e-3, 1e-2, 1e-1], [4, 8, 32, 128], 12),
        "quick": ([1e-4, 1e-2], [4, 16, 64], 8)}


def run_e2e(quick: bool, seed: int, epoch_seconds: float, log: Callable[[str], None]
            ) -> dict[str, Any]:
    """Two grid-search jobs (same trials, same order), with and without early stopping, on
    ``manage.py serve``; and the replay of the same trials for comparison."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from harness import running_stack, wait_for_state

    lrs, units, epochs = GRID["quick" if quick else "full"]
    problem = PROBLEMS["mlp_digits"]
    params = [{"parameterName": "hidden_units", "type": "DISCRETE", "discreteValues": units},
              {"parameterName": "learning_rate_init", "type": "DISCRETE",
               "discreteValues": lrs}]
    n = len(lrs) * len(units)
    out: dict[str, Any] = {"trials": n, "epochs": epochs, "epoch_seconds": epoch_seconds}
    tmp = Path(tempfile.mkdtemp(prefix="hpdash-es-bench-"))
    try:
        with running_stack(tmp / "data", workers=2, HPDASH_TRIAL_POLL_INTERVAL="0.02") as stack:
            ml = stack.ml()
            names = {}
            for es in (False, True):
                job_id = f"es_{'on' if es else 'off'}"
                body = {"jobId": job_id, "trainingInput": {
                    "pythonModule": "early_stopping",
                    "packageUris": [str(Path(__file__).resolve().parent)],
                    "args": ["--trainer", "--problem=mlp_digits", f"--seed={seed}",
                             f"--epochs={epochs}", f"--epoch-seconds={epoch_seconds}"],
                    "region": "local", "scaleTier": "BASIC",
                    "hyperparameters": hyperparameters(
                        problem, params=params, algorithm="GRID_SEARCH", maxTrials=n,
                        maxParallelTrials=1, enableTrialEarlyStopping=es)}}
                ml.projects().jobs().create(parent="projects/bench", body=body).execute()
                names[es] = f"projects/bench/jobs/{job_id}"
            t0 = time.monotonic()
            jobs = {es: wait_for_state(ml, name, timeout=600) for es, name in names.items()}
            log(f"e2e jobs done in {time.monotonic() - t0:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for es, job in jobs.items():
        if job["state"] != "SUCCEEDED":
            raise RuntimeError(f"{names[es]}: {job['state']}: {job.get('errorMessage')}")
    real: dict[bool, dict[int, tuple[int, float, bool, dict[str, str]]]] = {}
    for es, job in jobs.items():
        real[es] = {int(t["trialId"]): (int(t["finalMetric"]["trainingStep"]),
                                        t["finalMetric"]["objectiveValue"],
                                        bool(t.get("isTrialStoppedEarly")),
                                        t["hyperparameters"])
                    for t in job["trainingOutput"]["trials"]}
    order = sorted(real[True])
    configs = [{k: float(v) for k, v in real[True][i][3].items()} for i in order]
    if configs != [{k: float(v) for k, v in real[False][i][3].items()} for i in order]:
        raise RuntimeError("the two grid jobs did not run the same trials in the same order")
    curves = record_curves([("mlp_digits", c, seed, epochs) for c in configs], processes=1)
    sim = replay(curves, 1, early_stopping=True)
    steps_real = {es: sum(real[es][i][0] for i in order) for es in (False, True)}
    best_real = {es: max(real[es][i][1] for i in order) for es in (False, True)}
    out.update(
        saved=1 - steps_real[True] / steps_real[False],
        regret=best_real[False] - best_real[True],
        stopped=sum(real[True][i][2] for i in order),
        sim_saved=1 - sum(sim.steps) / (len(order) * epochs),
        sim_stopped=sum(sim.stopped),
        same_stopped=[real[True][i][2] for i in order] == sim.stopped,
        step_diffs=[real[True][i][0] - s for i, s in zip(order, sim.steps, strict=True)],
        curves_match=all(abs(real[False][i][1] - c[-1]) < 1e-9
                         for i, c in zip(order, curves, strict=True)),
        steps_real=steps_real,
    )
    return out


def trainer_main(argv: list[str]) -> None:
    """``python -m early_stopping --trainer --problem=… [--<param>=<value>…]``: report the
    validation accuracy after every epoch with ``hypertune``, as a trial of hpdash."""
    import hypertune

    ap = argparse.ArgumentParser()
    ap.add_argument("--trainer", action="store_true")
    ap.add_argument("--problem", default="mlp_digits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--epoch-seconds", type=float, default=0.0)
    a, rest = ap.parse_known_args(argv)
    params = {}
    for arg in rest:
        if arg.startswith("--") and "=" in arg:
            k, v = arg[2:].split("=", 1)
            params[k] = v
    ht = hypertune.HyperTune()
    start = time.monotonic()
    for epoch, acc in enumerate(epochs_of(a.problem, params, a.seed, a.epochs), start=1):
        time.sleep(max(0.0, start + epoch * a.epoch_seconds - time.monotonic()))
        ht.report_hyperparameter_tuning_metric(hyperparameter_metric_tag=TAG, metric_value=acc,
                                               global_step=epoch)


# --------------------------------------------------------------------------- the suite


VARIANTS = [(3, 3), (1, 3), (2, 3), (5, 3), (3, 1), (3, 5), (2, 5), (5, 5)]


def measure(seeds: int, trials: int, epochs: int, parallels: Sequence[int],
            variants: Sequence[tuple[int, int]], processes: int = 2,
            log: Callable[[str], None] = print) -> dict[str, Any]:
    from hpdash.core import stopping

    current = (stopping.GRACE_MEASUREMENTS, stopping.MIN_COMPLETED_TRIALS)
    variants = [current, *[v for v in variants if v != current]]
    jobs, keys = [], []
    for name, problem in PROBLEMS.items():
        for seed in range(seeds):
            for i, config in enumerate(configurations(problem, seed, trials)):
                jobs.append((name, config, seed, epochs))
                keys.append((name, seed, i))
    t0 = time.perf_counter()
    curves_flat = record_curves(jobs, processes)
    log(f"recorded {len(jobs)} learning curves in {time.perf_counter() - t0:.0f} s")
    curves: dict[tuple[str, int], list[list[float]]] = {}
    for (name, seed, _), curve in zip(keys, curves_flat, strict=True):
        curves.setdefault((name, seed), []).append(curve)
    results: dict[tuple[int, int], dict[int, list[Run]]] = {}
    for grace, min_completed in variants:
        with rule(grace, min_completed):
            results[(grace, min_completed)] = {
                p: [compare(name, seed, c, p) for (name, seed), c in curves.items()]
                for p in parallels}
    with rule(*current):  # not a parameter: how much counting stopped trials costs
        apart = {p: [compare(name, seed, c, p, stopped_join=False)
                     for (name, seed), c in curves.items()] for p in parallels}
    return {"current": current, "results": results, "stopped_apart": apart, "curves": curves,
            "seeds": seeds, "trials": trials, "epochs": epochs, "parallels": list(parallels)}


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _pts(x: float) -> str:
    return f"{100 * x:+.2f}" if abs(x) > 1e-12 else "0"


def choose(res: dict[str, Any]) -> tuple[int, int]:
    """The variant saving the most steps without ever losing the best result (any run, any
    parallelism); the current one if none does."""
    ok = [v for v, by_p in res["results"].items()
          if all(summarize(runs).best_lost == 0 for runs in by_p.values())]
    if not ok:
        return res["current"]  # type: ignore[no-any-return]
    return max(ok, key=lambda v: (min(summarize(r).saved_mean
                                      for r in res["results"][v].values()), v[0]))


def markdown(res: dict[str, Any], e2e: dict[str, Any] | None, seconds: float) -> str:
    cur = res["current"]
    pick = choose(res)
    p0 = res["parallels"][0]
    n_runs = len(res["results"][cur][p0])
    lines = [
        "## Early stopping",
        "",
        f"hpdash's median stopping rule (grace {cur[0]} measurements, ≥ {cur[1]} completed "
        f"trials) on recorded learning curves: {len(PROBLEMS)} problems "
        f"({'; '.join(p.title for p in PROBLEMS.values())}; validation accuracy after each "
        f"`partial_fit` epoch) × {res['seeds']} seeds = {n_runs} runs of {res['trials']} "
        f"random-search trials × {res['epochs']} epochs. The tuning loop is **replayed** from "
        "the recorded curves (trials in order, one epoch per time unit, every value through "
        "`hpdash.core.stopping.should_stop` against the finished trials), so with and without "
        "early stopping run the same trials. Regret = best final accuracy without − with, in "
        "percentage points (negative: better with).",
        "",
        "| maxParallelTrials | steps saved, mean (min) | regret, mean / max (pts) "
        "| runs with a worse best | runs whose best trial was stopped | trials stopped |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for p in res["parallels"]:
        runs = res["results"][cur][p]
        s = summarize(runs)
        lines.append(f"| {p} | **{_pct(s.saved_mean)}** ({_pct(s.saved_min)}) | "
                     f"{_pts(s.regret_mean)} / {_pts(s.regret_max)} | {s.best_lost} of "
                     f"{s.runs} | {s.best_stopped} of {s.runs} | "
                     f"{statistics.mean(r.stopped for r in runs):.1f} of {res['trials']} |")
    lines += [
        "",
        "Per problem (maxParallelTrials 1):",
        "",
        "| problem | steps saved, mean (min) | regret mean / max (pts) | worse best |",
        "|---|---:|---:|---:|",
    ]
    for name, problem in PROBLEMS.items():
        runs = [r for r in res["results"][cur][p0] if r.problem == name]
        s = summarize(runs)
        lines.append(f"| {problem.title} | {_pct(s.saved_mean)} ({_pct(s.saved_min)}) | "
                     f"{_pts(s.regret_mean)} / {_pts(s.regret_max)} | {s.best_lost} of "
                     f"{s.runs} |")
    lines += [
        "",
        "Other values of the rule's two parameters (same curves; the rule itself unchanged):",
        "",
        "| grace (measurements) | min completed trials | "
        + " | ".join(f"saved, p={p}" for p in res["parallels"])
        + " | worse best (runs) | best trial stopped (runs) |",
        "|---:|---:|" + "---:|" * len(res["parallels"]) + "---:|---:|",
    ]
    for v, by_p in res["results"].items():
        sums = [summarize(by_p[p]) for p in res["parallels"]]
        mark = " (current)" if v == cur else (" (best never worse)" if v == pick else "")
        lines.append(f"| {v[0]}{mark} | {v[1]} | "
                     + " | ".join(_pct(s.saved_mean) for s in sums)
                     + f" | {sum(s.best_lost for s in sums)} of {sum(s.runs for s in sums)} | "
                     f"{sum(s.best_stopped for s in sums)} of {sum(s.runs for s in sums)} |")
    apart = [summarize(res["stopped_apart"][p]) for p in res["parallels"]]
    lines += [
        "",
        f"Not a parameter, for comparison: if trials stopped early did not count as completed "
        f"(hpdash counts them, as Vizier does: they are SUCCEEDED with their last value), "
        f"grace {cur[0]} / {cur[1]} would save "
        + " / ".join(f"{_pct(s.saved_mean)} (p={p})"
                     for s, p in zip(apart, res["parallels"], strict=True))
        + f", with a worse best in {sum(s.best_lost for s in apart)} of "
        f"{sum(s.runs for s in apart)} runs: stopped trials pull the median down.",
    ]
    s_cur = summarize(res["results"][cur][p0])
    if e2e:
        lines += [
            "",
            f"**Through the service** (`manage.py serve`, MLP on digits, grid of "
            f"{e2e['trials']} trials × {e2e['epochs']} epochs, maxParallelTrials 1, one epoch "
            f"every {e2e['epoch_seconds']} s): early stopping stopped {e2e['stopped']} trials "
            f"and saved {_pct(e2e['saved'])} of the epochs (Σ {e2e['steps_real'][True]} vs "
            f"{e2e['steps_real'][False]}), regret {_pts(e2e['regret'])} pts; the replay of the "
            f"same trials predicts {e2e['sim_stopped']} stopped, {_pct(e2e['sim_saved'])} "
            f"saved — same trials stopped: {'yes' if e2e['same_stopped'] else 'no'}, stop "
            f"steps differ by {sorted(set(e2e['step_diffs']))} epochs; the trainers' final "
            f"values equal the recorded curves: {'yes' if e2e['curves_match'] else 'no'}.",
        ]
    both = [v for v, by_p in res["results"].items()
            if all(summarize(r).best_lost == 0 and summarize(r).saved_mean >= 0.4
                   for r in by_p.values())]
    most = max(res["results"], key=lambda v: summarize(res["results"][v][p0]).saved_mean)
    s_pick, s_most = summarize(res["results"][pick][p0]), summarize(res["results"][most][p0])
    verdict = (f"grace {both[0][0]} / {both[0][1]} meets both" if both else
               "no value of the two parameters meets both on these curves")
    lines += [
        "",
        f"**What this shows:** with its current parameters the rule saves "
        f"{_pct(s_cur.saved_mean)} of the epochs (maxParallelTrials {p0}; "
        f"{_pct(summarize(res['results'][cur][res['parallels'][-1]]).saved_mean)} at "
        f"{res['parallels'][-1]}) and the best result got worse in {s_cur.best_lost} of "
        f"{s_cur.runs} runs (by at most {_pts(s_cur.regret_max)} pts). Target ≥ 40 % saved "
        f"with the best never worse: {verdict} — the most saved without a worse best is grace "
        f"{pick[0]} / {pick[1]} ({_pct(s_pick.saved_mean)}), the most saved overall grace "
        f"{most[0]} / {most[1]} ({_pct(s_most.saved_mean)}, worse best in {s_most.best_lost} "
        f"of {s_most.runs}). Anchors: Vizier ~50 % at equal quality; a median rule with a "
        "5-epoch grace 40 % with zero regret on LCBench, without grace 82 % but losing the "
        "best in half the runs.",
        "",
        report.footer(seconds),
        "",
    ]
    return "\n".join(lines)


def plot(res: dict[str, Any], path: Path) -> None:
    plt = report.pyplot()

    cur = res["current"]
    p0 = res["parallels"][0]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    key = ("mlp_digits", 0)
    curves = res["curves"][key]
    with rule(*cur):
        out = replay(curves, p0, early_stopping=True)
    for c, steps, stopped in zip(curves, out.steps, out.stopped, strict=True):
        xs = range(1, len(c) + 1)
        if stopped:
            ax1.plot(xs, c, color="#cbd5e1", lw=0.8)
            ax1.plot(xs[:steps], c[:steps], color="#dc2626", lw=1.2)
            ax1.plot([steps], [c[steps - 1]], "x", color="#dc2626")
        else:
            ax1.plot(xs, c, color="#2563eb", lw=1.2)
    ax1.set_title(f"MLP on digits, seed 0: {sum(out.stopped)} of {len(curves)} stopped (red)",
                  fontsize=10)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("validation accuracy")
    labels, saved, regret = [], [], []
    for v, by_p in res["results"].items():
        s = summarize(by_p[p0])
        labels.append(f"g{v[0]}/c{v[1]}" + ("*" if v == cur else ""))
        saved.append(100 * s.saved_mean)
        regret.append(s.best_lost)
    bars = ax2.bar(labels, saved, color=["#dc2626" if r else "#2563eb" for r in regret])
    ax2.bar_label(bars, labels=[f"{s:.0f}%" + (f"\n{r} worse" if r else "")
                                for s, r in zip(saved, regret, strict=True)], fontsize=7)
    ax2.axhline(40, color="#94a3b8", ls="--", lw=1)
    ax2.set_ylabel("epochs saved, %")
    ax2.set_title("grace g / min completed c (* current; red: best got worse)", fontsize=10)
    ax2.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def single_thread_blas() -> None:
    """One BLAS thread, set before numpy loads: identical curves in this process, its pool
    and the trainers it starts (which inherit it), and no oversubscription of 2 cores."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def main(argv: list[str] | None = None) -> None:
    single_thread_blas()
    argv = sys.argv[1:] if argv is None else argv
    if "--trainer" in argv:
        trainer_main(argv)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer seeds and trials (~40 s)")
    ap.add_argument("--seeds", type=int, help="seeds per problem (default 10, quick 2)")
    ap.add_argument("--trials", type=int, help="trials per run (default 30, quick 20)")
    ap.add_argument("--epochs", type=int, help="epochs per trial (default 20, quick 12)")
    ap.add_argument("--no-e2e", action="store_true", help="skip the run through the service")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = measure(a.seeds or (2 if a.quick else 10), a.trials or (20 if a.quick else 30),
                  a.epochs or (12 if a.quick else 20), [1, 4], VARIANTS)
    e2e = None if a.no_e2e else run_e2e(a.quick, seed=0, epoch_seconds=0.1, log=print)
    seconds = time.perf_counter() - t0
    report.save(a.out, "early_stopping", markdown(res, e2e, seconds), plot, res)


if __name__ == "__main__":
    main()
