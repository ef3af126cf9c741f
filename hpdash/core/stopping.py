"""Early stopping (seed: "Stopping trials early"): rules that decide, while a trial runs, that it
is clearly underperforming and should stop.  Pure Python, never Django.

**The contract for the worker** (``hpdash/worker/trial_runner.py``), for a job with
``enableTrialEarlyStopping``:

1. Once per trial, pick the rule: ``rule = get_rule(name)``, ``name`` being the server's
   setting (``HPDASH_EARLY_STOPPING_RULE``, read and checked by the Django settings:
   ``settings.HPDASH.early_stopping_rule``; default ``DEFAULT_RULE``).  Unknown names raise
   ``ValueError``.
2. Keep two :class:`Curves` of the *other* trials of the same job, keyed by trial id:

   - ``completed``: every SUCCEEDED trial (those stopped early included), each with all its
     measurements as ``(step, value)`` pairs and ``stopped_early=True`` for those hpdash
     stopped: ``completed.add(trial_id, points, stopped_early=flag)``.  A finished trial's curve
     never changes, so add each one once (``completed.trial_ids()`` says which are in).
     FAILED and CANCELLED trials are left out.
   - ``running``: the other RUNNING trials' measurements so far (optional; only the
     ``"asha"`` rule reads them).  Rebuild it, or ``add`` again (it replaces), on refresh.

   Re-read both from the database at most about once a second (as today): a rule only needs
   roughly current reference curves, and a stale refresh costs a little saving, never safety.
3. Each time new measurements of the running trial arrive (one or a batch), call::

       decision = rule.decide(StoppingContext(points=own, completed=completed,
                                              maximize=job.maximize, running=running,
                                              max_steps=None))

   with ``own`` = *all* of this trial's ``(step, value)`` pairs so far, in report order (the
   rules are stateless and look at the whole history every time).  ``max_steps`` is the number
   of steps this trial runs when it is known: when one of its parameters decides it
   (:func:`hpdash.core.stopping_length.trial_length`), pass that length and, in
   ``length_from``, what decided it (``"epochs=10"``) for the decision's prose; otherwise
   leave it ``None`` and rules take the job's length, its longest completed curve.
4. ``None`` means keep running.  A :class:`StopDecision` means stop the trial now:
   ``decision.step`` is the step it was judged at, ``decision.rule`` the rule's name and
   ``decision.detail`` one sentence of prose for the trial log (nobody parses it).  The trial
   then ends SUCCEEDED with its last measurement as ``finalMetric`` and
   ``isTrialStoppedEarly``, and is added to ``completed`` with ``stopped_early=True``.

Decisions are deterministic for the same context.  Each call costs O(completed trials x log
measurements); a context is cheap to build (it only refers to the two :class:`Curves`).

**The rules** (``RULES``, by name; every rule compares "worse" in the goal's direction, and
never stops a trial before it has ``grace`` measurements or while too few reference trials
exist):

- ``"curve_bound"`` (the **default**, :class:`CurveBoundRule`): stop a trial at step *s* when
  even an optimistic bound on its final value cannot beat the best final value found so far.
  The bound is its best value up to *s* plus the larger of (a) the largest gain from *s* to the
  end made by the 8 completed full-length curves of the job that were closest to its level at
  *s* and (b) its own recent gain per step extrapolated linearly to the full length, plus twice
  the curves' report-to-report noise.  A learning-curve extrapolation from the job's own curves
  whose reference is the incumbent, not a median, so it keeps stopping when the suggester sends
  mostly good trials.  ``CurveBoundRule(near=0)`` takes the largest gain of *all* full curves
  instead (then one slow starter keeps every trial running).
- ``"median"`` (:class:`MedianRule`): Google Vizier's median stopping rule: stop when the
  trial's best value so far is worse than the median of the completed trials' running averages
  up to *s* (Golovin et al., KDD'17, §3.2.2).
- ``"percentile"`` (:class:`PercentileRule`): stop when the best value so far is outside the
  top ``keep`` fraction of the completed trials' best values up to *s*.
- ``"asha"`` (:class:`AshaRule`): asynchronous successive halving as a stopping rule: at rungs
  ``grace · eta^k`` steps a trial continues only if it is in the top ``1/eta`` of the trials
  (completed and running) that reached that rung.

The measurements of the rules against Optuna's pruners are in ``benchmarks/early_stopping.py``
and the README's "Early stopping" section.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

Point = tuple[int, float]
DEFAULT_RULE = "curve_bound"

# Today's median rule constants (kept as module names: older code and the benchmark read them).
MIN_COMPLETED_TRIALS = 3
GRACE_MEASUREMENTS = 3


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class StopDecision:
    """Stop the trial: judged at ``step`` by rule ``rule``; ``detail`` is prose for the log."""

    step: int
    rule: str
    detail: str


class Curve:
    """One trial's measurements, sorted by step (ties keep report order), with prefix sums and
    running best values so any question "up to step s" is one bisection."""

    __slots__ = ("_hi", "_jitter", "_lo", "_sums", "steps", "stopped_early", "values")

    def __init__(self, points: Sequence[Point], stopped_early: bool = False) -> None:
        ordered = sorted(points, key=lambda p: p[0])
        self.steps = [int(s) for s, _ in ordered]
        self.values = [float(v) for _, v in ordered]
        self.stopped_early = stopped_early
        self._jitter: float | None = None
        self._sums: list[float] = []
        self._hi: list[float] = []
        self._lo: list[float] = []
        total, hi, lo = 0.0, -math.inf, math.inf
        for v in self.values:
            total += v
            hi, lo = max(hi, v), min(lo, v)
            self._sums.append(total)
            self._hi.append(hi)
            self._lo.append(lo)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last_step(self) -> int:
        return self.steps[-1] if self.steps else 0

    @property
    def final(self) -> float | None:
        """The last reported value: what hpdash records as the trial's ``finalMetric``."""
        return self.values[-1] if self.values else None

    def count(self, step: int) -> int:
        """How many values were reported at or before ``step``."""
        return bisect.bisect_right(self.steps, step)

    def value_at(self, step: int) -> float | None:
        """The latest value reported at or before ``step``."""
        n = self.count(step)
        return self.values[n - 1] if n else None

    def running_average(self, step: int) -> float | None:
        n = self.count(step)
        return self._sums[n - 1] / n if n else None

    def jitter(self) -> float:
        """How much the values jump from one report to the next once the curve has settled:
        the median absolute difference between successive values in its second half (0 for
        a smooth curve, about 1.1 sd for white noise on a plateau)."""
        if self._jitter is None:
            tail = self.values[len(self.values) // 2:]
            self._jitter = (statistics.median(abs(b - a) for a, b in itertools.pairwise(tail))
                            if len(tail) >= 2 else 0.0)
        return self._jitter

    def best_until(self, step: int, maximize: bool) -> float | None:
        n = self.count(step)
        if not n:
            return None
        return self._hi[n - 1] if maximize else self._lo[n - 1]


class Curves:
    """Other trials' curves by trial id.  ``add`` replaces a trial's curve."""

    def __init__(self, curves: Mapping[int, Sequence[Point]] | None = None) -> None:
        self._curves: dict[int, Curve] = {}
        for trial_id, points in (curves or {}).items():
            self.add(trial_id, points)

    def add(self, trial_id: int, points: Sequence[Point], *, stopped_early: bool = False
            ) -> None:
        self._curves[trial_id] = Curve(points, stopped_early)

    def trial_ids(self) -> list[int]:
        return list(self._curves)

    def __len__(self) -> int:
        return len(self._curves)

    def __iter__(self) -> Iterator[Curve]:
        return iter(self._curves.values())

    def running_averages(self, step: int) -> list[float]:
        """Each curve's running average up to ``step`` (curves with no value by then skipped)."""
        out = []
        for c in self._curves.values():
            a = c.running_average(step)
            if a is not None:
                out.append(a)
        return out


# Older name of Curves, used by the worker until it builds StoppingContext.
CompletedCurves = Curves


@dataclass(frozen=True)
class StoppingContext:
    """Everything a rule may look at; see the module docstring for what the worker passes."""

    points: Sequence[Point]  # the running trial's (step, value) pairs, in report order
    completed: Curves  # SUCCEEDED trials of the job, those stopped early included (flagged)
    maximize: bool
    running: Curves = field(default_factory=Curves)  # other RUNNING trials (optional)
    max_steps: int | None = None  # steps of this trial when run to its end, when known
    length_from: str = ""  # what decided max_steps ("epochs=10"), for the prose

    @property
    def step(self) -> int:
        """The latest step the running trial has reported (0 before its first report)."""
        return max((s for s, _ in self.points), default=0)

    def best(self) -> float:
        values = [v for _, v in self.points]
        return max(values) if self.maximize else min(values)

    def worse(self, a: float, b: float) -> bool:
        """``a`` is strictly worse than ``b`` in the goal's direction."""
        return a < b if self.maximize else a > b

    def gain(self, start: float, end: float) -> float:
        """How much better ``end`` is than ``start`` in the goal's direction."""
        return end - start if self.maximize else start - end

    def full_steps(self) -> int | None:
        """Steps of a full trial: ``max_steps``, else the longest completed curve's last step."""
        if self.max_steps:
            return self.max_steps
        return max((c.last_step for c in self.completed if len(c)), default=None)


class Rule(Protocol):
    """One early-stopping rule: a name (its key in ``RULES``) and a pure decision."""

    @property
    def name(self) -> str: ...

    def decide(self, ctx: StoppingContext) -> StopDecision | None:
        """``None`` (keep running) or why the trial should stop now."""
        ...


def _g(x: float) -> str:
    return f"{x:.6g}"


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class MedianRule:
    """Vizier's median stopping rule, as hpdash ran it before ``curve_bound``: at step ``s``, stop
    when the best value so far is strictly worse than the median of the completed trials'
    running averages up to ``s``.  A completed trial takes part only if it reported a value at
    or before ``s``; at least ``min_completed`` must take part; never before ``grace`` values."""

    grace: int = GRACE_MEASUREMENTS
    min_completed: int = MIN_COMPLETED_TRIALS
    name: str = "median"

    def decide(self, ctx: StoppingContext) -> StopDecision | None:
        if not ctx.points or len(ctx.points) < self.grace:
            return None
        step = ctx.step
        averages = ctx.completed.running_averages(step)
        if len(averages) < self.min_completed:
            return None
        median = statistics.median(averages)
        best = ctx.best()
        if not ctx.worse(best, median):
            return None
        return StopDecision(step, self.name,
                            f"best value {_g(best)} is worse than the median {_g(median)} of "
                            f"{len(averages)} completed trials' running averages")


@dataclass(frozen=True)
class PercentileRule:
    """Stop at step ``s`` when the best value so far is strictly worse than the value that
    separates the top ``keep`` fraction of the completed trials' best values up to ``s``
    (``keep=0.5``: their median).  Needs ``min_completed`` trials with a value by ``s``."""

    keep: float = 0.25
    grace: int = 5
    min_completed: int = 5
    name: str = "percentile"

    def decide(self, ctx: StoppingContext) -> StopDecision | None:
        if not ctx.points or len(ctx.points) < self.grace:
            return None
        step = ctx.step
        bests = [b for c in ctx.completed
                 if (b := c.best_until(step, ctx.maximize)) is not None]
        if len(bests) < self.min_completed:
            return None
        bests.sort(reverse=ctx.maximize)  # best first
        k = max(1, math.ceil(self.keep * len(bests)))
        bar = bests[k - 1]
        best = ctx.best()
        if not ctx.worse(best, bar):
            return None
        return StopDecision(step, self.name,
                            f"best value {_g(best)} is outside the top {k} of "
                            f"{len(bests)} completed trials' best values up to this step "
                            f"(the {k}th is {_g(bar)})")


@dataclass(frozen=True)
class AshaRule:
    """Asynchronous successive halving as a stopping rule.  Rungs are at ``grace · eta^k``
    steps (below the full length).  At the highest rung ``r`` the trial has reached, compare
    best values up to ``r`` among it and every other trial (completed or running) that reported
    at or past ``r``; stop unless the trial is in the top ``ceil(n / eta)`` of those ``n``.
    Needs at least ``min_trials`` others at the rung.  Re-judged as more trials reach it."""

    eta: int = 3
    grace: int = 4
    min_trials: int = 5
    name: str = "asha"

    def decide(self, ctx: StoppingContext) -> StopDecision | None:
        if not ctx.points or len(ctx.points) < self.grace:
            return None
        step = ctx.step
        full = ctx.full_steps()
        rung = self.grace
        while rung * self.eta <= step and (full is None or rung * self.eta < full):
            rung *= self.eta
        own = Curve(ctx.points)
        mine = own.best_until(rung, ctx.maximize)
        if mine is None:
            return None
        others = [b for curves in (ctx.completed, ctx.running) for c in curves
                  if c.last_step >= rung and (b := c.best_until(rung, ctx.maximize)) is not None]
        if len(others) < self.min_trials:
            return None
        n = len(others) + 1
        keep = math.ceil(n / self.eta)
        better = sum(ctx.worse(mine, b) for b in others)
        if better < keep:
            return None
        return StopDecision(step, self.name,
                            f"at rung {rung} its best value {_g(mine)} ranks {better + 1} of {n} "
                            f"trials that reached it; the top {keep} continue")


@dataclass(frozen=True)
class CurveBoundRule:
    """The default.  At step ``s`` (after ``grace`` values), bound the trial's final value
    optimistically and stop when even that bound is strictly worse than the incumbent, the
    best final value of all completed trials.  The bound is the trial's best value ``b`` up to
    ``s`` plus a headroom, the larger of two forecasts of what it can still gain, plus a noise
    margin:

    - the job's curves: ``slack`` x the largest gain from ``s`` to its end
      (``final_j − v_j(s)``, ``v_j(s)`` its latest value at or before ``s``) among the ``near``
      *full* completed curves whose ``v_j(s)`` is closest to ``b`` (ties: the earlier-added
      curve; ``near=0``: all of them).  Full curves are completed
      trials not stopped early that reported past ``s``; at least ``min_full`` are needed.
      What a curve still gains depends on where it is: one that was at 10 % accuracy at ``s``
      and gained 75 points says nothing about one at 95 %, and taking the largest gain of all
      full curves let one slow starter keep every trial of the job running.
    - its own trend: ``trend`` x its gain per step over the last ``window`` of its steps so far
      (best up to ``s`` minus best up to ``s − ceil(window · s)``; ``window=0.5``: the second
      half), times the steps left to the full length.  For a concave (flattening) curve this
      linear extrapolation is an upper bound; it is what keeps a late bloomer alive when its
      level's full curves are all fast starters (those are the ones the rule lets finish, so
      the first forecast alone is biased low), and a slowly, steadily rising curve (for which
      it is about exact).
    - noise: ``noise`` x the median jitter of the full curves (:meth:`Curve.jitter`), so a
      trial is not stopped for a difference the curves' own report-to-report noise could undo.

    The three terms are separate methods so the benchmark can replay variants of one of them.
    """

    grace: int = 3
    min_full: int = 3
    near: int = 8
    slack: float = 1.0
    trend: float = 1.0
    window: float = 0.5
    noise: float = 2.0
    name: str = "curve_bound"

    def decide(self, ctx: StoppingContext) -> StopDecision | None:
        if not ctx.points or len(ctx.points) < self.grace:
            return None
        step = ctx.step
        full: list[Curve] = []  # full completed curves with a value at or before step
        levels: list[float] = []  # their v_j(step)
        gains: list[float] = []  # their final_j - v_j(step), in the goal's direction
        incumbent: float | None = None
        for c in ctx.completed:
            final = c.final
            if final is None:
                continue
            if incumbent is None or ctx.worse(incumbent, final):
                incumbent = final
            if c.stopped_early or c.last_step <= step:
                continue
            then = c.value_at(step)
            if then is not None:
                full.append(c)
                levels.append(then)
                gains.append(ctx.gain(then, final))
        if incumbent is None or len(full) < self.min_full:
            return None
        best = ctx.best()
        pool = self.forecast_curves(ctx, best, levels)
        job_gain = self.job_gain(ctx, [gains[i] for i in pool])
        length = ctx.full_steps()
        own_gain = self.own_gain(ctx, step, best, length)
        margin = self.margin(ctx, full)
        headroom = max(job_gain, own_gain) + margin
        bound = best + headroom if ctx.maximize else best - headroom
        if not ctx.worse(bound, incumbent):
            return None
        which = (f"the {len(pool)} of {len(full)} full completed trials nearest its level at "
                 "this step" if len(pool) < len(full) else f"{len(full)} full completed trials")
        return StopDecision(step, self.name,
                            f"even optimistically it ends at {_g(bound)}, worse than the best "
                            f"final value {_g(incumbent)}: best value so far {_g(best)}, plus "
                            f"the larger of the largest gain still made after this step by "
                            f"{which} ({_g(job_gain)}) and its own trend "
                            f"{self._over(ctx, length or step)} ({_g(own_gain)}), plus a noise "
                            f"margin ({_g(margin)})")

    @staticmethod
    def _over(ctx: StoppingContext, length: int) -> str:
        """Which length the trend was projected over, in words."""
        if ctx.max_steps and ctx.length_from:
            return (f"to its own end at step {length} (where the full trials with "
                    f"{ctx.length_from} ended)")
        return f"over the job's {length}-step length"

    def forecast_curves(self, ctx: StoppingContext, best: float, levels: Sequence[float]
                        ) -> list[int]:
        """Indices of the full curves whose gains forecast the trial's: the ``near`` whose
        level at ``s`` is closest to ``best`` (all if ``near`` is 0 or there are no more)."""
        if not self.near or len(levels) <= self.near:
            return list(range(len(levels)))
        return heapq.nsmallest(self.near, range(len(levels)),
                               key=lambda i: (abs(levels[i] - best), i))

    def job_gain(self, ctx: StoppingContext, gains: Sequence[float]) -> float:
        """The job's-curves forecast from the forecasting curves' gains after ``s``."""
        return self.slack * max(0.0, *gains)

    def own_gain(self, ctx: StoppingContext, step: int, best: float, length: int | None
                 ) -> float:
        """The trial's own trend, extrapolated linearly to ``length`` steps."""
        if not self.trend or not length or length <= step:
            return 0.0
        since = step - math.ceil(self.window * step)
        early = [v for s, v in ctx.points if s <= since]
        if not early:
            return 0.0
        then = max(early) if ctx.maximize else min(early)
        slope = max(0.0, ctx.gain(then, best)) / (step - since)
        return self.trend * slope * (length - step)

    def margin(self, ctx: StoppingContext, full: Sequence[Curve]) -> float:
        """The noise margin: ``noise`` x the median jitter of the full curves."""
        return self.noise * statistics.median(c.jitter() for c in full)


# --------------------------------------------------------------------------- registry


RULES: dict[str, Rule] = {
    "curve_bound": CurveBoundRule(),
    "median": MedianRule(),
    "percentile": PercentileRule(),
    "asha": AshaRule(),
}


def get_rule(name: str) -> Rule:
    """The rule registered under ``name`` (``ValueError`` naming the known ones if unknown)."""
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(f"unknown early stopping rule {name!r}; known: "
                         f"{', '.join(sorted(RULES))}") from None
