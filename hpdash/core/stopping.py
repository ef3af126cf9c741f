"""Early stopping (seed: "Stopping trials early"): Google Vizier's median stopping rule.  Pure.

Stop a running trial at step ``s`` when its best value so far is strictly worse than the median
of the *running averages* of the completed trials' values reported up to step ``s`` (Golovin et
al., KDD'17, §3.2.2).  hpdash's choices where the paper is silent:

- Only SUCCEEDED trials count as completed (a trial stopped early counts too: it is SUCCEEDED).
- A completed trial takes part at step ``s`` only if it reported a value at or before ``s``;
  at least ``MIN_COMPLETED_TRIALS`` (3) must take part, else nothing is stopped.
- Grace period: a trial is never stopped before it has reported ``GRACE_MEASUREMENTS`` (3)
  values, so a slow start is not punished.
- "Worse" follows the goal: lower when maximizing, higher when minimizing.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Mapping, Sequence

MIN_COMPLETED_TRIALS = 3
GRACE_MEASUREMENTS = 3


class CompletedCurves:
    """Completed trials' curves, prepared for fast running averages at any step."""

    def __init__(self, curves: Mapping[int, Sequence[tuple[int, float]]]) -> None:
        self._prepared: dict[int, tuple[list[int], list[float]]] = {}
        for trial_id, points in curves.items():
            self.add(trial_id, points)

    def add(self, trial_id: int, points: Sequence[tuple[int, float]]) -> None:
        ordered = sorted(points, key=lambda p: p[0])
        steps = [s for s, _ in ordered]
        sums: list[float] = []
        total = 0.0
        for _, v in ordered:
            total += v
            sums.append(total)
        self._prepared[trial_id] = (steps, sums)

    def trial_ids(self) -> list[int]:
        return list(self._prepared)

    def __len__(self) -> int:
        return len(self._prepared)

    def running_averages(self, step: int) -> list[float]:
        out = []
        for steps, sums in self._prepared.values():
            n = bisect.bisect_right(steps, step)
            if n:
                out.append(sums[n - 1] / n)
        return out


def should_stop(
    measurements: Sequence[tuple[int, float]], completed: CompletedCurves, *, maximize: bool
) -> str | None:
    """A reason to stop the trial now, or None.  ``measurements`` are the running trial's
    (step, value) pairs in report order."""
    if len(measurements) < GRACE_MEASUREMENTS:
        return None
    step = max(s for s, _ in measurements)
    averages = completed.running_averages(step)
    if len(averages) < MIN_COMPLETED_TRIALS:
        return None
    median = statistics.median(averages)
    values = [v for _, v in measurements]
    best = max(values) if maximize else min(values)
    worse = best < median if maximize else best > median
    if not worse:
        return None
    return (f"stopped early at step {step}: best value {best:.6g} is worse than the median "
            f"{median:.6g} of {len(averages)} completed trials' running averages")
