"""The job page's figures, assembled and cached: the charts of :mod:`hpdash.dashboard.charts`
and the insight of :mod:`hpdash.dashboard.insight` over the trials the filter matches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from hpdash.core.spec import HyperparameterSpec
from hpdash.dashboard import insight
from hpdash.dashboard.charts import (
    NO_FINISHED,
    NO_FINISHED_MATCH,
    NO_MATCH,
    NO_TRIALS,
    curve_trial_ids,
    curves_figure,
    empty_figure,
    figures_json,
    history_figure,
    parallel_figure,
    slice_figures,
    timeline_figure,
)
from hpdash.dashboard.pareto_chart import pareto_figure
from hpdash.models import Job, Trial
from hpdash.selectors.objectives import pareto_trial_ids
from hpdash.selectors.trial_points import trial_points, trial_spans
from hpdash.selectors.trial_table import TrialFilter, trials_matching
from hpdash.selectors.trials import job_curves


def job_figures(job: Job, spec: HyperparameterSpec, where: TrialFilter, best_ids: Iterable[int],
                recommended: int | None, *, active: Mapping[str, str] | None = None,
                metric: int = 0) -> dict[str, Any]:
    """Every figure of the job page, over exactly the trials matching ``where``: the best trial
    is marked only if it matches, and no match gives empty figures saying so.  A study with
    several metrics has its Pareto front too (:mod:`hpdash.dashboard.pareto_chart`), its
    Pareto-optimal trials ringed in the history, and its single-metric figures show its
    ``metric`` (by position; the page's metric picker) with
    that metric's goal; ``best_ids`` and ``recommended`` must be that metric's best."""
    matching = trials_matching(job, where)
    front = pareto_trial_ids(job) if spec.multi_objective else frozenset()
    out = _single_metric_figures(job, spec, where, best_ids, recommended, matching, active,
                                 metric, front)
    if spec.multi_objective:
        message = NO_MATCH if where != TrialFilter() else NO_FINISHED
        out["pareto"] = pareto_figure(matching, spec, front, message)
    return out


def _single_metric_figures(job: Job, spec: HyperparameterSpec, where: TrialFilter,  # noqa: PLR0917
                           best_ids: Iterable[int], recommended: int | None,
                           matching: QuerySet[Trial], active: Mapping[str, str] | None,
                           index: int, front: frozenset[int]) -> dict[str, Any]:
    points = trial_points(matching, index)
    timeline = timeline_figure(trial_spans(matching), timezone.now())
    shown = spec.metrics[index]
    metric, maximize = shown.tag, shown.maximize
    # The parallel coordinates' metric axis, brushed, filters this metric.
    brush_key = "metric" if index == 0 else f"metric.{metric}"
    shown_ids = {p.trial_id for p in points}
    tied = [i for i in best_ids if i in shown_ids]
    filtered = where != TrialFilter()
    if not points:
        return {**_empty_figures(spec, metric, NO_MATCH if filtered else NO_TRIALS),
                "timeline": empty_figure("Timeline", message=NO_MATCH if filtered else
                                         NO_TRIALS)}
    extra = [recommended] if recommended in shown_ids else []
    curve_ids = curve_trial_ids(points, maximize, extra)
    curves = job_curves(job=job, trial_ids=curve_ids, metric=index)
    if all(p.value is None for p in points):  # running or failed trials only: no metric yet
        return {**_empty_figures(spec, metric, NO_FINISHED_MATCH if filtered else NO_FINISHED),
                "curves": curves_figure(curves, [p.trial_id for p in points if p.stopped_early],
                                        metric, tied),
                "timeline": timeline}
    return {
        "history": history_figure(points, maximize, metric, tied, front),
        "parallel": parallel_figure(points, spec, maximize, metric, active, brush_key),
        "curves": curves_figure(curves, [p.trial_id for p in points if p.stopped_early],
                                metric, tied),
        "slices": slice_figures(points, spec, maximize, metric),
        "timeline": timeline,
        **_insight(points, spec, maximize, metric),
    }


def _empty_figures(spec: HyperparameterSpec, metric: str, message: str) -> dict[str, Any]:
    """Every figure, with no data and no axes: only ``message``."""
    return {"history": empty_figure("Optimization history", message=message),
            "parallel": empty_figure("Parallel coordinates", height=420, message=message),
            "curves": empty_figure("Learning curves", message=message),
            "slices": [empty_figure(f"{metric} vs {p.name}", height=280, message=message)
                       for p in spec.params],
            "importance": empty_figure("Parameter importance", height=280, message=message),
            **({"contour": empty_figure("Contour", height=420, message=message)}
               if len(spec.params) > 1 else {})}


def _insight(points: list[Any], spec: HyperparameterSpec, maximize: bool, metric: str
             ) -> dict[str, Any]:
    weights = insight.importances(points, spec, maximize)
    n = sum(1 for p in points if p.value is not None)
    pair = insight.default_pair(spec, weights)
    out: dict[str, Any] = {"importance": insight.importance_figure(weights, n)}
    if pair is not None:
        out["contour"] = insight.contour_figure(points, spec, maximize, metric, x_name=pair[0],
                                                y_name=pair[1])
    return out


def contour_json(job: Job, spec: HyperparameterSpec, where: TrialFilter, x_name: str,  # noqa: PLR0917
                 y_name: str, metric: int = 0) -> str:
    """The contour of two chosen parameters (the page's pickers ask for it), of the job's
    ``metric`` (by position)."""
    points = trial_points(trials_matching(job, where), metric)
    shown = spec.metrics[metric]
    return figures_json({"contour": insight.contour_figure(
        points, spec, shown.maximize, shown.tag, x_name=x_name, y_name=y_name)})


class _LRU:
    """A small thread-safe LRU cache (per process: gunicorn threads share it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


FIGURE_CACHE = _LRU(32)


def job_figures_json(job: Job, spec: HyperparameterSpec, *, where: TrialFilter,
                     active: Mapping[str, str],
                     best_ids: Iterable[int], recommended: int | None,
                     settled_version: Hashable | None, metric: int = 0) -> tuple[str, int]:
    """The job page's figures as script-safe JSON (:func:`figures_json`) and the number of
    slice charts.

    ``settled_version`` is None while the job's trials can still change; else it must change
    whenever they do (the view passes the job's state, update time, trial counts per state
    and its trials' latest heartbeat and end time): the result is then cached under it and
    the filter, so a finished job's page does not rebuild its figures on every view, and
    any later change to its trials makes a new key.  ``metric``: as :func:`job_figures`."""
    key = (job.pk, job.create_time, tuple(sorted(active.items())), metric, settled_version)
    if settled_version is not None:
        hit = FIGURE_CACHE.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    figures = job_figures(job, spec, where, best_ids, recommended, active=active, metric=metric)
    out = (figures_json(figures), len(figures["slices"]))
    if settled_version is not None:
        FIGURE_CACHE.put(key, out)
    return out
