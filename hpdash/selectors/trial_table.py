"""The dashboard's view of a job's trials: filters from the URL query string, sorting, the best
trial and ties.  Filters live in the query string so a filtered view can be shared:

``state=SUCCEEDED`` · ``metric__gte=0.9`` · ``metric__lte=`` · ``step__gte=`` · ``step__lte=`` ·
``param.<name>__gte=`` · ``param.<name>__lte=`` · ``param.<name>=<value>`` (exact; categorical
values verbatim) · ``sort=`` one of ``trial``, ``metric``, ``step``, ``duration``,
``param.<name>``, with ``-`` for descending (default: best first).

Ties: SUCCEEDED trials whose final metric is within ``TIE_RELATIVE_TOLERANCE`` (1e-9 relative,
1e-12 absolute) of the best are all "best"; the *recommended* one is the cheapest — least wall
time, then fewest steps, then lowest trial id (the seed: prefer 8 hidden nodes over 20 when the
metric is the same).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce, Now

from hpdash.core.spec import HyperparameterSpec, ParameterSpec
from hpdash.core.states import TrialState
from hpdash.models import Job, Trial
from hpdash.selectors.trials import metric_order

TIE_RELATIVE_TOLERANCE = 1e-9
TIE_ABSOLUTE_TOLERANCE = 1e-12
TIE_RULE = ("Ties (metric within 1e-9 relative of the best) are all marked best; the "
            "recommended trial is the cheapest: least wall time, then fewest steps.")

_NUMERIC_FILTERS = {
    "metric__gte": ("final_value__gte", float), "metric__lte": ("final_value__lte", float),
    "step__gte": ("final_step__gte", int), "step__lte": ("final_step__lte", int),
}


class FilterError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass
class TrialFilter:
    """Parsed, validated filters and sort; ``errors`` maps a query key to what is wrong with it
    (the dashboard shows them next to the filter instead of failing)."""

    q: Q = field(default_factory=Q)
    sort: str = ""
    active: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def querystring(self, **override: str) -> str:
        params = {**self.active, **({"sort": self.sort} if self.sort else {}), **override}
        return urlencode({k: v for k, v in params.items() if v != ""})


def _number(key: str, raw: str, cast: type) -> float | int:
    try:
        value = cast(float(raw)) if cast is int else float(raw)
    except ValueError:
        raise FilterError(key, f"{raw!r} is not a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(key, f"{raw!r} is not a finite number")
    return value


def parse_filter(query: Mapping[str, str], spec: HyperparameterSpec) -> TrialFilter:
    out = TrialFilter()
    names = {p.name: p for p in spec.params}
    for key, value in query.items():
        raw = value.strip()
        if raw == "" or key in ("page", "sort", "trials", "format", "compare", "since", "x", "y"):
            continue
        try:
            if key == "state":
                if raw not in {s.value for s in TrialState}:
                    raise FilterError(key, f"unknown state {raw!r}")
                out.q &= Q(state=raw)
            elif key in _NUMERIC_FILTERS:
                lookup, cast = _NUMERIC_FILTERS[key]
                out.q &= Q(**{lookup: _number(key, raw, cast)})
                if key.startswith("metric"):
                    out.q &= Q(state=TrialState.SUCCEEDED)
            elif key.startswith("param."):
                out.q &= _param_q(key, raw, names)
            else:
                raise FilterError(key, f"unknown filter {key!r}")
            out.active[key] = raw
        except FilterError as exc:
            out.errors[exc.field] = str(exc)
    sort = query.get("sort", "")
    if sort and sort.lstrip("-") not in _sort_keys(spec):
        out.errors["sort"] = f"cannot sort by {sort!r}"
    else:
        out.sort = sort
    return out


def _param_q(key: str, raw: str, names: Mapping[str, ParameterSpec]) -> Q:
    rest = key[len("param."):]
    name, _, op = rest.partition("__")
    p = names.get(name)
    if p is None:
        raise FilterError(key, f"no parameter {name!r} in this job")
    ptype = p.type
    if op in ("gte", "lte"):
        if ptype == "CATEGORICAL":
            raise FilterError(key, f"{name} is categorical: use param.{name}=<value>")
        return Q(**{f"params__{name}__{op}": _number(key, raw, float)})
    if op:
        raise FilterError(key, f"unknown comparison {op!r} (use __gte, __lte or =)")
    if ptype == "CATEGORICAL":
        return Q(**{f"params__{name}": raw})
    return Q(**{f"params__{name}": _number(key, raw, int if ptype == "INTEGER" else float)})


def _sort_keys(spec: HyperparameterSpec) -> set[str]:
    return {"trial", "metric", "step", "duration", *(f"param.{p.name}" for p in spec.params)}


def with_duration(qs: QuerySet[Trial]) -> QuerySet[Trial]:
    """Annotate wall time; a running trial's clock is still running."""
    return qs.annotate(duration=ExpressionWrapper(
        Coalesce(F("end_time"), Now()) - F("start_time"), output_field=DurationField()))


def filtered_trials(job: Job, flt: TrialFilter) -> QuerySet[Trial]:
    qs = with_duration(job.trials.filter(flt.q))
    sort = flt.sort or "-metric"
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "metric":  # "-metric" means best first whatever the goal
        return qs.order_by(*metric_order(maximize=job.maximize, best_first=desc))
    field_name = {"trial": "trial_id", "step": "final_step", "duration": "duration"}.get(
        key, f"params__{key[len('param.'):]}")
    expr = F(field_name).desc(nulls_last=True) if desc else F(field_name).asc(nulls_last=True)
    return qs.order_by(expr, "trial_id")


@dataclass(frozen=True)
class Best:
    value: float | None
    tied: frozenset[int]  # trial ids whose metric ties with the best
    recommended: int | None  # trial id


def best_trials(job: Job) -> Best:
    ok = job.trials.filter(state=TrialState.SUCCEEDED, final_value__isnull=False)
    top = ok.order_by(*metric_order(maximize=job.maximize)).values_list(
        "final_value", flat=True).first()
    if top is None:
        return Best(None, frozenset(), None)
    tol = max(TIE_ABSOLUTE_TOLERANCE, abs(top) * TIE_RELATIVE_TOLERANCE)
    tied = with_duration(ok.filter(final_value__gte=top - tol, final_value__lte=top + tol))
    ordered = list(tied.order_by(  # type: ignore[misc]  # "duration" is annotated
        "duration", F("final_step").asc(nulls_last=True), "trial_id",
    ).values_list("trial_id", flat=True))
    return Best(top, frozenset(ordered), ordered[0])
