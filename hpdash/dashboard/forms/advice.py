"""Warnings on a job spec: advice, not errors.

A spec the parser accepts may still be probably not what the user wants (too few trials per
parameter, a grid smaller than maxTrials, ...).  The new-job page shows these and asks the user
to submit again; :func:`fingerprint` tells whether the warnings shown are still the current ones.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import replace

from hpdash.core.spec import HyperparameterSpec, ParameterSpec
from hpdash.core.spec.space import grid_size


def spec_warnings(hp: HyperparameterSpec) -> list[str]:
    """Things that are allowed but probably not what the user wants."""
    out = []
    n = len(hp.params)
    if n and hp.max_trials < 10 * n:
        out.append(
            f"maxTrials ({hp.max_trials}) is less than 10 × the number of parameters "
            f"({n} → {10 * n}): with fewer than about ten trials per parameter the search "
            "learns little about the space.")
    if hp.max_parallel_trials > hp.max_trials:
        out.append(
            f"maxParallelTrials ({hp.max_parallel_trials}) is greater than maxTrials "
            f"({hp.max_trials}): at most {hp.max_trials} trials will ever run at once.")
    for p in hp.params:
        # A linear DISCRETE list like 0.0001, 0.001, 0.01 draws each value equally often, but
        # the Bayesian model sees the values' positions on the scale: the two small ones look
        # alike to it.  A log scale spaces them as the user thinks of them.
        positive = [v for v in p.discrete_values if v > 0]
        if (p.type == "DISCRETE" and p.scale_type in ("NONE", "UNIT_LINEAR_SCALE")
                and len(positive) == len(p.discrete_values) >= 3
                and max(positive) / min(positive) >= 100):
            out.append(
                f"{p.name}'s values span {math.log10(max(positive) / min(positive)):.0f} "
                "orders of magnitude on a linear scale: the Bayesian search sees the small "
                "ones as nearly equal; scaleType UNIT_LOG_SCALE spaces them evenly.")
    if hp.algorithm == "GRID_SEARCH" and n and _grid_may_be_small(hp):
        size = grid_size(hp)
        if size < hp.max_trials:
            out.append(
                f"The grid has only {size} points but maxTrials is {hp.max_trials}: grid "
                f"search stops after {size} trials.")
    return out


def _grid_may_be_small(hp: HyperparameterSpec) -> bool:
    # grid_size lists every value; skip it when one parameter alone already has maxTrials
    # values (an INTEGER range can be millions wide).
    def count(p: ParameterSpec) -> float:
        if p.type == "INTEGER" and p.min_value is not None and p.max_value is not None:
            return math.floor(p.max_value) - math.ceil(p.min_value) + 1
        return len(p.categorical_values) + len(p.discrete_values)

    return all(count(p) < hp.max_trials for p in hp.params)


def with_params(hp: HyperparameterSpec, previous: HyperparameterSpec | None) -> HyperparameterSpec:
    """The spec a resumed job will run with (the previous job's params and algorithm)."""
    if previous is None or hp.params:
        return hp
    return replace(hp, params=previous.params, algorithm=previous.algorithm)


def fingerprint(warnings: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(warnings).encode()).hexdigest()[:16]
