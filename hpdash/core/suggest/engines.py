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
A multi-objective study (several metrics) is searched by ``MULTI_OBJECTIVE``:

=============  ==========================================================================
``ehvi``       expected hypervolume improvement over a GP per metric
               (:mod:`hpdash.core.suggest.ehvi`), on the ``hpdash`` engine with at most
               ``ehvi.MAX_METRICS`` (3) metrics; otherwise the scalarisation below.
``scalarised`` random augmented-Chebyshev scalarisations over the single-objective engine
               (ParEGO, :mod:`hpdash.core.suggest.multiobjective`): always for ``skopt``.
=============  ==========================================================================

The default is whichever measured better on ``benchmarks/multiobjective.py``
(``benchmarks/RESULTS.md``, "Multi-objective search").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hpdash.core.spec.types import HyperparameterSpec

from .base import Observation, Point, Suggester
from .bayes import GPBanditSuggester
from .ehvi import MAX_METRICS, EHVISuggester
from .multiobjective import suggest_scalarised
from .skopt_engine import SkoptSuggester

DEFAULT_ENGINE = "hpdash"
MULTI_OBJECTIVE_METHODS = ("ehvi", "scalarised")
MULTI_OBJECTIVE = "ehvi"
_EHVI = EHVISuggester()
ENGINES: dict[str, Suggester] = {
    "hpdash": GPBanditSuggester(),
    "skopt": SkoptSuggester(),
}


@dataclass(frozen=True)
class BayesSuggester:
    """ALGORITHM_UNSPECIFIED: delegates each call to the engine named ``engine`` (a
    ``ValueError`` naming the known engines if it names none)."""

    engine: str = DEFAULT_ENGINE
    multi_objective: str = MULTI_OBJECTIVE  # how several metrics are searched (module doc)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown Bayesian engine {self.engine!r}; use one of "
                             f"{', '.join(sorted(ENGINES))}")
        if self.multi_objective not in MULTI_OBJECTIVE_METHODS:
            raise ValueError(f"unknown multi-objective method {self.multi_objective!r}; use "
                             f"one of {', '.join(MULTI_OBJECTIVE_METHODS)}")

    def suggest(
        self, spec: HyperparameterSpec, history: Sequence[Observation], n: int, seed: int
    ) -> list[Point]:
        if spec.multi_objective:
            if (self.multi_objective == "ehvi" and self.engine == "hpdash"
                    and len(spec.metrics) <= MAX_METRICS):
                return _EHVI.suggest(spec, history, n, seed)
            return suggest_scalarised(ENGINES[self.engine], spec, history, n, seed)
        return ENGINES[self.engine].suggest(spec, history, n, seed)
