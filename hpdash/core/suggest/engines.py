"""Which implementation serves ALGORITHM_UNSPECIFIED (the Bayesian default): a server setting.

=============  ==========================================================================
``hpdash``     (default) the GP bandit of :mod:`hpdash.core.suggest.bayes`: numpy/scipy GP,
               expected improvement, kriging-believer batches.  It measured best on the
               benchmarks (``benchmarks/RESULTS.md``) and meets the latency budget.
``skopt``      ``skopt.Optimizer`` (GP, ``acq_func="gp_hedge"``, constant-liar batches) of
               :mod:`hpdash.core.suggest.skopt_engine`.
=============  ==========================================================================

The setting is the environment variable ``HPDASH_BAYES_ENGINE``, read by :func:`bayes_engine`
and nowhere else (it is meant to move into the Django settings file, which would then pass the
value here).  It is read on every call, so a worker picks up a change when restarted and tests
can set it per test.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from hpdash.core.spec.types import HyperparameterSpec

from .base import Observation, Point, Suggester
from .bayes import GPBanditSuggester
from .skopt_engine import SkoptSuggester

ENGINE_ENV = "HPDASH_BAYES_ENGINE"
DEFAULT_ENGINE = "hpdash"
ENGINES: dict[str, Suggester] = {
    "hpdash": GPBanditSuggester(),
    "skopt": SkoptSuggester(),
}


def bayes_engine() -> str:
    """The engine named by ``HPDASH_BAYES_ENGINE`` (default ``"hpdash"``); a ValueError that
    names the variable and the valid values when it names no engine."""
    name = os.environ.get(ENGINE_ENV, DEFAULT_ENGINE).strip().lower() or DEFAULT_ENGINE
    if name not in ENGINES:
        raise ValueError(
            f"{ENGINE_ENV}={os.environ.get(ENGINE_ENV)!r} is not a Bayesian engine; "
            f"use one of {', '.join(sorted(ENGINES))}"
        )
    return name


class BayesSuggester:
    """ALGORITHM_UNSPECIFIED: delegates each call to the engine :func:`bayes_engine` names."""

    def suggest(
        self, spec: HyperparameterSpec, history: Sequence[Observation], n: int, seed: int
    ) -> list[Point]:
        return ENGINES[bayes_engine()].suggest(spec, history, n, seed)
