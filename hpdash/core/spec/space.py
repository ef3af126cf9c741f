"""The search space of a :class:`HyperparameterSpec`: scales, value strings, and the one place
that counts and lists its values and points (grids, the parser's checks, the form's advice and
the suggesters all use it).

The *unit* coordinate of a numeric parameter is its position in [0, 1] after the parameter's
scale is applied, exactly as ml v1 describes ``scaleType``:

- ``UNIT_LINEAR_SCALE`` (and ``NONE``): ``u = (x - min) / (max - min)``.
- ``UNIT_LOG_SCALE``: ``u = log(x / min) / log(max / min)``; uniform ``u`` puts more values near
  the bottom of the range.
- ``UNIT_REVERSE_LOG_SCALE``: the mirror image, ``u = 1 - log((max + min - x) / min) /
  log(max / min)``; uniform ``u`` puts more values near the top of the range ("values close to
  the top of the feasible space are spread out more"; the exact formula is not published, this is
  hpdash's choice).

DISCRETE parameters use the same mapping over ``[first value, last value]`` and snap to the
nearest feasible value (nearest in unit coordinates); INTEGER parameters map over
``[min - 0.5, max + 0.5]`` and round, so uniform ``u`` gives every integer the same chance
(on a linear scale).  CATEGORICAL parameters have no unit coordinate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

from .types import HyperparameterSpec, ParameterSpec, ParamValue


def bounds(p: ParameterSpec) -> tuple[float, float]:
    """Numeric range of a DOUBLE/INTEGER/DISCRETE parameter."""
    if p.type == "DISCRETE":
        return float(p.discrete_values[0]), float(p.discrete_values[-1])
    if p.type in ("DOUBLE", "INTEGER"):
        assert p.min_value is not None and p.max_value is not None
        return float(p.min_value), float(p.max_value)
    raise ValueError(f"{p.name} is CATEGORICAL and has no numeric bounds")


def _warp_bounds(p: ParameterSpec) -> tuple[float, float]:
    """INTEGER ranges are widened by half a step on each side, so that every integer owns an
    equal share of the unit interval (the end values would otherwise get half the weight)."""
    lo, hi = bounds(p)
    if p.type == "INTEGER" and hi > lo:
        return lo - 0.5, hi + 0.5
    return lo, hi


def to_unit(p: ParameterSpec, value: float) -> float:
    lo, hi = _warp_bounds(p)
    if hi == lo:
        return 0.0
    x = min(max(float(value), lo), hi)
    # Logs of each bound rather than of their ratio, and (hi - x) + lo rather than hi + lo - x:
    # the ratio or the sum of two huge bounds overflows where each term does not.
    if p.is_log:
        u = (math.log(x) - math.log(lo)) / (math.log(hi) - math.log(lo))
    elif p.is_reverse_log:
        u = 1.0 - (math.log((hi - x) + lo) - math.log(lo)) / (math.log(hi) - math.log(lo))
    else:
        u = (x - lo) / (hi - lo)
    return min(max(u, 0.0), 1.0)


def from_unit(p: ParameterSpec, u: float) -> ParamValue:
    """Inverse of :func:`to_unit`, then snapped to a feasible value of the parameter's type."""
    lo, hi = _warp_bounds(p)
    u = min(max(float(u), 0.0), 1.0)
    if hi == lo:
        x = lo
    elif p.is_log:
        x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    elif p.is_reverse_log:
        x = hi - (math.exp(math.log(lo) + (1.0 - u) * (math.log(hi) - math.log(lo))) - lo)
    else:
        x = lo + u * (hi - lo)
    x = min(max(x, lo), hi)
    if p.type == "INTEGER":
        blo, bhi = bounds(p)
        return int(min(max(round(x), math.ceil(blo)), math.floor(bhi)))
    if p.type == "DISCRETE":
        return min(p.discrete_values, key=lambda v: abs(to_unit(p, v) - u))
    # A value at a bound is the bound (0.1, not 0.09999999999999998 from exp(log(...))),
    # in what the trainer receives too.
    for bound in (lo, hi):
        if math.isclose(x, bound, rel_tol=1e-12, abs_tol=1e-300):
            return bound
    return x


def format_number(x: float) -> str:
    """A number as ml v1 shows it: integral values without a fraction (``"32"``), others as
    the shortest string that round-trips (``repr``).  The one number format for values a user
    typed or a trainer receives: the parser's messages, the form, the list filter, flags."""
    f = float(x)
    return str(int(f)) if f.is_integer() and abs(f) < 1e16 else repr(f)


def format_value(p: ParameterSpec, value: ParamValue) -> str:
    """The string ml v1 shows in ``hyperparameters`` and hpdash passes on the command line.

    INTEGER ``"40"``; DOUBLE the shortest string that round-trips (``repr``); DISCRETE the same,
    but integral values without a fraction (``"32"``, so ``type=int`` flags keep working);
    CATEGORICAL verbatim.
    """
    if p.type == "CATEGORICAL":
        return str(value)
    if p.type == "INTEGER":
        return str(int(value))
    if p.type == "DISCRETE":
        return format_number(float(value))
    return repr(float(value))


def clean_value(p: ParameterSpec, value: ParamValue) -> ParamValue:
    """``value`` as the plain Python type of the parameter (never a numpy scalar)."""
    if p.type == "CATEGORICAL":
        return str(value)
    if p.type == "INTEGER":
        return round(float(value))
    return float(value)


def fixed_value(p: ParameterSpec) -> ParamValue | None:
    """The only feasible value of a parameter that has exactly one, else ``None``."""
    if p.type == "CATEGORICAL":
        return str(p.categorical_values[0]) if len(p.categorical_values) == 1 else None
    lo, hi = bounds(p)
    if p.type == "DISCRETE":
        return float(p.discrete_values[0]) if len(p.discrete_values) == 1 else None
    if p.type == "INTEGER":
        return math.ceil(lo) if math.ceil(lo) >= math.floor(hi) else None
    return float(lo) if lo == hi else None


def grid_values(p: ParameterSpec) -> list[ParamValue]:
    """Every feasible value of a parameter with finitely many, in the spec's order, as plain
    Python values (a DOUBLE range with ``min == max`` has one)."""
    fixed = fixed_value(p)
    if fixed is not None:
        return [fixed]
    if p.type == "CATEGORICAL":
        return list(p.categorical_values)
    if p.type == "DISCRETE":
        return [float(v) for v in p.discrete_values]
    if p.type == "INTEGER":
        lo, hi = bounds(p)
        return list(range(math.ceil(lo), math.floor(hi) + 1))
    raise ValueError(f"{p.name} is DOUBLE and has no grid")


def value_count(p: ParameterSpec) -> int | None:
    """How many values a parameter can take, counted without listing them (an INTEGER range
    may span billions); None for a DOUBLE range.  The one count: grids, the parser's
    checks, the form's advice and the suggesters use it."""
    if fixed_value(p) is not None:
        return 1
    if p.type == "DOUBLE":
        return None
    if p.type == "INTEGER":
        lo, hi = bounds(p)
        return max(0, math.floor(hi) - math.ceil(lo) + 1)
    return len(grid_values(p))


def space_size(spec: HyperparameterSpec) -> int | None:
    """The number of points of the space, or None when a DOUBLE range makes it infinite."""
    size = 1
    for p in spec.params:
        count = value_count(p)
        if count is None:
            return None
        size *= count
    return size


def iter_space(spec: HyperparameterSpec) -> Iterator[dict[str, ParamValue]]:
    """Every point of a finite space, lazily, in a stable order: the cartesian product of each
    parameter's values in spec order, the last parameter changing fastest (GRID_SEARCH's
    order).  ValueError for a space with a DOUBLE range."""
    names = [p.name for p in spec.params]
    for combo in itertools.product(*(grid_values(p) for p in spec.params)):
        yield dict(zip(names, combo, strict=True))


def point_key(spec: HyperparameterSpec, point: dict[str, ParamValue]) -> tuple[str, ...]:
    """Hashable identity of a point, by the value strings a trainer would see."""
    return tuple(format_value(p, point[p.name]) for p in spec.params)
