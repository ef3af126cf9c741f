"""The Bayesian suggester on scikit-optimize: ``skopt.Optimizer`` (GP, ``acq_func="gp_hedge"``)
rebuilt from the job's history on every call.  Selected with ``HPDASH_BAYES_ENGINE=skopt``
(:mod:`hpdash.core.suggest.engines`).

How one call works:

1. **Initial design**: the same scrambled Sobol points as the default engine
   (:func:`hpdash.core.suggest.bayes.space_filling`), so both engines start from the same
   trials and differ only in the model and the acquisition.
2. **Space**: one ``skopt.space`` dimension per free parameter: ``Real(lo, hi)`` (with
   ``prior="log-uniform"`` for UNIT_LOG_SCALE), ``Integer(lo, hi)`` (log-uniform likewise),
   ``Categorical`` for CATEGORICAL.  UNIT_REVERSE_LOG_SCALE has no skopt prior, and a DISCRETE
   list must be seen by the model at its scaled positions: both become ``Real(0, 1)`` over
   :func:`hpdash.core.spec.space.to_unit` and are mapped back with ``from_unit`` (a DISCRETE
   value snaps to the nearest scaled value).  Every dimension uses
   ``transform="normalize"``, as Bayesmark's skopt wrapper does.
3. **Model and acquisition**: ``Optimizer(base_estimator="GP", acq_func="gp_hedge",
   acq_optimizer="sampling")``: skopt's GP (Matern 5/2 ARD + white noise) and its portfolio
   of EI, PI and LCB.  ``"lbfgs"`` made one batch take ~8 s on 2 cores (DESIGN.md).
   Minimisation values are told as they are (negated when maximising); a FAILED trial is
   told the worst value seen.
4. **Running trials and batches**: skopt knows no pending points, so a running trial is told
   the constant lie of the batch strategy (``SKOPT_STRATEGY``, skopt's default ``"cl_min"``),
   and a batch is ``ask(n_points=n, strategy=SKOPT_STRATEGY)``.  A suggestion that is
   already taken (an INTEGER or CATEGORICAL space repeats) is replaced by a random untaken
   point.

Randomness: ``random_state`` from ``(seed, len(history))``.  skopt is imported on the first
call only (``import skopt`` takes about a second).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from hpdash.core.spec.space import bounds, clean_value, fixed_value, from_unit, to_unit
from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec

from .base import (
    FAILED,
    PENDING,
    SUCCEEDED,
    Observation,
    Point,
    free_params,
    key_of,
    make_rng,
    random_points,
    taken_keys,
)
from .bayes import in_initial_design, space_filling

SKOPT_STRATEGY = "cl_min"
SKOPT_CANDIDATES = 10_000  # acq_optimizer="sampling": skopt's default n_points


def _on_unit(p: ParameterSpec) -> bool:
    """Parameters the engine hands to skopt as their unit coordinate."""
    return p.type == "DISCRETE" or p.is_reverse_log


def skopt_dimensions(spec: HyperparameterSpec) -> list[Any]:
    """One ``skopt.space`` dimension per free parameter, in spec order."""
    from skopt.space import Categorical, Integer, Real  # noqa: PLC0415 - as above

    dims: list[Any] = []
    for p in free_params(spec):
        if p.type == "CATEGORICAL":
            dims.append(Categorical(list(p.categorical_values), name=p.name,
                                    transform="normalize" if len(p.categorical_values) == 2
                                    else "onehot"))
        elif _on_unit(p):
            dims.append(Real(0.0, 1.0, name=p.name, transform="normalize"))
        else:
            lo, hi = bounds(p)
            prior = "log-uniform" if p.is_log else "uniform"
            if p.type == "INTEGER":
                dims.append(Integer(math.ceil(lo), math.floor(hi), prior=prior, name=p.name,
                                    transform="normalize"))
            else:
                dims.append(Real(lo, hi, prior=prior, name=p.name, transform="normalize"))
    return dims


def to_skopt(spec: HyperparameterSpec, point: dict[str, Any]) -> list[Any]:
    row: list[Any] = []
    for p in free_params(spec):
        value = point[p.name]
        if p.type == "CATEGORICAL":
            row.append(str(value))
        elif _on_unit(p):
            row.append(to_unit(p, float(value)))
        elif p.type == "INTEGER":
            lo, hi = bounds(p)
            row.append(int(min(max(int(value), math.ceil(lo)), math.floor(hi))))
        else:
            lo, hi = bounds(p)
            row.append(min(max(float(value), lo), hi))
    return row


def from_skopt(spec: HyperparameterSpec, row: Sequence[Any]) -> Point:
    point: Point = {}
    values = iter(row)
    for p in spec.params:
        fixed = fixed_value(p)
        if fixed is not None:
            point[p.name] = fixed
            continue
        value = next(values)
        if p.type == "CATEGORICAL":
            point[p.name] = str(value)
        elif _on_unit(p):
            point[p.name] = clean_value(p, from_unit(p, float(value)))
        else:
            point[p.name] = clean_value(p, value.item() if hasattr(value, "item") else value)
    return point


class SkoptSuggester:
    """``skopt.Optimizer`` behind the :class:`~hpdash.core.suggest.base.Suggester` interface."""

    def suggest(
        self, spec: HyperparameterSpec, history: Sequence[Observation], n: int, seed: int
    ) -> list[Point]:
        if n <= 0:
            return []
        taken = taken_keys(spec, history)
        known = [o for o in history if key_of(spec, o.params) is not None]
        good = [o for o in known if o.state == SUCCEEDED and o.value is not None
                and math.isfinite(o.value)]
        if in_initial_design(spec, history, good):
            return space_filling(spec, taken, len(history), n, seed)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._ask(spec, known, good, taken, n=n, seed=seed + 7919 * len(history))

    def _ask(
        self,
        spec: HyperparameterSpec,
        known: list[Observation],
        good: list[Observation],
        taken: set[Any],
        *,
        n: int,
        seed: int,
    ) -> list[Point]:
        from skopt import Optimizer  # noqa: PLC0415 - imported only when this engine is chosen

        sign = -1.0 if spec.maximize else 1.0
        y_good = [sign * float(o.value) for o in good if o.value is not None]
        lie = min(y_good) if SKOPT_STRATEGY == "cl_min" else (
            max(y_good) if SKOPT_STRATEGY == "cl_max" else float(np.mean(y_good)))
        X = [to_skopt(spec, o.params) for o in good]
        y = list(y_good)
        for o in known:
            if o.state == FAILED:
                X.append(to_skopt(spec, o.params))
                y.append(max(y_good))
            elif o.state == PENDING:
                X.append(to_skopt(spec, o.params))
                y.append(lie)
        opt = Optimizer(
            skopt_dimensions(spec),
            base_estimator="GP",
            acq_func="gp_hedge",
            acq_optimizer="sampling",
            acq_optimizer_kwargs={"n_points": SKOPT_CANDIDATES},
            n_initial_points=1,
            random_state=seed % (2**31),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's convergence chatter on tiny data
            opt.tell(X, y)
            rows = opt.ask(n_points=n, strategy=SKOPT_STRATEGY) if n > 1 else [opt.ask()]
        out: list[Point] = []
        for row in rows:
            point = from_skopt(spec, row)
            key = key_of(spec, point)
            if key is not None and key not in taken:
                taken.add(key)
                out.append(point)
        if len(out) < n:
            out += random_points(spec, taken, n - len(out), make_rng(seed, len(known), 2))
        return out
