"""Search algorithms behind one stateless interface, registered by ml v1 algorithm name.

``get_suggester(spec.algorithm).suggest(spec, history, n, seed)`` returns up to ``n`` new points
given every trial of the job so far (finished and pending).  No Django in here.

ALGORITHM_UNSPECIFIED runs on the engine named by the caller's ``bayes_engine`` (the server's
``HPDASH_BAYES_ENGINE`` setting; :mod:`hpdash.core.suggest.engines`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import cast

from hpdash.core.spec import HyperparameterSpec
from hpdash.core.spec.conditions import active_point, canonical, filled, is_conditional

from .base import FAILED, PENDING, SUCCEEDED, Observation, Point, Suggester, key_of
from .engines import DEFAULT_ENGINE, ENGINES, BayesSuggester
from .grid import GridSuggester
from .random_search import RandomSuggester

BAYESIAN = "ALGORITHM_UNSPECIFIED"
_MAX_ROUNDS = 20  # asks of a conditional study's suggester for points not yet taken
SUGGESTERS: dict[str, Suggester] = {
    BAYESIAN: BayesSuggester(),  # on the default engine
    "RANDOM_SEARCH": RandomSuggester(),
    "GRID_SEARCH": GridSuggester(),
}


def with_defaults(spec: HyperparameterSpec, history: Sequence[Observation],
                  points: list[Point]) -> list[Point]:
    """Vertex's rule, for any algorithm: a study's first trial takes every parameter's
    ``default_value`` when all of them have one (ml v1 parameters have none); of conditional
    parameters, those the defaults make active."""
    defaults = {p.name: p.default_value for p in spec.params}
    if history or not points or not defaults or None in defaults.values():
        return points
    return [active_point(spec, cast(Point, defaults)), *points[1:]]


def suggest_active(suggester: Suggester, spec: HyperparameterSpec,
                   history: Sequence[Observation], n: int, seed: int) -> list[Point]:
    """``suggester.suggest``, with only the active parameters of each point when the spec has
    conditional ones (:mod:`hpdash.core.spec.conditions`): the suggester searches the full
    space, every trial's point filled in; a point whose active part was already taken (it
    differs only in inactive parameters) is passed back as taken and another asked for."""
    if not is_conditional(spec):
        return suggester.suggest(spec, history, n, seed)
    past = [dataclasses.replace(o, params=filled(spec, o.params)) for o in history]
    taken = {key_of(spec, o.params) for o in past}
    out: list[Point] = []
    for _ in range(_MAX_ROUNDS):
        points = suggester.suggest(spec, past, n - len(out), seed)
        for p in points:
            full = canonical(spec, p)
            key = key_of(spec, full)
            past.append(Observation(params=dict(p), state=PENDING))
            if key not in taken:
                taken.add(key)
                past.append(Observation(params=full, state=PENDING))
                out.append(active_point(spec, p))
        if not points or len(out) >= n:
            break
    return out


def get_suggester(algorithm: str, *, bayes_engine: str = DEFAULT_ENGINE) -> Suggester:
    """The suggester registered for an ml v1 ``algorithm`` name (KeyError if unknown).
    ``bayes_engine`` names the engine of ALGORITHM_UNSPECIFIED, the one algorithm whose
    implementation is a server setting (ValueError if it names none)."""
    if algorithm == BAYESIAN:
        return BayesSuggester(bayes_engine)
    try:
        return SUGGESTERS[algorithm]
    except KeyError:
        raise KeyError(f"unknown hyperparameter tuning algorithm {algorithm!r}") from None


__all__ = [
    "BAYESIAN",
    "DEFAULT_ENGINE",
    "ENGINES",
    "FAILED",
    "PENDING",
    "SUCCEEDED",
    "SUGGESTERS",
    "BayesSuggester",
    "GridSuggester",
    "Observation",
    "Point",
    "RandomSuggester",
    "Suggester",
    "get_suggester",
    "suggest_active",
    "with_defaults",
]
