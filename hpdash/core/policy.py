"""When failed trials fail the whole job (seed: "Handling failed trials").  Pure functions.

- ``maxFailedTrials > 0``: the job fails as soon as that many trials have failed.
- ``maxFailedTrials`` unset or 0, hpdash decides (AI Platform's rules, with hpdash's numbers):
  * while no trial has succeeded, the first failure fails the job (a failing first trial
    usually means a bug in the trainer: stop before spending more);
  * afterwards the job fails when failures are *too many* — at least
    ``max(3, ceil(maxTrials / 2))`` — or *too high a ratio* — at least 3 failures and more than
    two failures per success.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hpdash.core.states import TrialState


@dataclass(frozen=True)
class TrialResult:
    trial_id: int
    state: TrialState  # SUCCEEDED or FAILED count; others are ignored
    reason: str = ""


def job_failure_reason(
    results: Sequence[TrialResult], *, max_trials: int, max_failed_trials: int
) -> str | None:
    failed = [r for r in results if r.state == TrialState.FAILED]
    if not failed:
        return None
    succeeded = sum(1 for r in results if r.state == TrialState.SUCCEEDED)
    last = failed[-1]
    tail = f"last failure: trial {last.trial_id}: {last.reason or 'failed'}"
    n = len(failed)
    trials_word = "trial" if n == 1 else "trials"
    if max_failed_trials > 0:
        if n >= max_failed_trials:
            return (f"Failing job: {n} {trials_word} failed "
                    f"(maxFailedTrials={max_failed_trials}); {tail}")
        return None
    if succeeded == 0:
        return f"Failing job: the first trial failed; {tail}"
    too_many = max(3, math.ceil(max_trials / 2))
    if n >= too_many:
        return f"Failing job: {n} trials failed (too many: limit {too_many}); {tail}"
    if n >= 3 and n > 2 * succeeded:
        return (f"Failing job: {n} trials failed against {succeeded} succeeded "
                f"(more than 2 failures per success); {tail}")
    return None
