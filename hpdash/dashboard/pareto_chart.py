"""The Pareto-front chart of a study with several metrics: every succeeded trial matching the
page's filter at (first metric, second metric), the Pareto-optimal ones highlighted (joined as a
staircase when there are two metrics; with more, the front is over all of them and the chart
shows the first two)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from hpdash.core.spec import HyperparameterSpec
from hpdash.core.states import TrialState
from hpdash.dashboard.charts import ACCENT, BEST, _layout, empty_figure, plain
from hpdash.models import Trial
from hpdash.selectors.objectives import final_values

TITLE = "Pareto front"


def pareto_figure(matching: QuerySet[Trial], spec: HyperparameterSpec,
                  front: frozenset[int], message: str) -> dict[str, Any]:
    succeeded = matching.filter(state=TrialState.SUCCEEDED, final_value__isnull=False)
    done = dict(succeeded.values_list("pk", "trial_id"))
    values = final_values(spec=spec, trials=succeeded)
    rows = sorted((done[pk], v[0], v[1]) for pk, v in values.items()
                  if v[0] is not None and v[1] is not None)
    if not rows:
        return empty_figure(TITLE, height=380, message=message)
    x_tag, y_tag = spec.metrics[0].tag, spec.metrics[1].tag
    hover = ("trial %{text}<br>" + plain(x_tag) + " %{x}<br>" + plain(y_tag)
             + " %{y}<extra></extra>")
    others = [r for r in rows if r[0] not in front]
    best = sorted((r for r in rows if r[0] in front), key=lambda r: (r[1], r[2]))
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "markers", "name": "dominated",
         "x": [r[1] for r in others], "y": [r[2] for r in others],
         "text": [str(r[0]) for r in others], "hovertemplate": hover,
         "marker": {"color": ACCENT, "size": 7, "opacity": 0.5}},
        {"type": "scatter", "mode": "lines+markers" if len(spec.metrics) == 2 else "markers",
         "name": "Pareto-optimal", "x": [r[1] for r in best], "y": [r[2] for r in best],
         "text": [str(r[0]) for r in best], "hovertemplate": hover,
         # the staircase bounding what the front dominates
         "line": {"color": BEST, "shape": "vh" if spec.metrics[0].maximize else "hv",
                  "width": 1.5},
         "marker": {"color": BEST, "size": 9}},
    ]
    note = "" if len(spec.metrics) == 2 else f" (front over all {len(spec.metrics)} metrics)"
    return {"data": data, "layout": _layout(
        f"{TITLE}: {len(best)} of {len(rows)} trials{note}", height=380,
        xaxis={"title": {"text": f"{x_tag} ({spec.metrics[0].goal.lower()})"}},
        yaxis={"title": {"text": f"{y_tag} ({spec.metrics[1].goal.lower()})"}},
        showlegend=True)}
