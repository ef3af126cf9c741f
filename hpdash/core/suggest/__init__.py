"""Search algorithms behind one stateless interface, registered by ml v1 algorithm name.

``get_suggester(spec.algorithm).suggest(spec, history, n, seed)`` returns up to ``n`` new points
given every trial of the job so far (finished and pending).  No Django in here.

ALGORITHM_UNSPECIFIED runs on the engine named by ``HPDASH_BAYES_ENGINE``
(:mod:`hpdash.core.suggest.engines`).
"""

from __future__ import annotations

from .base import FAILED, PENDING, SUCCEEDED, Observation, Point, Suggester
from .engines import ENGINE_ENV, BayesSuggester, bayes_engine
from .grid import GridSuggester
from .random_search import RandomSuggester

SUGGESTERS: dict[str, Suggester] = {
    "ALGORITHM_UNSPECIFIED": BayesSuggester(),
    "RANDOM_SEARCH": RandomSuggester(),
    "GRID_SEARCH": GridSuggester(),
}


def get_suggester(algorithm: str) -> Suggester:
    """The suggester registered for an ml v1 ``algorithm`` name (KeyError if unknown)."""
    try:
        return SUGGESTERS[algorithm]
    except KeyError:
        raise KeyError(f"unknown hyperparameter tuning algorithm {algorithm!r}") from None


__all__ = [
    "ENGINE_ENV",
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
    "bayes_engine",
    "get_suggester",
]
