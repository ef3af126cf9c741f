"""Insight beyond the table, as optuna-dashboard and W&B give it: which parameters matter
(importance) and how the metric varies over any two of them (contour).  Gather, then draw, as
in :mod:`hpdash.dashboard.charts`; both work on the trials the page's filter matches.

**Importance** is scikit-learn's random-forest importance — optuna's
``MeanDecreaseImpurityImportanceEvaluator``: a ``RandomForestRegressor`` (32 trees, depth ≤ 8,
fixed seed) is fitted to predict the metric from the parameters of the SUCCEEDED trials (at most
``FIT_POINTS``, the best 100 always kept); a parameter's importance is how much, on average
over the trees, the splits on it reduce the squared error, normalised to sum to 1.  Inputs:
numeric parameters as they are (log10 for log-scaled ones; trees only care about order),
categorical ones one-hot, their columns' importances summed back to the parameter.

**Contour**: the mean metric of the matching trials in each cell of a 20 × 20 grid over the two
parameters (log10 axes for log-scaled ones, labelled in real units; categories at 0, 1, …),
empty cells filled by Plotly from their neighbours, with the trials themselves drawn on top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sklearn.ensemble import RandomForestRegressor

from hpdash.core.spec import HyperparameterSpec, ParameterSpec
from hpdash.dashboard.charts import (
    ACCENT,
    NO_MATCH,
    _layout,
    _rank,
    empty_figure,
    log_ticks,
    sample,
)
from hpdash.selectors.trial_points import Point

MIN_TRIALS = 5
GRID = 20
METHOD = ("scikit-learn random-forest importance (mean decrease in impurity, as optuna's "
          "MeanDecreaseImpurityImportanceEvaluator): 32 trees fitted to predict the metric from "
          "the parameters of the succeeded trials shown; how much the splits on a parameter "
          "reduce the error, normalised to sum to 1")


FIT_POINTS = 800  # importance and contour use at most this many trials (the best 100 kept)


def _scored(points: Sequence[Point], maximize: bool) -> list[Point]:
    ranked = _rank(points, maximize)
    return sample(ranked, FIT_POINTS, ranked[:100])


def _column(p: ParameterSpec, value: Any) -> float:
    v = float(value)
    return math.log10(v) if p.is_log and v > 0 else v


def _inactive(p: ParameterSpec) -> float:
    """The column value of a numeric parameter a trial did not have (a conditional child whose
    parent took another value): below its whole range, so that a split can set it apart."""
    ends = ([p.min_value, p.max_value] if p.min_value is not None and p.max_value is not None
            else list(p.discrete_values))
    cols = [_column(p, v) for v in ends] or [0.0]
    return min(cols) - (max(cols) - min(cols)) - 1.0


def importances(points: Sequence[Point], spec: HyperparameterSpec, maximize: bool
                ) -> dict[str, float] | None:
    """{parameter: importance} summing to 1, or None with fewer than ``MIN_TRIALS`` trials.
    A trial without a parameter (inactive: a conditional child of a parent that took another
    value) counts, the parameter's column set apart (no category, or a value below its
    range): leaving such trials out left a study with conditional parameters without any."""
    shown = _scored(points, maximize)
    if len(shown) < MIN_TRIALS or not spec.params:
        return None
    columns: list[tuple[str, list[float]]] = []
    for p in spec.params:
        if p.type == "CATEGORICAL":
            columns += [(p.name, [1.0 if t.params.get(p.name) == c else 0.0 for t in shown])
                        for c in p.categorical_values]
        else:
            unset = _inactive(p)
            columns.append((p.name, [_column(p, t.params[p.name]) if p.name in t.params
                                     else unset for t in shown]))
    x = [[col[i] for _, col in columns] for i in range(len(shown))]
    y = [t.value for t in shown]
    forest = RandomForestRegressor(n_estimators=32, max_depth=8, random_state=0, n_jobs=1)
    forest.fit(x, y)
    out = {p.name: 0.0 for p in spec.params}
    for (name, _), weight in zip(columns, forest.feature_importances_, strict=True):
        out[name] += float(weight)
    total = sum(out.values())
    return {k: (v / total if total > 0 else 0.0) for k, v in out.items()}


def importance_figure(weights: dict[str, float] | None, n_trials: int) -> dict[str, Any]:
    title = "Parameter importance"
    if weights is None:
        message = NO_MATCH if n_trials == 0 else (
            f"Needs at least {MIN_TRIALS} succeeded trials")
        return empty_figure(title, height=280, message=message)
    names = sorted(weights, key=lambda k: weights[k])
    return {
        "data": [{"type": "bar", "orientation": "h", "x": [weights[n] for n in names],
                  "y": names, "marker": {"color": ACCENT},
                  "text": [f"{weights[n]:.0%}" for n in names], "textposition": "auto",
                  "hovertemplate": "%{y}: %{x:.3f}<extra></extra>"}],
        "layout": _layout(f"{title} ({n_trials} trials; random forest, mean decrease in "
                          "impurity)", height=max(200, 80 + 36 * len(names)),
                          xaxis={"title": {"text": "share of the metric's explained variance"},
                                 "tickformat": ".0%", "rangemode": "tozero"},
                          margin={"l": 120, "r": 20, "t": 40, "b": 50}),
    }


def _axis_values(p: ParameterSpec, shown: Sequence[Point]) -> tuple[list[float], dict[str, Any]]:
    if p.type == "CATEGORICAL":
        cats = list(p.categorical_values)
        return ([float(cats.index(t.params[p.name])) for t in shown],
                {"title": {"text": p.name}, "tickvals": list(range(len(cats))),
                 "ticktext": cats})
    values = [_column(p, t.params[p.name]) for t in shown]
    axis: dict[str, Any] = {"title": {"text": p.name}}
    if p.is_log and values:
        axis.update(log_ticks(min(values), max(values)))
    return values, axis


def contour_figure(points: Sequence[Point], spec: HyperparameterSpec, maximize: bool,
                   metric: str, *, x_name: str, y_name: str) -> dict[str, Any]:
    by_name = {p.name: p for p in spec.params}
    title = f"{metric} over {x_name} and {y_name}"
    px, py = by_name.get(x_name), by_name.get(y_name)
    if px is None or py is None or px is py:
        return empty_figure(title, message="Pick two different parameters")
    shown = [t for t in _scored(points, maximize) if x_name in t.params and y_name in t.params]
    if not shown:
        return empty_figure(title)
    xs, xaxis = _axis_values(px, shown)
    ys, yaxis = _axis_values(py, shown)
    zs = [t.value for t in shown if t.value is not None]  # all: _scored keeps scored ones
    data: list[dict[str, Any]] = []
    grid = _interpolate(xs, ys, zs)
    if grid is not None:
        gx, gy, gz = grid
        data.append({"type": "contour", "x": gx, "y": gy, "z": gz, "colorscale": "Viridis",
                     "reversescale": not maximize, "connectgaps": True,
                     "colorbar": {"title": {"text": metric}}, "hoverinfo": "skip",
                     "contours": {"coloring": "heatmap"}, "opacity": 0.85})
    data.append({"type": "scatter", "mode": "markers", "x": xs, "y": ys,
                 "text": [f"trial {t.trial_id}: {t.value:.4g}" for t in shown],
                 "hovertemplate": "%{text}<extra></extra>",
                 "marker": {"color": "#fff", "size": 5, "line": {"color": "#111", "width": 1}}})
    return {"data": data, "layout": _layout(f"{title} ({len(shown)} trials)", height=420,
                                            xaxis=xaxis, yaxis=yaxis,
                                            meta={"x": x_name, "y": y_name})}


def _interpolate(xs: list[float], ys: list[float], zs: list[float]
                 ) -> tuple[list[float], list[float], list[list[float | None]]] | None:
    """The mean metric of the trials nearest each node of a ``GRID`` × ``GRID`` grid (None
    where a node has none; Plotly fills those gaps from their neighbours). The outer nodes sit
    on the smallest and largest values, so the surface reaches every trial (with nodes at cell
    centres it stopped half a cell short, and trials at the edge of the range, often the
    best ones, were drawn outside it). Binning costs O(n) and never fails; scipy's
    triangulating ``griddata`` took from 50 ms to 9 s on the same 800 trials (integer and
    categorical axes put many points on one line)."""
    if len(zs) < 4 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sums = [[0.0] * GRID for _ in range(GRID)]
    counts = [[0] * GRID for _ in range(GRID)]
    for x, y, z in zip(xs, ys, zs, strict=True):
        i = round((y - y0) / (y1 - y0) * (GRID - 1))
        j = round((x - x0) / (x1 - x0) * (GRID - 1))
        sums[i][j] += z
        counts[i][j] += 1
    gz = [[sums[i][j] / counts[i][j] if counts[i][j] else None for j in range(GRID)]
          for i in range(GRID)]
    gx = [x0 + j * (x1 - x0) / (GRID - 1) for j in range(GRID - 1)] + [x1]
    gy = [y0 + i * (y1 - y0) / (GRID - 1) for i in range(GRID - 1)] + [y1]
    return gx, gy, gz


def default_pair(spec: HyperparameterSpec, weights: dict[str, float] | None
                 ) -> tuple[str, str] | None:
    """The two most important parameters (the first two without importances)."""
    names = [p.name for p in spec.params]
    if len(names) < 2:
        return None
    if weights:
        names.sort(key=lambda n: -weights.get(n, 0.0))
    return names[0], names[1]
