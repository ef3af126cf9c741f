"""The one interface every search algorithm implements, plus helpers they share.

A suggester is *stateless*: each call gets the job's spec and the full history of its trials
(finished and still running) and returns new points.  Nothing is cached between calls, so any
worker process can serve any job and a restart loses nothing.  Randomness comes only from the
job's ``seed`` and the history length, which makes a call reproducible and successive calls of
one job different.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hpdash.core.spec.space import (
    clean_value,
    fixed_value,
    from_unit,
    iter_space,
    point_key,
    space_size,
)
from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec, ParamValue
from hpdash.core.states import ObservationState

SUCCEEDED = ObservationState.SUCCEEDED
FAILED = ObservationState.FAILED
PENDING = ObservationState.PENDING
STATES = tuple(ObservationState)

Point = dict[str, ParamValue]
ENUMERATE_LIMIT = 10_000_000  # the largest finite space ever listed point by point
PointKey = tuple[str, ...]


@dataclass(frozen=True)
class Observation:
    """One trial of the job as a suggester sees it.

    ``state`` is ``"SUCCEEDED"`` (``value`` is the finite objective value), ``"FAILED"`` (no
    usable value) or ``"PENDING"`` (queued or running: the point is taken, its value unknown).
    """

    params: dict[str, ParamValue]
    state: str
    value: float | None = None
    # Every metric's value (the first is ``value``) of a SUCCEEDED trial of a multi-objective
    # study (:mod:`hpdash.core.suggest.multiobjective`); empty otherwise.
    values: tuple[float, ...] = ()


class Suggester(Protocol):
    def suggest(
        self,
        spec: HyperparameterSpec,
        history: Sequence[Observation],
        n: int,
        seed: int,
    ) -> list[Point]:
        """Return up to ``n`` new points (fewer only when the space is exhausted, e.g. a
        finished grid).

        ``history`` holds every trial of the job so far, finished and pending; pending points
        count as taken.  Values are plain Python ``int`` (INTEGER), ``float`` (DOUBLE, DISCRETE)
        and ``str`` (CATEGORICAL).  Deterministic for the same ``(spec, history, n, seed)``.
        """
        ...


# --------------------------------------------------------------------------- randomness


def make_rng(seed: int, *salt: int) -> np.random.Generator:
    """A generator determined by the job seed and call-specific salt (e.g. ``len(history)``)."""
    entropy = [int(seed) % (1 << 63), *(int(s) % (1 << 63) for s in salt)]
    return np.random.default_rng(entropy)


# --------------------------------------------------------------------------- values


def free_params(spec: HyperparameterSpec) -> list[ParameterSpec]:
    """Parameters with more than one feasible value, in spec order."""
    return [p for p in spec.params if fixed_value(p) is None]


def decode_unit(spec: HyperparameterSpec, u: Sequence[float] | np.ndarray) -> Point:
    """The point at unit coordinates ``u`` (one number per *free* parameter, spec order).

    INTEGER and DOUBLE parameters go through :func:`hpdash.core.spec.space.from_unit` (scale
    warping and snapping).  A CATEGORICAL or DISCRETE parameter with ``k`` values takes value
    number ``floor(u * k)``, so uniform ``u`` draws each *value* with probability ``1/k``.
    A DISCRETE list is a set of values the user chose to try: snapping by scaled position
    instead would give ``0.0001, 0.001, 0.01`` on a linear scale the shares 0.5 %, 49.5 %
    and 50 % (0.0001 never came up in 20 random trials).  The Bayes model still sees the
    scaled positions (:class:`hpdash.core.suggest.bayes.Encoder`).
    """
    point: Point = {}
    coords = iter(u)
    for p in spec.params:
        fixed = fixed_value(p)
        if fixed is not None:
            point[p.name] = fixed
        elif p.type in ("CATEGORICAL", "DISCRETE"):
            point[p.name] = clean_value(p, value_by_index(p, float(next(coords))))
        else:
            point[p.name] = clean_value(p, from_unit(p, float(next(coords))))
    return point


def value_by_index(p: ParameterSpec, u: float) -> ParamValue:
    """Value number ``floor(u * k)`` of a CATEGORICAL or DISCRETE parameter with ``k`` values
    (``u`` in [0, 1]; 1 maps to the last value)."""
    values = p.categorical_values if p.type == "CATEGORICAL" else p.discrete_values
    k = len(values)
    return values[min(max(int(u * k), 0), k - 1)]


# --------------------------------------------------------------------------- taken points


def key_of(spec: HyperparameterSpec, point: dict[str, ParamValue]) -> PointKey | None:
    """:func:`hpdash.core.spec.space.point_key`, or ``None`` for a point that lacks a parameter or
    has a value of the wrong kind (e.g. history of a resumed job with another spec)."""
    try:
        return point_key(spec, point)
    except (KeyError, TypeError, ValueError):
        return None


def taken_keys(spec: HyperparameterSpec, history: Iterable[Observation]) -> set[PointKey]:
    keys = (key_of(spec, o.params) for o in history)
    return {k for k in keys if k is not None}


def random_points(
    spec: HyperparameterSpec,
    taken: set[PointKey],
    n: int,
    rng: np.random.Generator,
    max_draws: int = 100,
) -> list[Point]:
    """Up to ``n`` points drawn as :func:`decode_unit` of uniform unit coordinates, avoiding
    ``taken`` (which is updated in place with the points returned).

    A point that is already taken is redrawn up to ``max_draws`` times; after that a finite
    space is nearly full and the rest is picked among the untaken points by enumeration (fewer
    than ``n`` once the space is exhausted).
    """
    d = len(free_params(spec))
    out: list[Point] = []
    while len(out) < n:
        for _ in range(max_draws):
            point = decode_unit(spec, rng.random(d))
            key = key_of(spec, point)
            if key not in taken:
                break
        else:
            size = space_size(spec)
            if size is not None and size <= ENUMERATE_LIMIT:
                rest = untaken_points(spec, taken, n - len(out), rng)
                taken.update(point_key(spec, p) for p in rest)
                return out + rest
            # Only a (nearly) full space repeats max_draws times; a huge or continuous one
            # does not in practice, so accept the draw rather than enumerate it.
        assert key is not None
        taken.add(key)
        out.append(point)
    return out


def untaken_points(
    spec: HyperparameterSpec, taken: set[PointKey], n: int, rng: np.random.Generator
) -> list[Point]:
    """Up to ``n`` distinct points of a *finite* space not in ``taken``, chosen at random.

    The fallback when rejection sampling keeps hitting taken points, i.e. the space is nearly
    full; it enumerates the space, so it is only called when ``space_size`` is known.
    """
    free = [p for p in iter_space(spec) if point_key(spec, p) not in taken]
    if len(free) <= n:
        return free
    picks = rng.choice(len(free), size=n, replace=False)
    return [free[int(i)] for i in picks]
