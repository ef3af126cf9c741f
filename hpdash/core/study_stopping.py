"""When a study stops early (Vertex's ``studyStoppingConfig``): the reason, in words for the
job's message, or None.  A stopped study starts no more trials; its running trials finish
(``shouldStopAsap``: they are stopped), then the job ends SUCCEEDED (FAILED if no trial
succeeded) with the reason as its message.  No Django here.

*Progress* is a trial that improves on every trial that ended before it: with one metric, a
final value strictly better than the best so far; with several, a point no earlier trial
dominates or equals (it joins the Pareto front; Vertex applies the no-progress rules to
single-objective studies only).  Trials are taken in the order they ended; a failed one is a
trial without progress.  ``minNumTrials`` (succeeded trials) and ``minimumRuntimeConstraint``
hold back every rule but ``maximumRuntimeConstraint``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from hpdash.core.pareto import dominates
from hpdash.core.spec.types import StudyStopping


@dataclass(frozen=True)
class Ended:
    """A trial that ended: when, and its final values (None: it failed)."""

    end_time: dt.datetime
    values: tuple[float, ...] | None


def _improves(values: tuple[float, ...], before: list[tuple[float, ...]],
              maximize: Sequence[bool]) -> bool:
    return not any(b == values or dominates(b, values, maximize) for b in before)


def _last_progress(ended: Sequence[Ended], maximize: Sequence[bool]
                   ) -> tuple[int, dt.datetime | None]:
    """(trials ended since the last progress, when the last progress ended)."""
    seen: list[tuple[float, ...]] = []
    since, when = 0, None
    for e in ended:
        if e.values is not None and _improves(e.values, seen, maximize):
            since, when = 0, e.end_time
        else:
            since += 1
        if e.values is not None:
            seen.append(e.values)
    return since, when


def _seconds(text: str, now: dt.datetime) -> float:
    return (dt.datetime.fromisoformat(text) - now).total_seconds()


def stop_reason(rule: StudyStopping | None, *, ended: Sequence[Ended], created: int,
                started: dt.datetime | None, now: dt.datetime, maximize: Sequence[bool]
                ) -> str | None:
    """Why the study stops now (``ended`` in the order the trials ended; ``created``: how many
    trials it has), or None while it goes on."""
    if rule is None:
        return None
    ran = (now - started).total_seconds() if started else 0.0
    if rule.max_runtime_seconds is not None and started and ran >= rule.max_runtime_seconds:
        return (f"the study ran for {ran:.0f} s, its maximumRuntimeConstraint "
                f"({rule.max_runtime_seconds:g} s)")
    if rule.max_end_time is not None and _seconds(rule.max_end_time, now) <= 0:
        return f"the study reached its maximumRuntimeConstraint end time {rule.max_end_time}"
    succeeded = sum(1 for e in ended if e.values is not None)
    if rule.min_trials is not None and succeeded < rule.min_trials:
        return None
    if rule.min_runtime_seconds is not None and ran < rule.min_runtime_seconds:
        return None
    if rule.min_end_time is not None and _seconds(rule.min_end_time, now) > 0:
        return None
    if rule.max_trials is not None and created >= rule.max_trials:
        return f"the study has {created} trials, its maxNumTrials"
    since, when = _last_progress(ended, maximize)
    goal = "the metric" if len(maximize) == 1 else "the Pareto front"
    if rule.max_trials_no_progress is not None and since >= rule.max_trials_no_progress:
        return (f"no progress: {goal} did not improve in the last {since} trials "
                f"(maxNumTrialsNoProgress {rule.max_trials_no_progress})")
    quiet = (now - (when or started or now)).total_seconds()
    if rule.max_seconds_no_progress is not None and quiet >= rule.max_seconds_no_progress:
        return (f"no progress: {goal} did not improve for {quiet:.0f} s "
                f"(maxDurationNoProgress {rule.max_seconds_no_progress:g} s)")
    return None
