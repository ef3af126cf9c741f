"""Several metrics per trial (a multi-objective study): each trial's final value of every
metric, every metric's measurements grouped by step, and the Pareto-optimal trials.

A trial's final step is chosen on its first metric (``final_value``/``final_step``, by the
spec's measurement selection); the final measurement carries every metric's value at that step:
the last one reported at or before it.  A single-metric job reads only ``final_value``."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, OuterRef, QuerySet, Subquery

from hpdash.core.pareto import pareto_optimal
from hpdash.core.spec import HyperparameterSpec
from hpdash.core.states import TrialState
from hpdash.models import Job, Measurement, Trial

FinalValues = tuple[float | None, ...]


def at_final_step(metric: int) -> Subquery:
    """A trial's final value of its ``metric`` (by position), as an expression on ``Trial``."""
    return Subquery(Measurement.objects.filter(
        trial=OuterRef("pk"), metric=metric, step__lte=OuterRef("final_step"),
    ).order_by("-step", "-id").values("value")[:1])


def final_value_of(metric: int) -> F | Subquery:
    """A trial's final value of its ``metric`` as an expression on ``Trial``: the stored
    ``final_value`` for the first metric (its index), :func:`at_final_step` for the others."""
    return F("final_value") if metric == 0 else at_final_step(metric)


def final_values(*, spec: HyperparameterSpec, trials: QuerySet[Trial] | Iterable[int]
                 ) -> dict[int, FinalValues]:
    """Every metric's final value of these trials (a queryset, or primary keys), by primary
    key (None where the trial has no final step yet, or never reported that metric by then).
    A queryset keeps a 10,000-trial job's ids out of the SQL."""
    n = len(spec.metrics)
    chosen = (trials if isinstance(trials, QuerySet)
              else Trial.objects.filter(pk__in=list(trials)))
    rows = chosen.annotate(
        **{f"m{j}": at_final_step(j) for j in range(1, n)})
    fields = ("pk", "final_value", "final_step", *(f"m{j}" for j in range(1, n)))
    out: dict[int, FinalValues] = {}
    for pk, first, step, *more in rows.values_list(*fields):
        out[pk] = (first, *more) if step is not None else (None,) * n
    return out


def pareto_trial_ids(job: Job) -> frozenset[int]:
    """The trial ids of the job's Pareto-optimal SUCCEEDED trials (of a single-metric job:
    those with the best value).  Empty until a trial succeeds with every metric."""
    spec = job.spec
    succeeded = job.trials.filter(state=TrialState.SUCCEEDED, final_value__isnull=False)
    done = dict(succeeded.values_list("pk", "trial_id"))
    values = final_values(spec=spec, trials=succeeded)
    full = [(done[pk], v) for pk, v in values.items() if None not in v]
    optimal = pareto_optimal([v for _, v in full],  # type: ignore[misc]  # None-free
                             [m.maximize for m in spec.metrics])
    return frozenset(tid for (tid, _), ok in zip(full, optimal, strict=True) if ok)


Step = tuple[int, dict[int, float]]


def metric_steps(trial_pks: Iterable[int]) -> dict[int, list[Step]]:
    """Every measurement of these trials, each metric's value grouped by step: ``(step,
    {metric: value})`` in step order.  A metric reported twice at one step (an epoch counter
    that restarted) starts another group, so no value is lost."""
    out: dict[int, list[Step]] = {pk: [] for pk in trial_pks}
    rows = (Measurement.objects.filter(trial_id__in=list(out)).order_by("trial_id", "step", "id")
            .values_list("trial_id", "step", "metric", "value"))
    for pk, step, metric, value in rows:
        steps = out[pk]
        if not steps or steps[-1][0] != step or metric in steps[-1][1]:
            steps.append((step, {}))
        steps[-1][1][metric] = value
    return out
