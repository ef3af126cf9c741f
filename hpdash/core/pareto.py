"""The Pareto front of a multi-objective study, and its hypervolume.  No Django here.

A point is one trial's final values, one per metric, with which way each metric is better.
A trial *dominates* another when it is at least as good on every metric and better on one;
the Pareto-optimal trials are those no other trial dominates.  That set is a multi-objective
study's "best": no single trial is best on every metric, so hpdash marks all of them (the API's
``:listOptimalTrials``, the dashboard's "Pareto" badge) and lets people choose.
"""

from __future__ import annotations

from collections.abc import Sequence

Values = Sequence[float]


def _as_minimised(point: Values, maximize: Sequence[bool]) -> tuple[float, ...]:
    return tuple(-v if up else v for v, up in zip(point, maximize, strict=True))


def dominates(a: Values, b: Values, maximize: Sequence[bool]) -> bool:
    """Whether ``a`` is at least as good as ``b`` on every metric and better on one."""
    x, y = _as_minimised(a, maximize), _as_minimised(b, maximize)
    return all(p <= q for p, q in zip(x, y, strict=True)) and x != y


def pareto_optimal(points: Sequence[Values], maximize: Sequence[bool]) -> list[bool]:
    """For each point, whether no other point dominates it (equal points are all optimal).
    O(n^2 m): fine for the trials of a study (the 10,000 of a large one take about a second;
    sorting by the first metric lets each point stop at the first that dominates it)."""
    order = sorted(range(len(points)), key=lambda i: _as_minimised(points[i], maximize))
    front: list[int] = []
    optimal = [False] * len(points)
    for i in order:
        if not any(dominates(points[j], points[i], maximize) for j in front):
            front.append(i)
            optimal[i] = True
    return optimal


def hypervolume(points: Sequence[Values], reference: Values, maximize: Sequence[bool]
                ) -> float:
    """The volume the points dominate up to ``reference`` (a point worse than all of them on
    every metric; points not better than it on every metric add nothing).  Exact, by slicing
    along the first metric (fine for the 2 or 3 metrics and few hundred points of a study)."""
    ref = _as_minimised(reference, maximize)
    pts = [p for p in (_as_minimised(q, maximize) for q in points)
           if all(v < r for v, r in zip(p, ref, strict=True))]
    return _volume(pts, ref)


def _volume(pts: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    if not pts:
        return 0.0
    if len(ref) == 1:
        return ref[0] - min(p[0] for p in pts)
    pts = sorted(pts)
    total = 0.0
    for k, p in enumerate(pts):
        upper = pts[k + 1][0] if k + 1 < len(pts) else ref[0]
        if upper > p[0]:
            total += (upper - p[0]) * _volume([q[1:] for q in pts[:k + 1]], ref[1:])
    return total
