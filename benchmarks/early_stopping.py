"""Early stopping: steps saved, and best result lost, by hpdash's stopping rules
(``hpdash.core.stopping``) and Optuna's pruners, replayed on the same recorded learning curves.

**Curves.**

- *LCBench* (``benchmarks/lcbench.py``): 8 OpenML tasks x 200 configurations x 52 epochs of
  validation accuracy (YAHPO Gym's surrogate).  Tasks 3945, 34539, 146212, 168330 are a
  **tuning** set; 7593, 126025, 167104, 189906 are **held out** (no rule constant was chosen
  on them).
- *sklearn*: ``MLPClassifier`` and ``SGDClassifier`` on ``digits``, validation accuracy after
  every ``partial_fit`` epoch, trained here.  A **tuning** set as well: the shipped constants
  were chosen on it and on the LCBench tuning tasks (the "Other constants" table).

**Orderings.**  Which trials a job runs, and in which order:

- *random*: hpdash's ``RANDOM_SEARCH`` (sklearn) or a seeded permutation of the 200 LCBench
  configurations (they are uniform random draws); 100 trials on LCBench, 30 on sklearn.
- *default algorithm*: hpdash's ``ALGORITHM_UNSPECIFIED`` GP suggester, run sequentially with
  each trial's final value as feedback.  On sklearn it proposes points that are then trained;
  on LCBench it runs over the task's pool of 200 recorded configurations (each proposal
  becomes the nearest not yet used configuration in the suggester's unit space), 50 trials.
  The ordering comes from a run *without* stopping and is replayed as is with every rule, so
  "with" and "without" run the same trials and the regret is paired.  (A real job would feed
  a stopped trial's last value to the suggester; that closed loop is not modelled.)

**Replay.**  Trials start in order on ``maxParallelTrials`` slots, each epoch takes one time
unit, every reported value goes to the rule under test, which sees the finished trials (those
stopped included) and, for hpdash's rules, the running ones — what the worker does.  Optuna's
pruners get the same reports through ``study.ask()`` / ``trial.report`` / ``should_prune`` /
``study.tell`` (in-memory storage).  Steps saved = 1 − Σ epochs run / Σ epochs without stopping;
regret = best final value without − with, in accuracy points (a trial's final value is its last
report, as in hpdash); intervals are 95 % bootstrap intervals over runs.

**Through the service** (optional, ``--no-e2e`` skips it): one grid-search job with and without
``enableTrialEarlyStopping`` run by ``manage.py serve`` with this file as the trainer, checked
against the replay of the same trials.

    .venv/bin/python benchmarks/early_stopping.py [--quick] [--seeds N] [--no-e2e]
        [--closed-loop SEEDS] [--processes N]
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import itertools
import math
import multiprocessing.pool
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import lcbench  # benchmarks/lcbench.py: the scripts run with benchmarks/ on sys.path
import report

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


def bayes_run(spec: Any, objective: Callable[[dict[str, Any]], float], n: int, seed: int
              ) -> list[dict[str, Any]]:
    """``n`` points of hpdash's default GP suggester run sequentially (one trial at a time, each
    final value fed back before the next suggestion), in trial order."""
    from hpdash.core.suggest import SUCCEEDED, Observation, get_suggester

    suggester = get_suggester("ALGORITHM_UNSPECIFIED")
    history: list[Observation] = []
    points = []
    for _ in range(n):
        point = suggester.suggest(spec, history, 1, seed)[0]
        value = objective(point)  # may adjust the point (the LCBench pool)
        points.append(point)
        history.append(Observation(dict(point), SUCCEEDED, value))
    return points


def bayes_curves(args: tuple[str, int, int, int]) -> tuple[list[dict[str, Any]], list[list[float]]]:
    """A default-algorithm run on a sklearn problem: its configurations and their curves."""
    from hpdash.core.spec import parse_hyperparameters

    name, seed, n, epochs = args
    problem = PROBLEMS[name]
    spec = parse_hyperparameters(hyperparameters(problem, maxTrials=n))
    curves: list[list[float]] = []

    def objective(point: dict[str, Any]) -> float:
        curves.append(learning_curve((name, point, seed, epochs)))
        return curves[-1][-1]

    return bayes_run(spec, objective, n, seed), curves


def lcbench_bayes_run(task: str, seed: int, n: int, stopper: Stopper | None = None
                      ) -> tuple[list[int], Outcome]:
    """A default-algorithm run over one LCBench task's pool of 200 recorded configurations, one
    trial at a time: each proposal becomes the nearest configuration not yet used (in the
    suggester's unit space), and the suggester learns that configuration's final value.  With
    a ``stopper`` the loop is closed: each curve is reported to it as it runs, and a stopped
    trial's last value is what the suggester learns (as in hpdash).  Returns the indices in
    trial order and what each trial ran."""
    import numpy as np

    from hpdash.core.spec import parse_hyperparameters
    from hpdash.core.spec.space import to_unit

    data = lcbench.load()[task]
    spec = parse_hyperparameters({"goal": "MAXIMIZE", "maxTrials": n,
                                  "params": lcbench.SPEC_PARAMS})
    unit = np.array([[to_unit(p, c[p.name]) for p in spec.params] for c in data.configs])
    order: list[int] = []
    steps: list[int] = []
    finals: list[float] = []
    stopped: list[bool] = []

    def objective(point: dict[str, Any]) -> float:
        u = np.array([to_unit(p, float(point[p.name])) for p in spec.params])
        for i in np.argsort(((unit - u) ** 2).sum(axis=1), kind="stable"):
            if int(i) not in order:
                break
        i = int(i)
        order.append(i)
        for p in spec.params:  # the suggester learns about the configuration that ran
            v = data.configs[i][p.name]
            point[p.name] = int(round(v)) if p.type == "INTEGER" else float(v)
        curve = data.curves[i]
        step, stop = len(curve), False
        if stopper is not None:
            k = len(order) - 1
            stopper.start(k)
            for step, value in enumerate(curve, start=1):
                stop = stopper.report(k, step, value) and step < len(curve)
                if stop:
                    break
            stopper.finish(k, stop)
        steps.append(step)
        finals.append(curve[step - 1])
        stopped.append(stop)
        return finals[-1]

    bayes_run(spec, objective, n, seed)
    return order, Outcome(steps, finals, stopped)


def lcbench_bayes_order(task: str, seed: int, n: int) -> list[int]:
    """Indices of one LCBench task's configurations in the order a default-algorithm run
    without early stopping tries them."""
    return lcbench_bayes_run(task, seed, n)[0]


def closed_loop(args: tuple[str, int, int, str]) -> dict[str, Any]:
    """The default algorithm with early stopping in the loop vs without, on one LCBench task:
    different trials after the first stop, so the regret is of the best found, unpaired."""
    task, seed, n, method = args
    _, full = lcbench_bayes_run(task, seed, n)
    _, es = lcbench_bayes_run(task, seed, n, METHODS[method][1]())
    split = "lcbench tuning" if task in lcbench.TUNING_TASKS else "lcbench held-out"
    return {"curves_set": split, "task": task, "seed": seed, "method": method,
            "saved": 1 - sum(es.steps) / sum(full.steps), "regret": full.best - es.best}


def lcbench_random_order(task: str, seed: int, n: int) -> list[int]:
    import numpy as np

    rng = np.random.default_rng([seed, int(task)])
    return [int(i) for i in rng.permutation(len(lcbench.load()[task].curves))[:n]]


# --------------------------------------------------------------------------- the replay


class Stopper:
    """One early-stopping method inside a replayed job: told when trials start, report and
    finish; answers whether a report stops its trial."""

    def start(self, i: int) -> None: ...

    def report(self, i: int, step: int, value: float) -> bool:
        raise NotImplementedError

    def finish(self, i: int, stopped: bool) -> None: ...


class HpdashStopper(Stopper):
    """An ``hpdash.core.stopping`` rule fed exactly what the worker passes: the trial's points,
    the completed trials (stopped ones flagged) and the other running trials."""

    def __init__(self, rule: Any, maximize: bool = True) -> None:
        from hpdash.core.stopping import Curves

        self.rule, self.maximize = rule, maximize
        self.completed, self.running = Curves(), Curves()
        self.own: dict[int, list[tuple[int, float]]] = {}
        self.uses_running = getattr(rule, "name", "") == "asha"

    def start(self, i: int) -> None:
        self.own[i] = []

    def report(self, i: int, step: int, value: float) -> bool:
        from hpdash.core.stopping import Curves, StoppingContext

        self.own[i].append((step, value))
        running = Curves()
        if self.uses_running:
            running = self.running
            for j, pts in self.own.items():
                if j != i:
                    running.add(j, pts)
        ctx = StoppingContext(points=self.own[i], completed=self.completed,
                              maximize=self.maximize, running=running)
        return self.rule.decide(ctx) is not None

    def finish(self, i: int, stopped: bool) -> None:
        self.completed.add(i, self.own.pop(i), stopped_early=stopped)
        if self.uses_running:
            from hpdash.core.stopping import Curves

            self.running = Curves()


class OptunaStopper(Stopper):
    """An Optuna pruner on an in-memory study, through ask/tell."""

    def __init__(self, make_pruner: Callable[[], Any]) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # A fixed name: HyperbandPruner assigns brackets by a CRC of the study name, and the
        # default name is random, which made its figures change from run to run.
        self.study = optuna.create_study(study_name="replay", direction="maximize",
                                         pruner=make_pruner(),
                                         sampler=optuna.samplers.RandomSampler(seed=0))
        self.trials: dict[int, Any] = {}
        self.last: dict[int, float] = {}

    def start(self, i: int) -> None:
        self.trials[i] = self.study.ask()

    def report(self, i: int, step: int, value: float) -> bool:
        trial = self.trials[i]
        trial.report(value, step)
        self.last[i] = value
        return bool(trial.should_prune())

    def finish(self, i: int, stopped: bool) -> None:
        import optuna

        trial = self.trials.pop(i)
        if stopped:
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(trial, self.last.pop(i))


@dataclass(frozen=True)
class Outcome:
    steps: list[int]  # epochs each trial ran
    finals: list[float]  # each trial's final metric (its last reported value)
    stopped: list[bool]

    @property
    def best(self) -> float:
        return max(self.finals)


def replay(curves: Sequence[Sequence[float]], parallel: int, stopper: Stopper | None = None
           ) -> Outcome:
    """The tuning loop over recorded curves: trials start in order on ``parallel`` slots, one
    epoch per time unit, each report offered to ``stopper`` (``None``: no early stopping)."""
    n = len(curves)
    if stopper is None:
        return Outcome([len(c) for c in curves], [c[-1] for c in curves], [False] * n)
    steps, finals, stopped = [0] * n, [0.0] * n, [False] * n
    start = [0] * n
    events: list[tuple[int, int]] = []  # (time of the next report, trial)
    nxt = 0
    while nxt < min(parallel, n):
        stopper.start(nxt)
        heapq.heappush(events, (1, nxt))
        nxt += 1
    while events:
        t, i = heapq.heappop(events)
        step = t - start[i]
        value = curves[i][step - 1]
        # The last report is offered too (the worker sees it), but stopping a trial that has
        # finished saves nothing: it counts as not stopped.
        stop = stopper.report(i, step, value) and step < len(curves[i])
        if stop or step == len(curves[i]):
            steps[i], finals[i], stopped[i] = step, value, stop
            stopper.finish(i, stop)
            if nxt < n:
                start[nxt] = t
                stopper.start(nxt)
                heapq.heappush(events, (t + 1, nxt))
                nxt += 1
        else:
            heapq.heappush(events, (t + 1, i))
    return Outcome(steps, finals, stopped)


@dataclass(frozen=True)
class Run:
    curves_set: str  # "lcbench tuning", "lcbench held-out", "sklearn"
    ordering: str  # "random", "bayes"
    problem: str
    seed: int
    parallel: int
    method: str
    saved: float  # fraction of epochs saved
    regret: float  # best without − best with, in accuracy points; < 0: better with
    best_stopped: bool  # the trial that is best without early stopping was stopped
    stopped: int


@dataclass(frozen=True)
class Job:
    """One replayed job: the curves of its trials in trial order."""

    curves_set: str
    ordering: str
    problem: str
    seed: int
    curves: list[list[float]]
    points: float  # accuracy units per point: 100 for a 0–1 accuracy, 1 for a percentage


def compare(job: Job, parallel: int, method: str, make: Callable[[], Stopper]) -> Run:
    full = replay(job.curves, parallel)
    es = replay(job.curves, parallel, make())
    best_trial = max(range(len(job.curves)), key=lambda i: (full.finals[i], -i))
    return Run(job.curves_set, job.ordering, job.problem, job.seed, parallel, method,
               1 - sum(es.steps) / sum(full.steps), (full.best - es.best) * job.points,
               es.stopped[best_trial], sum(es.stopped))


# --------------------------------------------------------------------------- methods


def hpdash_rule(name: str, **constants: Any) -> Callable[[], HpdashStopper]:
    def make() -> HpdashStopper:
        import dataclasses

        from hpdash.core.stopping import get_rule

        rule = get_rule(name)
        return HpdashStopper(dataclasses.replace(rule, **constants) if constants else rule)  # type: ignore[type-var]

    return make


def optuna_pruner(name: str, **kwargs: Any) -> Callable[[], Stopper]:
    def make() -> Stopper:
        import optuna

        def pruner() -> Any:
            with warnings.catch_warnings():  # WilcoxonPruner is "experimental"
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return getattr(optuna.pruners, name)(**kwargs)

        return OptunaStopper(pruner)

    return make


# What the main table compares: hpdash's rules at their shipped constants, and Optuna's pruners
# at their defaults (PercentilePruner has no default percentile: 25, keep the top quarter).
METHODS: dict[str, tuple[str, Callable[[], Stopper]]] = {
    "curve_bound": ("hpdash `curve_bound` (default)", hpdash_rule("curve_bound")),
    # The default before 2026-12: the job's forecast took the largest gain of all full curves.
    "curve_bound_all": ("hpdash `curve_bound` before (`near=0`: all full curves)",
                        hpdash_rule("curve_bound", near=0)),
    "median": ("hpdash `median` (Vizier's, before)", hpdash_rule("median")),
    "percentile": ("hpdash `percentile`", hpdash_rule("percentile")),
    "asha": ("hpdash `asha`", hpdash_rule("asha")),
    "optuna_median": ("Optuna `MedianPruner()`", optuna_pruner("MedianPruner")),
    "optuna_percentile": ("Optuna `PercentilePruner(25.0)`",
                          optuna_pruner("PercentilePruner", percentile=25.0)),
    "optuna_sha": ("Optuna `SuccessiveHalvingPruner()`", optuna_pruner("SuccessiveHalvingPruner")),
    "optuna_hyperband": ("Optuna `HyperbandPruner()`", optuna_pruner("HyperbandPruner")),
    "optuna_wilcoxon": ("Optuna `WilcoxonPruner()`", optuna_pruner("WilcoxonPruner")),
}


# --------------------------------------------------------------------------- the suite


@dataclass(frozen=True)
class Sizes:
    seeds_lcbench: int = 5
    seeds_sklearn: int = 10
    trials_random: int = 100  # LCBench; sklearn runs ``trials_sklearn``
    trials_bayes: int = 50
    trials_sklearn: int = 30
    epochs: int = 20  # sklearn epochs per trial (LCBench curves have 52)
    tasks: tuple[str, ...] = lcbench.TUNING_TASKS + lcbench.HELDOUT_TASKS
    problems: tuple[str, ...] = ("mlp_digits", "sgd_digits")


FULL = Sizes()
QUICK = Sizes(seeds_lcbench=1, seeds_sklearn=1, trials_random=50, trials_bayes=25,
              trials_sklearn=12, epochs=10, problems=("sgd_digits",),
              tasks=lcbench.TUNING_TASKS[:1] + lcbench.HELDOUT_TASKS[:1])


def _pool(processes: int) -> multiprocessing.pool.Pool:
    return multiprocessing.get_context("fork").Pool(processes)


def _lcbench_job(args: tuple[str, str, int, int]) -> Job:
    task, ordering, seed, n = args
    data = lcbench.load()[task]
    order = (lcbench_bayes_order if ordering == "bayes" else lcbench_random_order)(task, seed, n)
    split = "lcbench tuning" if task in lcbench.TUNING_TASKS else "lcbench held-out"
    return Job(split, ordering, task, seed, [data.curves[i] for i in order], 1.0)


def _sklearn_job(args: tuple[str, str, int, int, int]) -> Job:
    name, ordering, seed, n, epochs = args
    if ordering == "bayes":
        _, curves = bayes_curves((name, seed, n, epochs))
    else:
        curves = [learning_curve((name, c, seed, epochs))
                  for c in configurations(PROBLEMS[name], seed, n)]
    return Job("sklearn", ordering, name, seed, curves, 100.0)


NOISE_POINTS = 0.5  # sd of the noise added to the held-out LCBench curves, accuracy points
TUNING_SETS = ("lcbench tuning", "sklearn")
HELDOUT_SETS = ("lcbench held-out", "lcbench held-out + noise")
SETS = TUNING_SETS + HELDOUT_SETS


def with_noise(job: Job) -> Job:
    """The same job with i.i.d. Gaussian noise on every reported value: the surrogate's curves
    are smooth, real ones are not (a noisy held-out set no constant was tuned on)."""
    import numpy as np

    rng = np.random.default_rng([int(job.problem), job.seed, job.ordering == "bayes"])
    curves = [[float(v) for v in np.asarray(c) + rng.normal(0, NOISE_POINTS, len(c))]
              for c in job.curves]
    return Job("lcbench held-out + noise", job.ordering, job.problem, job.seed, curves,
               job.points)


def build_jobs(sizes: Sizes, processes: int = 2, log: Callable[[str], None] = print
               ) -> list[Job]:
    """Every replayed job's curves: LCBench orderings and trained sklearn curves."""
    t0 = time.perf_counter()
    lc = []
    if lcbench.available():
        lcbench.load()  # once, before forking
        lc = [(t, o, s, sizes.trials_random if o == "random" else sizes.trials_bayes)
              for t in sizes.tasks for o in ("random", "bayes") for s in range(sizes.seeds_lcbench)]
    else:
        log(f"LCBench curves not found in {lcbench.data_dir()}: sklearn curves only")
    sk = [(name, o, s, sizes.trials_sklearn, sizes.epochs)
          for name in sizes.problems for o in ("random", "bayes")
          for s in range(sizes.seeds_sklearn)]
    if processes > 1:
        with _pool(processes) as pool:
            jobs = pool.map(_lcbench_job, lc) + pool.map(_sklearn_job, sk, chunksize=1)
    else:
        jobs = [_lcbench_job(a) for a in lc] + [_sklearn_job(a) for a in sk]
    jobs += [with_noise(j) for j in jobs if j.curves_set == "lcbench held-out"]
    log(f"built {len(jobs)} jobs ({sum(len(j.curves) for j in jobs)} curves) in "
        f"{time.perf_counter() - t0:.0f} s")
    return jobs


def _compare_all(args: tuple[Job, int, list[str]]) -> list[Run]:
    job, parallel, methods = args
    return [compare(job, parallel, m, METHODS[m][1] if m in METHODS else VARIANTS[m])
            for m in methods]


# WilcoxonPruner takes ~1.5 s a replay (scipy per report, and a deep copy of the best trial):
# the noisy copy of the held-out curves leaves it out to keep `make bench` in its time limit.
SLOW = ("optuna_wilcoxon",)

def curve_bound_variant(kind: str, **constants: Any) -> Callable[[], Stopper]:
    """``curve_bound`` with one of its three terms computed another way (variants tried on
    the tuning sets and not shipped; each overrides one hook of ``CurveBoundRule``)."""

    def make() -> Stopper:
        import statistics

        from hpdash.core.stopping import Curve, CurveBoundRule, StoppingContext

        class Variant(CurveBoundRule):
            def forecast_curves(self, ctx: StoppingContext, best: float, levels: Sequence[float]
                                ) -> list[int]:
                if kind != "below" or len(levels) <= self.near:
                    return super().forecast_curves(ctx, best, levels)
                # the nearest not better than the trial first (more room to gain), then above
                return heapq.nsmallest(self.near, range(len(levels)), key=lambda i: (
                    ctx.worse(best, levels[i]), abs(levels[i] - best), i))

            def job_gain(self, ctx: StoppingContext, gains: Sequence[float]) -> float:
                if kind != "quantile" or len(gains) < 2:
                    return super().job_gain(ctx, gains)
                ranked = sorted(gains)
                return self.slack * max(0.0, ranked[math.ceil(0.9 * (len(ranked) - 1))])

            def own_gain(self, ctx: StoppingContext, step: int, best: float, length: int | None
                         ) -> float:
                if kind != "mean_trend" or not length or length <= step:
                    return super().own_gain(ctx, step, best, length)
                a = [(s, v) for s, v in ctx.points if s <= step // 2]
                b = [(s, v) for s, v in ctx.points if s > step // 2]
                if not a or not b:
                    return 0.0
                rise = ctx.gain(statistics.fmean(v for _, v in a),
                                statistics.fmean(v for _, v in b))
                run = statistics.fmean(s for s, _ in b) - statistics.fmean(s for s, _ in a)
                return self.trend * max(0.0, rise) / run * (length - step)

            def margin(self, ctx: StoppingContext, full: Sequence[Curve]) -> float:
                jitter = super().margin(ctx, full) / self.noise if self.noise else 0.0
                if kind == "own_jitter":
                    jitter = max(jitter, Curve(ctx.points).jitter())
                elif kind == "resolution":
                    steps = [abs(b - a) for c in full for a, b in itertools.pairwise(c.values)
                             if abs(b - a) > 1e-12]
                    jitter = max(jitter, min(steps, default=0.0))
                return self.noise * jitter

        return HpdashStopper(Variant(**constants))

    return make


# Other constants of hpdash's rules, replayed on the tuning sets only: how the shipped
# constants were chosen (the held-out sets never decided anything).
VARIANTS: dict[str, Callable[[], Stopper]] = {
    "curve_bound before: all full curves (near 0)": hpdash_rule("curve_bound", near=0),
    "curve_bound before, trend 0.5": hpdash_rule("curve_bound", near=0, trend=0.5),
    "curve_bound before, 0.9 quantile of the gains": curve_bound_variant("quantile", near=0),
    "curve_bound near 5": hpdash_rule("curve_bound", near=5),
    "curve_bound near 6": hpdash_rule("curve_bound", near=6),
    "curve_bound near 7": hpdash_rule("curve_bound", near=7),
    "curve_bound near 10": hpdash_rule("curve_bound", near=10),
    "curve_bound near 15": hpdash_rule("curve_bound", near=15),
    "curve_bound near 5, nearest from below first": curve_bound_variant("below", near=5),
    "curve_bound near 8, trend 0.5": hpdash_rule("curve_bound", trend=0.5),
    "curve_bound near 8, trend window 0.25": hpdash_rule("curve_bound", window=0.25),
    "curve_bound near 8, trend from half means": curve_bound_variant("mean_trend"),
    "curve_bound near 8, margin ≥ its own jitter": curve_bound_variant("own_jitter"),
    "curve_bound near 8, margin ≥ the metric's resolution": curve_bound_variant("resolution"),
    "curve_bound without its own trend (trend 0)": hpdash_rule("curve_bound", trend=0.0),
    "curve_bound trend 2": hpdash_rule("curve_bound", trend=2.0),
    "curve_bound without noise margin (noise 0)": hpdash_rule("curve_bound", noise=0.0),
    "curve_bound noise 3": hpdash_rule("curve_bound", noise=3.0),
    "curve_bound slack 1.5": hpdash_rule("curve_bound", slack=1.5),
    "curve_bound grace 5": hpdash_rule("curve_bound", grace=5),
    "curve_bound min_full 10": hpdash_rule("curve_bound", min_full=10),
    "median grace 5, 5 completed": hpdash_rule("median", grace=5, min_completed=5),
    "percentile keep 0.5": hpdash_rule("percentile", keep=0.5),
    "asha eta 2": hpdash_rule("asha", eta=2),
}


def measure(sizes: Sizes, parallels: Sequence[int] = (1, 4), processes: int = 2,
            variants: bool = True, closed: int = 0, log: Callable[[str], None] = print
            ) -> dict[str, Any]:
    """Replay every job with every method (Optuna's pruners at maxParallelTrials 1 only, where
    they are compared; hpdash's rules at each of ``parallels``)."""
    jobs = build_jobs(sizes, processes, log)
    tasks: list[tuple[Job, int, list[str]]] = []
    for job in jobs:
        for p in parallels:
            ms = [m for m in METHODS if p == parallels[0] or not m.startswith("optuna")]
            if job.curves_set.endswith("+ noise"):
                ms = [m for m in ms if m not in SLOW]
            if variants and p == parallels[0] and job.curves_set in TUNING_SETS:
                ms += list(VARIANTS)
            tasks.append((job, p, ms))
    t0 = time.perf_counter()
    if processes > 1:
        with _pool(processes) as pool:
            out = pool.map(_compare_all, tasks, chunksize=1)
    else:
        out = [_compare_all(t) for t in tasks]
    runs = [r for rs in out for r in rs]
    log(f"replayed {len(runs)} runs in {time.perf_counter() - t0:.0f} s")
    loops: list[dict[str, Any]] = []
    if closed and lcbench.available():
        t0 = time.perf_counter()
        args = [(t, s, sizes.trials_bayes, "curve_bound") for t in sizes.tasks
                for s in range(closed)]
        if processes > 1:
            with _pool(processes) as pool:
                loops = pool.map(closed_loop, args, chunksize=1)
        else:
            loops = [closed_loop(a) for a in args]
        log(f"ran {len(loops)} closed-loop runs in {time.perf_counter() - t0:.0f} s")
    return {"runs": runs, "jobs": jobs, "sizes": sizes, "parallels": list(parallels),
            "closed": loops}


# --------------------------------------------------------------------------- summaries


def bootstrap(xs: Sequence[float], reps: int = 2000) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the mean."""
    import numpy as np

    if len(xs) < 2:
        return (xs[0], xs[0]) if xs else (math.nan, math.nan)
    a = np.asarray(xs, dtype=float)
    means = a[np.random.default_rng(0).integers(0, len(a), (reps, len(a)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


@dataclass(frozen=True)
class Summary:
    runs: int
    saved: float
    saved_ci: tuple[float, float]
    regret: float
    regret_ci: tuple[float, float]
    regret_max: float
    worse: int  # runs whose best final result got worse
    best_stopped: int  # runs whose would-be best trial was stopped


def summarize(runs: Sequence[Run]) -> Summary:
    saved = [r.saved for r in runs]
    regret = [r.regret for r in runs]
    return Summary(len(runs), statistics.mean(saved), bootstrap(saved), statistics.mean(regret),
                   bootstrap(regret), max(regret), sum(r.regret > 1e-9 for r in runs),
                   sum(r.best_stopped for r in runs))


def select(runs: Sequence[Run], **match: Any) -> list[Run]:
    return [r for r in runs if all(getattr(r, k) == v for k, v in match.items())]


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
    tmp.chmod(0o711)  # as root, trainers run as the trial user: it passes through to its sandbox
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
    from hpdash.core.stopping import get_rule
    from hpdash.ops.config import early_stopping_rule_from_env

    # The rule the stack above ran: the one its settings read from this environment.
    sim = replay(curves, 1, HpdashStopper(get_rule(early_stopping_rule_from_env())))
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



# --------------------------------------------------------------------------- the report


ORDERINGS = {"random": "random search", "bayes": "the default algorithm (GP)"}
TARGETS = {"random": 0.40, "bayes": 0.30}


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _ci_pct(ci: tuple[float, float]) -> str:
    return f"[{100 * ci[0]:.0f}–{100 * ci[1]:.0f}]"


def _pts(x: float) -> str:
    return "0" if abs(x) < 5e-3 else f"{x:+.2f}"


def cell(s: Summary) -> str:
    return (f"**{_pct(s.saved)}** {_ci_pct(s.saved_ci)} · {_pts(s.regret)} "
            f"[{_pts(s.regret_ci[0])}, {_pts(s.regret_ci[1])}] / {_pts(s.regret_max)} · "
            f"{s.worse}/{s.runs}")


def _sets(runs: Sequence[Run]) -> list[str]:
    present = {r.curves_set for r in runs}
    return [s for s in SETS if s in present]


def main_table(runs: Sequence[Run], ordering: str, parallel: int) -> list[str]:
    sets = _sets(runs)
    lines = ["| method | " + " | ".join(
        f"{s} ({'tuning' if s in TUNING_SETS else 'held out'})" for s in sets) + " |",
        "|---|" + "---:|" * len(sets)]
    for m, (label, _) in METHODS.items():
        cells = []
        for s in sets:
            rs = select(runs, method=m, curves_set=s, ordering=ordering, parallel=parallel)
            cells.append(cell(summarize(rs)) if rs else "—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def targets(runs: Sequence[Run], method: str, parallel: int) -> list[tuple[str, str, bool, str]]:
    """(ordering, curve set, met?, figures) for the issue's targets."""
    out = []
    for o, target in TARGETS.items():
        for s in _sets(runs):
            rs = select(runs, method=method, curves_set=s, ordering=o, parallel=parallel)
            if rs:
                sm = summarize(rs)
                out.append((o, s, sm.saved >= target and sm.worse == 0,
                            f"{_pct(sm.saved)} saved (target {_pct(target)}), worse best in "
                            f"{sm.worse} of {sm.runs}"))
    return out


def markdown(res: dict[str, Any], e2e: dict[str, Any] | None, seconds: float) -> str:
    runs: list[Run] = res["runs"]
    sz: Sizes = res["sizes"]
    p0, p_last = res["parallels"][0], res["parallels"][-1]
    n_lc = len(select(runs, method="curve_bound", curves_set="lcbench tuning", ordering="random",
                      parallel=p0))
    lines = [
        "## Early stopping",
        "",
        "hpdash's stopping rules and Optuna's pruners **replayed on the same recorded learning "
        "curves in one run** (`benchmarks/early_stopping.py`). Curves: LCBench (YAHPO surrogate; "
        f"tuning tasks {', '.join(t for t in sz.tasks if t in lcbench.TUNING_TASKS)}, held-out "
        f"tasks {', '.join(t for t in sz.tasks if t in lcbench.HELDOUT_TASKS)}; 52 epochs) and "
        f"scikit-learn on digits (MLP and SGD, {sz.epochs} epochs, trained here). The held-out "
        f"tasks also run with Gaussian noise (sd {NOISE_POINTS} pts) on every value, because the "
        "surrogate's curves are smooth. Orderings: **random** (LCBench: a seeded permutation, "
        f"{sz.trials_random} trials; sklearn: hpdash's RANDOM_SEARCH, {sz.trials_sklearn} trials) "
        "and **the default algorithm** (hpdash's GP suggester run sequentially on final values; "
        f"LCBench: over the task's 200 recorded configurations, {sz.trials_bayes} trials; "
        f"sklearn: {sz.trials_sklearn} trials trained as it proposes them), {sz.seeds_lcbench} "
        f"seeds per LCBench task ({n_lc} runs per LCBench cell), {sz.seeds_sklearn} per sklearn "
        "problem. Trials run one at a time (maxParallelTrials 1) unless said; with and without "
        "stopping run the same trials. Optuna 5 pruners at their defaults, in-memory study, "
        "ask/report/should_prune/tell: `MedianPruner()` (5 startup trials, no warm-up), "
        "`PercentilePruner(25.0)` (no default percentile; keep the top quarter), "
        "`SuccessiveHalvingPruner()` (min_resource auto, reduction factor 4), "
        "`HyperbandPruner()` (min_resource 1, max_resource auto, reduction factor 3), "
        "`WilcoxonPruner()` (p 0.1, 2 startup steps).",
        "",
        "Cell: **steps saved** [95 % bootstrap interval over runs] · regret = best final "
        "accuracy without − with, mean [interval] / max, in accuracy points (a trial's final "
        "value is its last report) · runs whose best got worse / runs.",
    ]
    for o, described in ORDERINGS.items():
        lines += ["", f"**Trials from {described}** (maxParallelTrials {p0}):", ""]
        lines += main_table(runs, o, p0)
    if p_last != p0:
        lines += ["", f"hpdash's rules at maxParallelTrials {p_last} (running trials are "
                  "visible to the rules; pruners not run):", ""]
        sets = _sets(runs)
        lines += ["| rule | ordering | " + " | ".join(sets) + " |",
                  "|---|---|" + "---:|" * len(sets)]
        for m in [m for m in METHODS if not m.startswith("optuna")]:
            for o in ORDERINGS:
                cells = [cell(summarize(rs)) if (rs := select(
                    runs, method=m, curves_set=s, ordering=o, parallel=p_last)) else "—"
                    for s in sets]
                lines.append(f"| {METHODS[m][0]} | {o} | " + " | ".join(cells) + " |")
    var_runs = [r for r in runs if r.method in VARIANTS]
    if var_runs:
        sets = [s for s in TUNING_SETS if s in _sets(runs)]
        lines += ["", "Other constants, **tuning sets only** (maxParallelTrials "
                  f"{p0}; how the shipped constants were chosen):", "",
                  "| variant | " + " | ".join(f"{s}, {o}" for s in sets for o in ORDERINGS)
                  + " |", "|---|" + "---:|" * (len(sets) * len(ORDERINGS))]
        for m in ["curve_bound", *VARIANTS]:
            cells = []
            for s in sets:
                for o in ORDERINGS:
                    sm = summarize(select(runs, method=m, curves_set=s, ordering=o,
                                          parallel=p0))
                    cells.append(f"{_pct(sm.saved)} · {sm.worse}/{sm.runs}")
            label = "curve_bound as shipped" if m == "curve_bound" else m
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    loops = res.get("closed") or []
    if loops:
        parts = []
        for split in ("lcbench tuning", "lcbench held-out"):
            ls = [x for x in loops if x["curves_set"] == split]
            if ls:
                saved, regret = [x["saved"] for x in ls], [x["regret"] for x in ls]
                parts.append(f"{split}: **{_pct(statistics.mean(saved))}** "
                             f"{_ci_pct(bootstrap(saved))} saved, regret "
                             f"{_pts(statistics.mean(regret))} [{_pts(bootstrap(regret)[0])}, "
                             f"{_pts(bootstrap(regret)[1])}] / max {_pts(max(regret))} / min "
                             f"{_pts(min(regret))}, best worse in "
                             f"{sum(r > 1e-9 for r in regret)} of {len(ls)} runs")
        lines += ["", "**Closed loop** (default rule; the GP suggester learns each stopped "
                  "trial's last value, as in hpdash, so with and without stopping run "
                  f"different trials after the first stop; {sz.trials_bayes} trials, "
                  f"{len(loops) // max(1, len({x['task'] for x in loops}))} seeds per LCBench "
                  "task; regret of the best found, unpaired): " + "; ".join(parts) + "."]
    if e2e:
        lines += [
            "",
            f"**Through the service** (`manage.py serve`, default rule, MLP on digits, grid of "
            f"{e2e['trials']} trials × {e2e['epochs']} epochs, maxParallelTrials 1, one epoch "
            f"every {e2e['epoch_seconds']} s): early stopping stopped {e2e['stopped']} trials "
            f"and saved {_pct(e2e['saved'])} of the epochs (Σ {e2e['steps_real'][True]} vs "
            f"{e2e['steps_real'][False]}), regret {_pts(100 * e2e['regret'])} pts; the replay "
            f"of the same trials predicts {e2e['sim_stopped']} stopped, "
            f"{_pct(e2e['sim_saved'])} saved — same trials stopped: "
            f"{'yes' if e2e['same_stopped'] else 'no'}, stop steps differ by "
            f"{sorted(set(e2e['step_diffs']))} epochs; the trainers' final values equal the "
            f"recorded curves: {'yes' if e2e['curves_match'] else 'no'}.",
        ]
    verdict = targets(runs, "curve_bound", p0)
    met = [f"{o} / {s}: {txt}" for o, s, ok, txt in verdict if ok]
    missed = [f"{o} / {s}: {txt}" for o, s, ok, txt in verdict if not ok]
    lines += [
        "",
        "**Targets** (default rule `curve_bound`, maxParallelTrials 1: ≥ 40 % of steps saved "
        "with random search, ≥ 30 % with the default algorithm, best final result never worse "
        "in any run). Met: " + ("; ".join(met) if met else "none") + ". **Missed**: "
        + ("; ".join(missed) if missed else "none") + ".",
        "",
        report.footer(seconds),
        "",
    ]
    return "\n".join(lines)


def plot(res: dict[str, Any], path: Path) -> None:
    plt = report.pyplot()

    runs: list[Run] = res["runs"]
    p0 = res["parallels"][0]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    for ax, o in zip(axes, ORDERINGS, strict=True):
        labels, saved, worse = [], [], []
        for m, (label, _) in METHODS.items():
            rs = select(runs, method=m, ordering=o, parallel=p0)
            if not rs:
                continue
            s = summarize(rs)
            labels.append(label.replace("hpdash ", "").replace("Optuna ", "").split("(")[0]
                          .strip("` "))
            saved.append(100 * s.saved)
            worse.append(f"{s.worse}/{s.runs}")
        colors = ["#2563eb" if w.startswith("0/") else "#dc2626" for w in worse]
        bars = ax.bar(labels, saved, color=colors)
        ax.bar_label(bars, labels=[f"{v:.0f}%\n{w}" for v, w in zip(saved, worse, strict=True)],
                     fontsize=7)
        ax.axhline(100 * TARGETS[o], color="#94a3b8", ls="--", lw=1)
        ax.set_title(f"trials from {ORDERINGS[o]}: steps saved, all curve sets\n"
                     "(red: the best result got worse in some runs; label: runs worse/all)",
                     fontsize=9)
        ax.tick_params(axis="x", labelsize=7, rotation=35)
    axes[0].set_ylabel("steps saved, %")
    axes[0].set_ylim(0, 110)
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
    warnings.filterwarnings("ignore", message=".*experimental.*")  # WilcoxonPruner
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 LCBench tasks, 1 seed, SGD only, no service run (~30 s)")
    ap.add_argument("--seeds", type=int, help="seeds per LCBench task and sklearn problem")
    ap.add_argument("--no-e2e", action="store_true", help="skip the run through the service")
    ap.add_argument("--e2e", action="store_true", help="run it with --quick too (+ ~35 s)")
    ap.add_argument("--no-variants", action="store_true", help="skip the constants table")
    ap.add_argument("--closed-loop", type=int, default=0, metavar="SEEDS",
                    help="also run the default algorithm with stopping in the loop, SEEDS "
                    "seeds per LCBench task (~10 s of CPU each)")
    ap.add_argument("--processes", type=int, default=2,
                    help="worker processes for building and replaying (1: all in this one)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    sizes = QUICK if a.quick else FULL
    if a.seeds:
        sizes = dataclasses.replace(sizes, seeds_lcbench=a.seeds, seeds_sklearn=a.seeds)
    res = measure(sizes, processes=a.processes, variants=not (a.no_variants or a.quick),
                  closed=a.closed_loop)
    e2e = (None if a.no_e2e or (a.quick and not a.e2e)
           else run_e2e(a.quick, seed=0, epoch_seconds=0.1, log=print))
    seconds = time.perf_counter() - t0
    report.save(a.out, "early_stopping", markdown(res, e2e, seconds), plot, res)


if __name__ == "__main__":
    main()
