"""Warnings on a job spec: advice, not errors.

A spec the parser accepts may still be probably not what the user wants (too few trials per
parameter, a grid smaller than maxTrials, ...).  The new-job page shows these and asks the user
to submit again; :func:`fingerprint` tells whether the warnings shown are still the current ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from hpdash.core.spec import HyperparameterSpec
from hpdash.core.spec.space import grid_size, value_count


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
    return all((value_count(p) or 0) < hp.max_trials for p in hp.params)


def with_params(hp: HyperparameterSpec, previous: HyperparameterSpec | None) -> HyperparameterSpec:
    """The spec a resumed job will run with (the previous job's params and algorithm)."""
    if previous is None or hp.params:
        return hp
    return replace(hp, params=previous.params, algorithm=previous.algorithm)


def fingerprint(warnings: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(warnings).encode()).hexdigest()[:16]
