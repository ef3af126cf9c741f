"""The job page's filters and sort in its URL's query string, so a filtered view can be shared:

``state=SUCCEEDED`` · ``metric__gte=0.9`` · ``metric__lte=`` · ``step__gte=`` · ``step__lte=`` ·
``param.<name>__gte=`` · ``param.<name>__lte=`` · ``param.<name>=<value>`` (exact; categorical
values verbatim) · ``metric.<tag>__gte=`` · ``metric.<tag>__lte=`` (a multi-objective study's
other metrics) · ``sort=`` one of ``trial``, ``metric``, ``step``, ``duration``,
``param.<name>``, with ``-`` for descending (default: best first) · ``metric=<tag>``: which of
a multi-objective study's metrics the single-metric charts, the best trial and the table's
metric sort show (default: the first).

:func:`parse_filter` reads them into the selector's :class:`~hpdash.selectors.trial_table.
TrialFilter` and :class:`~hpdash.selectors.trial_table.TrialSort`, and
:meth:`TableQuery.querystring` writes them back for the page's links."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from hpdash.core.spec import HyperparameterSpec, ParameterSpec
from hpdash.core.states import TrialState
from hpdash.selectors.trial_table import (
    SORT_COLUMNS,
    MetricCondition,
    ParamCondition,
    TrialFilter,
    TrialSort,
)

# The page's other query keys: not filters.
PAGE_KEYS = frozenset({"page", "sort", "trials", "format", "compare", "since", "x", "y",
                       "metric"})
_NUMERIC_FILTERS = {"metric__gte": float, "metric__lte": float, "step__gte": int,
                    "step__lte": int}


class FilterError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


@dataclass
class TableQuery:
    """The parsed, validated filters and sort; ``active`` holds the filters that apply (by
    query key), ``given`` every filter value as typed (a wrong one stays in its field),
    ``errors`` what is wrong with a key and ``messages`` the same for people: named by the
    field's label, with ranges that cannot match (the dashboard shows them next to the filter
    instead of failing)."""

    where: TrialFilter = field(default_factory=TrialFilter)
    order: TrialSort | None = None
    sort: str = ""
    metric: int = 0  # the metric shown, by position in the spec's metrics
    metric_tag: str = ""  # as given in ``?metric=`` (kept in the page's links), if valid
    active: dict[str, str] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def querystring(self, **override: str) -> str:
        params = {**self.active, **({"sort": self.sort} if self.sort else {}),
                  **({"metric": self.metric_tag} if self.metric_tag else {}), **override}
        return urlencode({k: v for k, v in params.items() if v != ""})


def _number(key: str, raw: str, cast: type) -> float | int:
    try:
        value = float(raw)
    except ValueError:
        raise FilterError(key, f"{raw!r} is not a number") from None
    if not math.isfinite(value):  # int(inf) would raise OverflowError: a 500
        raise FilterError(key, f"{raw!r} is not a finite number")
    return int(value) if cast is int else value


def parse_filter(query: Mapping[str, str], spec: HyperparameterSpec) -> TableQuery:
    out = TableQuery()
    names = {p.name: p for p in spec.params}
    conditions: dict[str, Any] = {}
    params: list[ParamCondition] = []
    metrics: list[MetricCondition] = []
    for key, value in query.items():
        raw = value.strip()
        if raw == "" or key in PAGE_KEYS:
            continue
        try:
            if key == "state":
                if raw not in {s.value for s in TrialState}:
                    raise FilterError(key, f"unknown state {raw!r}")
                conditions["state"] = TrialState(raw)
            elif key in _NUMERIC_FILTERS:
                conditions[key.replace("__", "_")] = _number(key, raw, _NUMERIC_FILTERS[key])
            elif key.startswith("param."):
                params.append(_param_condition(key, raw, names))
            elif key.startswith("metric."):
                metrics.append(_metric_condition(key, raw, spec))
            else:
                raise FilterError(key, f"unknown filter {key!r}")
            out.active[key] = raw
        except FilterError as exc:
            out.errors[exc.key] = str(exc)
        out.given[key] = raw
    out.where = dataclasses.replace(TrialFilter(params=tuple(params), metrics=tuple(metrics)),
                                    **conditions)
    out.messages = [f"{label(key, spec)}: {why}" for key, why in out.errors.items()]
    out.messages += _empty_ranges(out.where, spec)
    _chosen_metric(out, query.get("metric", "").strip(), spec)
    sort = query.get("sort", "")
    column = sort.lstrip("-")
    param = column.removeprefix("param.") if column.startswith("param.") else None
    if sort and column not in SORT_COLUMNS and param not in names:
        out.errors["sort"] = f"cannot sort by {sort!r}"
    elif sort:
        out.sort = sort
        out.order = TrialSort(column=column, descending=sort.startswith("-"), param=param)
    return out


def _chosen_metric(out: TableQuery, tag: str, spec: HyperparameterSpec) -> None:
    """``?metric=<tag>``: one of the job's metrics, else an error naming them (the page then
    shows the first metric, and says why next to the metric picker)."""
    if not tag:
        return
    tags = [m.tag for m in spec.metrics]
    if tag in tags:
        out.metric, out.metric_tag = tags.index(tag), tag
        return
    out.errors["metric"] = (f"this job has no metric {tag!r} (its metrics: "
                            f"{', '.join(tags)}); showing {tags[0]}")


def label(key: str, spec: HyperparameterSpec) -> str:
    """The filter field's label on the page (``accuracy ≥`` for ``metric__gte``)."""
    name, _, op = key.partition("__")
    shown = {"metric": spec.metric_tag, "step": "step", "state": "State",
             "sort": "Sort"}.get(name, name.removeprefix("param.").removeprefix("metric."))
    return f"{shown} {_OPS[op]}" if op in _OPS else shown


_OPS = {"gte": "≥", "lte": "≤"}


def _empty_ranges(where: TrialFilter, spec: HyperparameterSpec) -> list[str]:
    """A hint for each range whose lower bound is above its upper one (it matches no trial)."""
    ranges: list[tuple[str, float | None, float | None]] = [
        (spec.metric_tag, where.metric_gte, where.metric_lte),
        ("step", where.step_gte, where.step_lte)]
    for j in dict.fromkeys(c.metric for c in where.metrics):
        lows = [c.value for c in where.metrics if c.metric == j and c.op == "gte"]
        highs = [c.value for c in where.metrics if c.metric == j and c.op == "lte"]
        ranges.append((spec.metrics[j].tag, max(lows, default=None), min(highs, default=None)))
    for name in dict.fromkeys(c.name for c in where.params):
        lows = [float(c.value) for c in where.params if c.name == name and c.op == "gte"]
        highs = [float(c.value) for c in where.params if c.name == name and c.op == "lte"]
        ranges.append((name, max(lows, default=None), min(highs, default=None)))
    return [f"{name} ≥ {low:g} is above {name} ≤ {high:g}: no trial can match; swap them"
            for name, low, high in ranges if low is not None and high is not None and low > high]


def _metric_condition(key: str, raw: str, spec: HyperparameterSpec) -> MetricCondition:
    """``metric.<tag>__gte`` / ``__lte``: a bound on another metric of a multi-objective
    study (the first metric is ``metric__gte``)."""
    tag, _, op = key[len("metric."):].rpartition("__")
    tags = [m.tag for m in spec.metrics]
    if tag not in tags[1:]:
        raise FilterError(key, f"no other metric {tag!r} in this job")
    if op not in ("gte", "lte"):
        raise FilterError(key, f"unknown comparison {op!r} (use __gte or __lte)")
    return MetricCondition(tags.index(tag), "gte" if op == "gte" else "lte",
                           _number(key, raw, float))


def _param_condition(key: str, raw: str, names: Mapping[str, ParameterSpec]) -> ParamCondition:
    rest = key[len("param."):]
    name, _, op = rest.partition("__")
    p = names.get(name)
    if p is None:
        raise FilterError(key, f"no parameter {name!r} in this job")
    ptype = p.type
    if op in ("gte", "lte"):
        if ptype == "CATEGORICAL":
            raise FilterError(key, f"{name} is categorical: use param.{name}=<value>")
        return ParamCondition(name, "gte" if op == "gte" else "lte", _number(key, raw, float))
    if op:
        raise FilterError(key, f"unknown comparison {op!r} (use __gte, __lte or =)")
    if ptype == "CATEGORICAL":
        return ParamCondition(name, "eq", raw)
    return ParamCondition(name, "eq", _number(key, raw, int if ptype == "INTEGER" else float))
