"""Which implementation serves ALGORITHM_UNSPECIFIED (the Bayesian default): a server setting.

=============  ==========================================================================
``hpdash``     (default) the GP bandit of :mod:`hpdash.core.suggest.bayes`: numpy/scipy GP,
               expected improvement, kriging-believer batches.  It measured best on the
               benchmarks (``benchmarks/RESULTS.md``) and meets the latency budget.
``skopt``      ``skopt.Optimizer`` (GP, ``acq_func="gp_hedge"``, constant-liar batches) of
               :mod:`hpdash.core.suggest.skopt_engine`.
=============  ==========================================================================

The setting is the environment variable ``HPDASH_BAYES_ENGINE``, read and checked by the Django
settings (``settings.HPDASH.bayes_engine``, :mod:`hpdash.ops.config`); the scheduler passes the
name in (``get_suggester(algorithm, bayes_engine=...)``).  The core reads no environment.
A multi-objective study runs on the same engine through random scalarisations
(:mod:`hpdash.core.suggest.multiobjective`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hpdash.core.spec.types import HyperparameterSpec

from .base import Observation, Point, Suggester
from .bayes import GPBanditSuggester
from .multiobjective import suggest_scalarised
from .skopt_engine import SkoptSuggester

DEFAULT_ENGINE = "hpdash"
ENGINES: dict[str, Suggester] = {
    "hpdash": GPBanditSuggester(),
    "skopt": SkoptSuggester(),
}


@dataclass(frozen=True)
class BayesSuggester:
    """ALGORITHM_UNSPECIFIED: delegates each call to the engine named ``engine`` (a
    ``ValueError`` naming the known engines if it names none)."""

    engine: str = DEFAULT_ENGINE

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown Bayesian engine {self.engine!r}; use one of "
                             f"{', '.join(sorted(ENGINES))}")

    def suggest(
        self, spec: HyperparameterSpec, history: Sequence[Observation], n: int, seed: int
    ) -> list[Point]:
        if spec.multi_objective:
            return suggest_scalarised(ENGINES[self.engine], spec, history, n, seed)
        return ENGINES[self.engine].suggest(spec, history, n, seed)
