"""Warnings on a job spec: advice, not errors.

A spec the parser accepts may still be probably not what the user wants (too few trials per
parameter, a grid smaller than maxTrials, ...).  The new-job page shows these and asks the user
to submit again; :func:`fingerprint` tells whether the warnings shown are still the current ones.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hpdash.core.spec import HyperparameterSpec
from hpdash.core.spec.space import space_size


def spec_warnings(hp: HyperparameterSpec, history: int = 0) -> list[str]:
    """Things that are allowed but probably not what the user wants.  ``history``: finished
    trials a resumed job learns from (its previous jobs'), which count towards the advice of
    ten trials per parameter."""
    out = count_warnings(hp.max_trials, hp.max_parallel_trials, len(hp.params), history)
    n = len(hp.params)
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
    if hp.algorithm == "GRID_SEARCH" and n:
        size = space_size(hp)
        if size is not None and size < hp.max_trials:
            out.append(
                f"The grid has only {size} points but maxTrials is {hp.max_trials}: grid "
                f"search stops after {size} trials.")
    return out


def count_warnings(max_trials: int, max_parallel: int, n_params: int, history: int = 0
                   ) -> list[str]:
    """The advice that needs only the numbers: also given for a form that still has errors,
    so a user sees errors and warnings together."""
    out = []
    if n_params and max_trials + history < 10 * n_params:
        had = f" plus {history} finished trials of the job it resumes" if history else ""
        out.append(
            f"maxTrials ({max_trials}){had} is less than 10 × the number of parameters "
            f"({n_params} → {10 * n_params}): with fewer than about ten trials per parameter "
            "the search learns little about the space.")
    if max_parallel > max_trials:
        out.append(
            f"maxParallelTrials ({max_parallel}) is greater than maxTrials "
            f"({max_trials}): at most {max_trials} trials will ever run at once.")
    return out


def draft_warnings(hp: Mapping[str, Any], history: int = 0) -> list[str]:
    """:func:`count_warnings` of a spec the parser refused (raw ``hyperparameters``), from
    whatever numbers in it are readable."""
    def number(key: str, default: int) -> int:
        try:
            return int(hp.get(key, default))
        except (TypeError, ValueError):
            return default

    max_trials = number("maxTrials", 1)
    return count_warnings(max_trials, number("maxParallelTrials", 1),
                          len(hp.get("params") or []), history)


def with_params(hp: HyperparameterSpec, previous: HyperparameterSpec | None) -> HyperparameterSpec:
    """The spec a resumed job will run with (the previous job's params and algorithm)."""
    if previous is None or hp.params:
        return hp
    return replace(hp, params=previous.params, algorithm=previous.algorithm)


def fingerprint(warnings: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(warnings).encode()).hexdigest()[:16]
