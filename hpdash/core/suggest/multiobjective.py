"""Several metrics (a multi-objective Vertex study) on a single-objective engine: random
scalarisation, one draw per suggested point (ParEGO, Knowles 2006).

For each point, draw weights ``w`` uniformly from the simplex (a Dirichlet(1, …, 1)), rescale
every metric over the succeeded trials to [0, 1] with 0 its best, and give the engine one
objective to minimise: the augmented Chebyshev scalarisation
``max_i(w_i f_i) + RHO * sum_i(w_i f_i)``.  Each weight aims the engine at one region of the
Pareto front; over many trials the draws cover all of it (Paria, Kandasamy and Póczos 2019
bound the regret of exactly this scheme).  A batch of ``n`` points draws ``n`` weights, the
points already picked passed on as pending, as the engine's own batches do.

Since issue 22's benchmark this is no longer the default for several metrics: expected
hypervolume improvement over a GP per metric (:mod:`hpdash.core.suggest.ehvi`) measured ahead of
it (``benchmarks/multiobjective.py``, benchmarks/RESULTS.md "Multi-objective search").  It stays
for what EHVI does not cover (:mod:`hpdash.core.suggest.engines`): the ``skopt`` engine (it
reuses any single-objective engine unchanged), more than ``ehvi.MAX_METRICS`` metrics (EHVI's
box decomposition grows as ``k^(m-1)``), and ``BayesSuggester(multi_objective="scalarised")``.
It is stateless and deterministic per ``(seed, history)`` like every suggester, and a
suggestion costs one GP fit per point.
No Django here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np

from hpdash.core.spec.types import HyperparameterSpec

from .base import FAILED, PENDING, SUCCEEDED, Observation, Point, Suggester, make_rng

RHO = 0.05  # the augmentation: among points of equal max, prefer the better sum
_SALT = 0x5CA1  # keeps the weight draws apart from the engine's own randomness


def scaled_losses(spec: HyperparameterSpec, history: Sequence[Observation]) -> np.ndarray:
    """The succeeded trials' metrics as losses in [0, 1] (0: the best seen), one row each, in
    history order (only SUCCEEDED observations with every metric)."""
    rows = [o.values for o in history
            if o.state == SUCCEEDED and len(o.values) == len(spec.metrics)]
    if not rows:
        return np.zeros((0, len(spec.metrics)))
    y = np.array(rows, dtype=float)
    signs = np.array([-1.0 if m.maximize else 1.0 for m in spec.metrics])
    y *= signs
    low, high = y.min(axis=0), y.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return np.asarray((y - low) / span)


def scalarise(losses: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The augmented Chebyshev scalarisation of each row (smaller is better)."""
    weighted = losses * weights
    return np.asarray(weighted.max(axis=1) + RHO * weighted.sum(axis=1))


def suggest_scalarised(engine: Suggester, spec: HyperparameterSpec,
                       history: Sequence[Observation], n: int, seed: int) -> list[Point]:
    """Up to ``n`` points for a multi-objective ``spec`` from the single-objective ``engine``."""
    single = dataclasses.replace(spec, goal="MINIMIZE", more_metrics=())
    rng = make_rng(seed, len(history), _SALT)
    losses = scaled_losses(spec, history)
    past = list(history)
    out: list[Point] = []
    for _ in range(n):
        weights = rng.dirichlet(np.ones(len(spec.metrics)))
        scores = iter(scalarise(losses, weights).tolist())
        seen = [_as_single(o, scores, len(spec.metrics)) for o in past]
        points = engine.suggest(single, seen, 1, seed)
        if not points:
            break
        out.append(points[0])
        past.append(Observation(params=dict(points[0]), state=PENDING))
    return out


def _as_single(o: Observation, scores: Iterator[float], n_metrics: int) -> Observation:
    """``o`` for the single-objective engine: a succeeded trial with every metric takes the
    next score; one without them teaches as a failed one; others as they are."""
    if o.state != SUCCEEDED:
        return o
    if len(o.values) != n_metrics:
        return dataclasses.replace(o, state=FAILED, value=None)
    return dataclasses.replace(o, value=next(scores), values=())
