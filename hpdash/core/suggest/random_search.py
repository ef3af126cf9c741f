"""RANDOM_SEARCH: "simple random search within the feasible space" (ml v1).

Each numeric parameter is drawn as ``from_unit(p, U(0, 1))``, so the draw is uniform *in the
parameter's scale*: UNIT_LOG_SCALE values are dense near the bottom of the range,
UNIT_REVERSE_LOG_SCALE near the top, INTEGER and DISCRETE values are snapped to the nearest
feasible value.  Categorical values are uniform.  A point already taken (by any trial in the
history or earlier in the same batch) is redrawn, a bounded number of times; a finite space
that is nearly full is then enumerated, and an exhausted one yields fewer points.

The generator is seeded with ``(seed, len(history))``: reproducible, and different for every
call of one job.
"""

from __future__ import annotations

from collections.abc import Sequence

from hpdash.core.spec.types import HyperparameterSpec

from .base import Observation, Point, make_rng, random_points, taken_keys


class RandomSuggester:
    def suggest(
        self, spec: HyperparameterSpec, history: Sequence[Observation], n: int, seed: int
    ) -> list[Point]:
        if n <= 0:
            return []
        rng = make_rng(seed, len(history))
        return random_points(spec, taken_keys(spec, history), n, rng)
