"""RANDOM_SEARCH: "simple random search within the feasible space" (ml v1).

Each INTEGER and DOUBLE parameter is drawn as ``from_unit(p, U(0, 1))``, so the draw is
uniform *in the parameter's scale*: UNIT_LOG_SCALE values are dense near the bottom of the
range, UNIT_REVERSE_LOG_SCALE near the top, INTEGER values are rounded.  DISCRETE and
CATEGORICAL values are drawn uniformly from their list (each value with probability ``1/k``,
whatever the scale: a DISCRETE list names the values the user wants tried).  A point already
taken (by any trial in the history or earlier in the same batch) is redrawn, a bounded number
of times; a finite space that is nearly full is then enumerated, and an exhausted one yields
fewer points.

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
