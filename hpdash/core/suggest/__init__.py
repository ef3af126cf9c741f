"""Search algorithms behind one stateless interface, registered by ml v1 algorithm name.

``get_suggester(spec.algorithm).suggest(spec, history, n, seed)`` returns up to ``n`` new points
given every trial of the job so far (finished and pending).  No Django in here.

ALGORITHM_UNSPECIFIED runs on the engine named by the caller's ``bayes_engine`` (the server's
``HPDASH_BAYES_ENGINE`` setting; :mod:`hpdash.core.suggest.engines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from hpdash.core.spec import HyperparameterSpec

from .base import FAILED, PENDING, SUCCEEDED, Observation, Point, Suggester
from .engines import DEFAULT_ENGINE, ENGINES, BayesSuggester
from .grid import GridSuggester
from .random_search import RandomSuggester

BAYESIAN = "ALGORITHM_UNSPECIFIED"
SUGGESTERS: dict[str, Suggester] = {
    BAYESIAN: BayesSuggester(),  # on the default engine
    "RANDOM_SEARCH": RandomSuggester(),
    "GRID_SEARCH": GridSuggester(),
}


def with_defaults(spec: HyperparameterSpec, history: Sequence[Observation],
                  points: list[Point]) -> list[Point]:
    """Vertex's rule, for any algorithm: a study's first trial takes every parameter's
    ``default_value`` when all of them have one (ml v1 parameters have none)."""
    defaults = {p.name: p.default_value for p in spec.params}
    if history or not points or not defaults or None in defaults.values():
        return points
    return [cast(Point, defaults), *points[1:]]


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
    "with_defaults",
]
