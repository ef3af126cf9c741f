"""GRID_SEARCH: every point of the grid once, in the stable order of
:func:`hpdash.core.spec.space.iter_space` (cartesian product in spec order, last parameter
fastest).

Points already in the history (any state, compared by :func:`hpdash.core.spec.space.point_key`) are
skipped; a call returns the next ``n`` untaken points, fewer (possibly none) once the grid is
exhausted, so a ``maxTrials`` above the grid size ends the job at the grid size.  The grid is
walked lazily and the walk stops as soon as ``n`` points are found: the cost is proportional to
the number of points taken so far, not to the grid size (10 million points are fine).
"""

from __future__ import annotations

from collections.abc import Sequence

from hpdash.core.spec.space import iter_space, point_key
from hpdash.core.spec.types import HyperparameterSpec

from .base import Observation, Point, taken_keys


class GridSuggester:
    def suggest(
        self, spec: HyperparameterSpec, history: Sequence[Observation], n: int, seed: int
    ) -> list[Point]:
        if n <= 0:
            return []
        taken = taken_keys(spec, history)
        out: list[Point] = []
        for point in iter_space(spec):
            if point_key(spec, point) in taken:
                continue
            out.append(point)
            if len(out) == n:
                break
        return out
