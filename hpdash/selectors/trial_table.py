"""The job page's trials as data: which trials match a filter, in which order, and the best
trial with its ties.  The URL's query-string language for these lives in
:mod:`hpdash.dashboard.trial_table`.

Ties: SUCCEEDED trials whose final metric is within ``TIE_RELATIVE_TOLERANCE`` (1e-9 relative,
1e-12 absolute) of the best are all "best"; the *recommended* one is the cheapest — least wall
time, then fewest steps, then lowest trial id (the seed: prefer 8 hidden nodes over 20 when the
metric is the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce, Now
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from hpdash.core.states import TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.objectives import at_final_step, final_value_of
from hpdash.selectors.trials import metric_order

TIE_RELATIVE_TOLERANCE = 1e-9
TIE_ABSOLUTE_TOLERANCE = 1e-12
TIE_RULE = ("Ties (metric within 1e-9 relative of the best) are all marked best; the "
            "recommended trial is the cheapest: least wall time, then fewest steps.")

# What a table can be sorted by, besides a parameter.
SORT_COLUMNS = ("trial", "metric", "step", "duration")
_SORT_FIELDS = {"trial": "trial_id", "step": "final_step", "duration": "duration"}


@dataclass(frozen=True)
class ParamCondition:
    """A parameter equal to ``value``, or at least (``gte``) or at most (``lte``) it."""

    name: str
    op: Literal["eq", "gte", "lte"]
    value: Any


@dataclass(frozen=True)
class MetricCondition:
    """The final value of the job's metric number ``metric`` (≥ 1: a multi-objective study's
    other metrics) at least (``gte``) or at most (``lte``) ``value``."""

    metric: int
    op: Literal["gte", "lte"]
    value: float


@dataclass(frozen=True)
class TrialFilter:
    """Which trials to show; every condition given must hold.  A bound on the metric matches
    only SUCCEEDED trials (only they have a final metric)."""

    state: TrialState | None = None
    metric_gte: float | None = None
    metric_lte: float | None = None
    step_gte: int | None = None
    step_lte: int | None = None
    params: tuple[ParamCondition, ...] = ()
    metrics: tuple[MetricCondition, ...] = ()

    def q(self) -> Q:
        q = Q()
        if self.state is not None:
            q &= Q(state=self.state)
        for lookup, value in (("final_value__gte", self.metric_gte),
                              ("final_value__lte", self.metric_lte),
                              ("final_step__gte", self.step_gte),
                              ("final_step__lte", self.step_lte)):
            if value is not None:
                q &= Q(**{lookup: value})
        if self.metric_gte is not None or self.metric_lte is not None or self.metrics:
            q &= Q(state=TrialState.SUCCEEDED)
        for m in self.metrics:
            compare = GreaterThanOrEqual if m.op == "gte" else LessThanOrEqual
            q &= Q(compare(at_final_step(m.metric), m.value))
        for p in self.params:
            lookup = f"params__{p.name}" if p.op == "eq" else f"params__{p.name}__{p.op}"
            q &= Q(**{lookup: p.value})
        return q


@dataclass(frozen=True)
class TrialSort:
    """Sort by a column of :data:`SORT_COLUMNS` or by the parameter ``param``.  By the metric,
    descending means best first whatever the goal."""

    column: str = "metric"
    descending: bool = True
    param: str | None = None


def trials_matching(job: Job, where: TrialFilter) -> QuerySet[Trial]:
    """``job``'s trials that ``where`` matches (a caller has already checked that the user may
    see the job)."""
    return job.trials.filter(where.q())


def with_duration(qs: QuerySet[Trial]) -> QuerySet[Trial]:
    """Annotate wall time; a running trial's clock is still running."""
    return qs.annotate(duration=ExpressionWrapper(
        Coalesce(F("end_time"), Now()) - F("start_time"), output_field=DurationField()))


def filtered_trials(job: Job, where: TrialFilter, order: TrialSort | None = None,
                    metric: int = 0) -> QuerySet[Trial]:
    """The matching trials with their wall time (``duration``), in ``order`` (default: best
    first by the job's ``metric``, by position, in its own goal's direction), ties by trial
    id."""
    qs = with_duration(trials_matching(job, where))
    order = order or TrialSort()
    if order.param is None and order.column == "metric":
        return qs.order_by(*metric_order(maximize=job.spec.metrics[metric].maximize,
                                         best_first=order.descending, metric=metric))
    field_name = (f"params__{order.param}" if order.param is not None
                  else _SORT_FIELDS[order.column])
    expr = (F(field_name).desc(nulls_last=True) if order.descending
            else F(field_name).asc(nulls_last=True))
    return qs.order_by(expr, "trial_id")


@dataclass(frozen=True)
class Best:
    value: float | None
    tied: frozenset[int]  # trial ids whose metric ties with the best
    recommended: int | None  # trial id


def best_trials(job: Job, metric: int = 0) -> Best:
    """The best trials by the job's ``metric`` (by position), in its own goal's direction."""
    maximize = job.maximize if metric == 0 else job.spec.metrics[metric].maximize
    ok = job.trials.filter(state=TrialState.SUCCEEDED, final_value__isnull=False).annotate(
        shown=final_value_of(metric)).filter(shown__isnull=False)
    top = ok.order_by(*metric_order(maximize=maximize, metric=metric)).values_list(
        "shown", flat=True).first()
    if top is None:
        return Best(None, frozenset(), None)
    tol = max(TIE_ABSOLUTE_TOLERANCE, abs(top) * TIE_RELATIVE_TOLERANCE)
    tied = with_duration(ok.filter(shown__gte=top - tol, shown__lte=top + tol))
    ordered = list(tied.order_by(  # type: ignore[misc]  # "duration" is annotated
        "duration", F("final_step").asc(nulls_last=True), "trial_id",
    ).values_list("trial_id", flat=True))
    return Best(top, frozenset(ordered), ordered[0])
