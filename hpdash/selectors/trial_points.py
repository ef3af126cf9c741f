"""The trials of a job page as its charts plot them: id, state, final metric and step, and
parameters decoded only when a chart shows them (a job can have 10,000 trials)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from hpdash.models import Trial
from hpdash.selectors.objectives import final_value_of
from hpdash.selectors.trials import ranked_value


@dataclass(frozen=True, eq=False)  # hashed by identity: sampled as a set
class Point:
    trial_id: int
    state: str
    value: float | None  # its ranked value: the final metric shown, SUCCEEDED trials only
    step: int | None
    params: Mapping[str, Any]
    stopped_early: bool


class LazyParams(Mapping[str, Any]):
    """A trial's parameters as stored (JSON text), decoded on first use: a figure shows at
    most a few thousand trials, so most of a large job's parameters are never decoded."""

    __slots__ = ("_data", "_raw")

    def __init__(self, raw: str | Mapping[str, Any]) -> None:
        self._raw = raw
        self._data: Mapping[str, Any] | None = None

    def _load(self) -> Mapping[str, Any]:
        if self._data is None:
            self._data = json.loads(self._raw) if isinstance(self._raw, str) else self._raw
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def trial_points(trials: QuerySet[Trial], metric: int = 0) -> list[Point]:
    """The trials as the charts plot them, in trial order, valued by the job's ``metric`` (by
    position: the dashboard's metric picker)."""
    rows = trials.annotate(shown=final_value_of(metric)).order_by("trial_id").values_list(
        "trial_id", "state", "shown", "final_step", Cast("params", TextField()),
        "is_stopped_early")
    return [Point(tid, st, ranked_value(st, v), step, LazyParams(params), early)
            for tid, st, v, step, params, early in rows]


@dataclass(frozen=True, eq=False)  # hashed by identity: sampled as a set
class Span:
    """When a trial ran: from ``start`` to ``end`` (None while it runs)."""

    trial_id: int
    state: str
    start: dt.datetime
    end: dt.datetime | None
    stopped_early: bool


def trial_spans(trials: QuerySet[Trial]) -> list[Span]:
    """The trials that have started, in trial order, as the timeline draws them."""
    rows = (trials.exclude(start_time=None).order_by("trial_id")
            .values_list("trial_id", "state", "start_time", "end_time", "is_stopped_early"))
    return [Span(tid, state, start, end, early)
            for tid, state, start, end, early in rows if start is not None]
