"""Plotly figures for the job and trial pages, in two steps (as optuna does): the selectors
*gather* the data from the database (:mod:`hpdash.selectors.trial_points`,
:func:`hpdash.selectors.trials.job_curves`), then these *draw* plain Plotly figure dicts from
plain values (``*_figure``, pure and unit-tested).  Figures are dicts rather than
``plotly.graph_objects`` because validating objects costs more than the whole page at 10,000
trials.

Every figure stays small whatever the job's size: at most ``MAX_POINTS`` markers per scatter,
``MAX_BARS`` bars on the timeline, ``MAX_LINES`` lines in the parallel-coordinates plot and
``MAX_CURVES`` learning curves of at most ``MAX_CURVE_POINTS`` points each.  Sampling always
keeps the points that matter (the best trials, every improvement of the best-so-far line) and
fills the rest evenly, reproducibly.

Cost at 10,000 trials: gathering reads every trial's id, state and metric but decodes the
parameters (JSON) only of the trials a figure shows; the figures of a job whose trials have
all settled are kept, serialized, in a small per-process cache (:mod:`hpdash.dashboard.figures`).
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import math
import random
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from hpdash.core.spec import HyperparameterSpec
from hpdash.core.spec.space import format_value
from hpdash.core.states import TrialState
from hpdash.dashboard.numbers import display_number
from hpdash.selectors.trial_points import Point, Span
from hpdash.selectors.trials import best_first_key

MAX_POINTS = 2000
MAX_BARS = 500  # the timeline's: ~1 px each at its 600 px; 2,000 took 4x as long to draw
MAX_LINES = 1000
MAX_CURVES = 25
MAX_CURVE_POINTS = 200
ACCENT = "#2563eb"
BEST = "#dc2626"
MUTED = "#94a3b8"


def _rank_key(maximize: bool) -> Callable[[Point], tuple[int, float, int]]:
    # A point's value is already its ranked value (None unless SUCCEEDED).
    return lambda p: best_first_key(p.value, p.trial_id, maximize=maximize)


def _rank(points: Sequence[Point], maximize: bool) -> list[Point]:
    """The points that have a value, best first."""
    scored = [p for p in points if p.value is not None and math.isfinite(p.value)]
    return sorted(scored, key=_rank_key(maximize))


def sample(items: Sequence[Any], limit: int, keep: Iterable[Any] = (), seed: int = 0
           ) -> list[Any]:
    """At most ``limit`` items (in their original order): all of ``keep`` first, the rest drawn
    evenly at random."""
    if len(items) <= limit:
        return list(items)
    kept = set(keep)
    rest = [i for i in items if i not in kept]
    room = max(limit - len(kept), 0)
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample of points, not a secret
    chosen = kept | set(rng.sample(rest, min(room, len(rest))))
    return [i for i in items if i in chosen]


def best_so_far(points: Sequence[Point], maximize: bool) -> tuple[list[int], list[float]]:
    xs: list[int] = []
    ys: list[float] = []
    best: float | None = None
    for p in sorted(points, key=lambda p: p.trial_id):
        if p.value is None:
            continue
        if best is None or (p.value > best if maximize else p.value < best):
            best = p.value
            xs.append(p.trial_id)
            ys.append(best)
    if xs and points:
        last = max(p.trial_id for p in points)
        if last != xs[-1]:
            xs.append(last)
            ys.append(ys[-1])
    return xs, ys


def log_ticks(lo: float, hi: float) -> dict[str, Any]:
    """Ticks for an axis whose values are log10 of a parameter: placed at 1, 2 and 5 times
    each power of ten in [lo, hi] and labelled in real units (``0.001``, not ``-3``)."""
    ticks: list[float] = []
    for exp in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        for m in (1, 2, 5):
            v = math.log10(m) + exp
            if lo - 1e-9 <= v <= hi + 1e-9:
                ticks.append(v)
    if len(ticks) > 7:  # a wide range: powers of ten only
        ticks = [v for v in ticks if abs(v - round(v)) < 1e-9]
    return {"tickvals": ticks, "ticktext": [display_number(10 ** v) for v in ticks]}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title, "font": {"size": 14}}, "margin": {"l": 60, "r": 20,
            "t": 40, "b": 50}, "height": 340, "template": "plotly_white", **extra}


def history_figure(points: Sequence[Point], maximize: bool, metric: str,
                   best_ids: Iterable[int] = (), front: Collection[int] = ()
                   ) -> dict[str, Any]:
    """Each trial's ``metric`` by trial id with the best so far; ``front``: a study with
    several metrics marks its Pareto-optimal trials (ringed, always shown)."""
    scored = [p for p in points if p.value is not None]
    bx, by = best_so_far(points, maximize)
    wanted = set(bx) | set(best_ids) | set(front)
    keep = {p for p in scored if p.trial_id in wanted}
    shown = sample(scored, MAX_POINTS, keep)
    shown_note = f", {len(shown)} shown" if len(shown) < len(scored) else ""
    optimal = [p for p in shown if p.trial_id in front]
    return {
        "data": [
            {"type": "scattergl" if len(shown) > 500 else "scatter", "mode": "markers",
             "name": "trial", "x": [p.trial_id for p in shown], "y": [p.value for p in shown],
             "marker": {"color": ACCENT, "size": 6, "opacity": 0.7},
             "hovertemplate": "trial %{x}<br>" + plain(metric) + " %{y}<extra></extra>"},
            {"type": "scatter", "mode": "lines", "name": "best so far", "x": bx, "y": by,
             "line": {"color": BEST, "shape": "hv", "width": 2}},
            *([{"type": "scatter", "mode": "markers", "name": "Pareto-optimal",
                "x": [p.trial_id for p in optimal], "y": [p.value for p in optimal],
                "marker": {"color": "rgba(0,0,0,0)", "size": 11,
                           "line": {"color": BEST, "width": 2}},
                "hovertemplate": "trial %{x} (Pareto-optimal)<br>" + plain(metric)
                + " %{y}<extra></extra>"}] if optimal else []),
        ],
        "layout": _layout(f"Optimization history ({len(scored)} trials{shown_note})",
                          xaxis={"title": {"text": "trial"}}, yaxis={"title": {"text": metric}}),
    }


# The states' colours on the timeline (the page's state badges use the same hues).
STATE_COLORS = {"SUCCEEDED": "#16a34a", "FAILED": "#dc2626", "RUNNING": ACCENT,
                "CANCELLED": "#d97706", "QUEUED": MUTED}


def timeline_figure(spans: Sequence[Span], now: dt.datetime) -> dict[str, Any]:
    """Trials as bars over wall time, one colour per state (stopped early: hatched): shows how
    many ran at once, the stragglers, the early stops and the gaps where nothing ran.  A
    running trial's bar ends at ``now``."""
    if not spans:
        return empty_figure("Timeline", message="No trial has started yet")
    running = [s for s in spans if s.end is None]
    shown = sample(spans, MAX_BARS, running)
    data = []
    for state, color in STATE_COLORS.items():
        group = [s for s in shown if s.state == state]
        if not group:
            continue
        ms = [max(((s.end or now) - s.start).total_seconds(), 0.0) * 1000 for s in group]
        data.append({
            "type": "bar", "orientation": "h", "name": state.lower(),
            "y": [s.trial_id for s in group], "x": ms,
            "base": [s.start.isoformat() for s in group],
            "customdata": [round(m / 1000, 1) for m in ms],
            "marker": {"color": color,
                       "pattern": {"shape": ["/" if s.stopped_early else "" for s in group]}},
            "hovertemplate": "trial %{y}: " + state.lower() + ", %{customdata} s<extra></extra>"})
    note = f", {len(shown)} shown" if len(shown) < len(spans) else ""
    return {"data": data, "layout": _layout(
        f"Timeline ({len(spans)} trials{note}; hatched: stopped early)",
        height=max(260, min(600, 14 * len(shown) + 120)), barmode="overlay",
        xaxis={"type": "date", "title": {"text": "wall time"}},
        yaxis={"title": {"text": "trial"}, "autorange": "reversed"})}


def study_history_figure(groups: Sequence[tuple[str, Sequence[Point]]], maximize: bool,
                         metric: str) -> dict[str, Any]:
    """A study's optimization history: every trial of its jobs in the order they ran (job by
    job, trial by trial), one colour per job, and the best so far across all of them."""
    data: list[dict[str, Any]] = []
    xs: list[int] = []
    best_x: list[int] = []
    best_y: list[float] = []
    best: float | None = None
    n = 0
    for job_id, points in groups:
        scored: list[tuple[int, Point]] = []
        for p in sorted(points, key=lambda p: p.trial_id):
            n += 1
            if p.value is None:
                continue
            scored.append((n, p))
            if best is None or (p.value > best if maximize else p.value < best):
                best = p.value
                best_x.append(n)
                best_y.append(best)
        xs += [i for i, _ in scored]
        data.append({"type": "scatter", "mode": "markers", "name": job_id,
                     "x": [i for i, _ in scored], "y": [p.value for _, p in scored],
                     "customdata": [p.trial_id for _, p in scored],
                     "marker": {"size": 6, "opacity": 0.75},
                     "hovertemplate": plain(job_id) + " trial %{customdata}<br>" + plain(metric)
                     + " %{y}<extra></extra>"})
    if not xs:
        return empty_figure("Optimization history of the study", message=NO_FINISHED)
    if best_x and best_x[-1] != n:
        best_x.append(n)
        best_y.append(best_y[-1])
    data.append({"type": "scatter", "mode": "lines", "name": "best so far", "x": best_x,
                 "y": best_y, "line": {"color": BEST, "shape": "hv", "width": 2}})
    return {"data": data, "layout": _layout(
        f"Optimization history of the study ({len(groups)} jobs, {n} trials)",
        xaxis={"title": {"text": "trial, in the order the study ran them"}},
        yaxis={"title": {"text": metric}})}


def edf_figure(groups: Sequence[tuple[str, Sequence[Point]]], maximize: bool, metric: str
               ) -> dict[str, Any]:
    """The empirical distribution of each job's final metrics (optuna's EDF plot): the share
    of a job's succeeded trials at or below each value.  A job whose curve lies further in the
    goal's direction found good values more often, not only once."""
    data = []
    for job_id, points in groups:
        values = sorted(p.value for p in points if p.value is not None)
        if not values:
            continue
        shares = [(i + 1) / len(values) for i in range(len(values))]
        data.append({"type": "scatter", "mode": "lines", "name": job_id, "x": values,
                     "y": shares, "line": {"shape": "hv"},
                     "hovertemplate": plain(job_id) + ": %{y:.0%} of trials ≤ %{x}"
                     "<extra></extra>"})
    if not data:
        return empty_figure("Distribution of results", message=NO_FINISHED)
    better = "right" if maximize else "left"
    return {"data": data, "layout": _layout(
        f"Distribution of results per job (further {better} is better)",
        xaxis={"title": {"text": metric}},
        yaxis={"title": {"text": "share of the job's trials ≤ value"}, "range": [0, 1.02]})}


def parallel_figure(points: Sequence[Point], spec: HyperparameterSpec, maximize: bool,  # noqa: PLR0917
                    metric: str, active: Mapping[str, str] | None = None,
                    metric_key: str = "metric") -> dict[str, Any]:
    """Parallel coordinates; ``layout.meta.brush`` tells the page which filter each axis
    sets when brushed, and the filter in ``active`` (the page's query) shows as brushes.
    ``metric_key``: the filter of the metric's axis (``metric.<tag>`` for a multi-objective
    study's other metric shown)."""
    ranked = _rank(points, maximize)
    shown = sample(ranked, MAX_LINES, ranked[: MAX_LINES // 5])
    active = active or {}
    dims: list[dict[str, Any]] = []
    brush: list[dict[str, Any]] = []
    for p in spec.params:
        key = f"param.{p.name}"
        if p.type == "CATEGORICAL":
            cats = list(p.categorical_values)
            dim: dict[str, Any] = {
                "label": p.name, "tickvals": list(range(len(cats))), "ticktext": cats,
                "values": [cats.index(t.params[p.name]) if t.params.get(p.name) in cats
                           else None for t in shown]}
            if active.get(key) in cats:
                i = cats.index(active[key])
                dim["constraintrange"] = [i - 0.25, i + 0.25]
            dims.append(dim)
            brush.append({"key": key, "kind": "category", "categories": cats})
            continue
        values = [t.params.get(p.name) for t in shown]
        log = bool(p.is_log and values
                   and all(isinstance(v, (int, float)) and v > 0 for v in values))
        if log:
            logs = [math.log10(v) for v in values]
            dim = {"label": f"{p.name} (log scale)", "values": logs,
                   **log_ticks(min(logs), max(logs))}
        else:
            dim = {"label": p.name, "values": values}
        _brushed(dim, active, key, log)
        dims.append(dim)
        brush.append({"key": key, "kind": "log" if log else "number"})
    metric_dim = {"label": metric, "values": [t.value for t in shown]}
    _brushed(metric_dim, active, metric_key, False)
    dims.append(metric_dim)
    brush.append({"key": metric_key, "kind": "number"})
    return {
        "data": [{"type": "parcoords", "dimensions": dims,
                  "line": {"color": [t.value for t in shown], "colorscale": "Viridis",
                           "reversescale": not maximize, "showscale": True}}],
        "layout": _layout(f"Parallel coordinates ({len(shown)} of {len(ranked)} trials; drag "
                          "along an axis to filter)",
                          margin={"l": 70, "r": 70, "t": 90, "b": 30}, height=420,
                          meta={"brush": brush}),
    }


def _brushed(dim: dict[str, Any], active: Mapping[str, str], key: str, log: bool) -> None:
    """Show the filter's ``key__gte``/``key__lte`` as the axis' brushed range."""
    lo, hi = active.get(f"{key}__gte"), active.get(f"{key}__lte")
    if lo is None and hi is None:
        return
    values = [v for v in dim["values"] if isinstance(v, (int, float))]
    if not values:
        return
    try:
        a = float(lo) if lo is not None else None
        b = float(hi) if hi is not None else None
    except ValueError:
        return
    if log:
        a = math.log10(a) if a is not None and a > 0 else None
        b = math.log10(b) if b is not None and b > 0 else None
    dim["constraintrange"] = [min(values) if a is None else a, max(values) if b is None else b]


def slice_figures(points: Sequence[Point], spec: HyperparameterSpec, maximize: bool,
                  metric: str) -> list[dict[str, Any]]:
    ranked = _rank(points, maximize)
    shown = sample(ranked, MAX_POINTS, ranked[:100])
    figures = []
    for p in spec.params:
        xs = [format_value(p, t.params[p.name])
              if p.type == "CATEGORICAL" and p.name in t.params else t.params.get(p.name)
              for t in shown]  # an inactive conditional parameter: None, no point
        xaxis: dict[str, Any] = {"title": {"text": p.name}}
        logs = [math.log10(v) for v in xs if isinstance(v, (int, float)) and v > 0]
        if p.is_log and logs:  # a log axis, ticks in real units (0.001, not 1m or -3)
            ticks = log_ticks(min(logs), max(logs))
            xaxis.update(type="log", tickvals=[10 ** v for v in ticks["tickvals"]],
                         ticktext=ticks["ticktext"])
        elif p.is_log:
            xaxis["type"] = "log"
        elif p.type == "CATEGORICAL":
            xaxis["type"] = "category"
        figures.append({
            "data": [{"type": "scatter", "mode": "markers", "x": xs,
                      "y": [t.value for t in shown], "text": [f"trial {t.trial_id}" for t in shown],
                      "marker": {"color": ACCENT, "size": 6, "opacity": 0.6},
                      "hovertemplate": "%{text}<br>" + plain(p.name) + " %{x}<br>" + plain(metric)
                      + " %{y}<extra></extra>"}],
            "layout": _layout(f"{metric} vs {p.name}", xaxis=xaxis,
                              yaxis={"title": {"text": metric}}, height=280),
        })
    return figures


def curve_trial_ids(points: Sequence[Point], maximize: bool, extra: Iterable[int] = ()
                    ) -> list[int]:
    """Which trials' learning curves to draw: the requested ones, the best, the running ones,
    then the most recent — at most ``MAX_CURVES``."""
    scored = [p for p in points if p.value is not None and math.isfinite(p.value)]
    # heapq.nsmallest is sorted(...)[:n], without sorting every trial; MAX_CURVES most recent
    # are enough, since fewer than MAX_CURVES ids can be chosen before them.
    best = heapq.nsmallest(10, scored, key=_rank_key(maximize))
    recent = heapq.nlargest(MAX_CURVES, points, key=lambda p: p.trial_id)
    chosen: list[int] = []
    for tid in [*extra, *(p.trial_id for p in best),
                *(p.trial_id for p in points if p.state == TrialState.RUNNING),
                *(p.trial_id for p in recent)]:
        if tid not in chosen:
            chosen.append(tid)
        if len(chosen) >= MAX_CURVES:
            break
    return chosen


def curves_figure(curves: dict[int, list[tuple[int, float]]], stopped: Iterable[int],
                  metric: str, best: Iterable[int] = (), title: str = "Learning curves"
                  ) -> dict[str, Any]:
    stopped_set, best_set = set(stopped), set(best)
    data = []
    for tid, curve in sorted(curves.items()):
        if not curve:
            continue
        pts = curve
        if len(curve) > MAX_CURVE_POINTS:
            stride = math.ceil(len(curve) / MAX_CURVE_POINTS)
            pts = curve[::stride] + ([curve[-1]] if (len(curve) - 1) % stride else [])
        early = tid in stopped_set
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": f"trial {tid}"
            + (" (stopped early)" if early else ""),
            "x": [s for s, _ in pts], "y": [v for _, v in pts],
            "line": {"dash": "dot" if early else "solid",
                     "width": 3 if tid in best_set else 1.5,
                     **({"color": BEST} if tid in best_set else {})},
            "marker": {"size": [4] * (len(pts) - 1) + [10 if early else 4],
                       "symbol": ["circle"] * (len(pts) - 1) + ["x" if early else "circle"]},
        })
    if not data:
        return empty_figure(title, message=NO_MEASUREMENTS)
    return {"data": data, "layout": _layout(title, xaxis={"title": {"text": "step"}},
                                            yaxis={"title": {"text": metric}})}


NO_MATCH = "No trials match the filter"
NO_TRIALS = "No trials yet"
NO_FINISHED = "No finished trials yet"
NO_FINISHED_MATCH = "No finished trials match the filter"
NO_MEASUREMENTS = "No measurements yet"


def empty_figure(title: str, height: int = 340, message: str = NO_MATCH) -> dict[str, Any]:
    """A figure with no data and no axes, only ``message`` (Plotly would draw empty axes
    from -1 to 6)."""
    hidden = {"visible": False}
    return {"data": [], "layout": _layout(title, height=height, xaxis=hidden, yaxis=hidden,
                                          annotations=[{"text": message, "showarrow": False,
                                                        "font": {"size": 15},
                                                        "xref": "paper", "yref": "paper",
                                                        "x": 0.5, "y": 0.5}])}


def plain(text: str) -> str:
    """``text`` as Plotly shows it literally: Plotly renders a subset of HTML (``<a>``, ``<b>``,
    ``<br>``) in labels, titles and hover text, and decodes these entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEMPLATES = frozenset({"hovertemplate", "texttemplate"})  # ours: their tags are meant


def as_text(value: Any) -> Any:
    """Every string of a figure made plain text (categorical values, parameter names, the
    metric tag come from users), except the hover and text templates hpdash writes, which
    escape the user's parts themselves."""
    if isinstance(value, str):
        return plain(value) if ("<" in value or ">" in value or "&" in value) else value
    if isinstance(value, dict):
        return {k: v if k in _TEMPLATES else as_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_text(v) for v in value]
    return value


def figures_json(figures: dict[str, Any]) -> str:
    """The figures as JSON that is safe inside a ``<script type="application/json">`` (as
    ``json_script`` escapes it, four times faster on large figures: ``str.translate`` with a
    dict is slow on a few hundred KB; three ``replace`` calls are not), every user string in
    them shown as text by Plotly, never as HTML."""
    return (json.dumps(as_text(figures), cls=DjangoJSONEncoder)
            .replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026"))
