"""Vertex's studyStoppingConfig: when a study stops, and why, in words."""

from __future__ import annotations

import datetime as dt

from hpdash.core.spec.types import StudyStopping
from hpdash.core.study_stopping import Ended, stop_reason

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def ended(*values: float | None, gap: float = 60.0) -> list[Ended]:
    return [Ended(T0 + dt.timedelta(seconds=gap * (i + 1)), None if v is None else (v,))
            for i, v in enumerate(values)]


def reason(rule: StudyStopping, trials: list[Ended], *, now: dt.datetime | None = None,
           maximize: tuple[bool, ...] = (True,)) -> str | None:
    now = now or (trials[-1].end_time if trials else T0)
    return stop_reason(rule, ended=trials, created=len(trials), started=T0, now=now,
                       maximize=maximize)


def test_no_progress_in_n_trials_stops_and_says_so():
    rule = StudyStopping(max_trials_no_progress=3)
    assert reason(rule, ended(0.5, 0.7, 0.6, None)) is None  # 2 since 0.7
    why = reason(rule, ended(0.5, 0.7, 0.6, None, 0.7))  # equal is no progress
    assert why is not None and "last 3 trials" in why and "maxNumTrialsNoProgress 3" in why
    # minimising, the same values are progress every time
    assert reason(rule, ended(0.7, 0.6, 0.5, 0.4), maximize=(False,)) is None


def test_no_progress_for_a_duration_counts_from_the_last_improvement():
    rule = StudyStopping(max_seconds_no_progress=300)
    trials = ended(0.5, 0.9, 0.1)  # 0.9 ended at +120 s
    assert reason(rule, trials, now=T0 + dt.timedelta(seconds=419)) is None
    why = reason(rule, trials, now=T0 + dt.timedelta(seconds=420))
    assert why is not None and "did not improve for 300 s" in why


def test_the_minimums_hold_back_every_rule_but_the_maximum_runtime():
    trials = ended(0.5, 0.4, 0.3, 0.2)
    assert reason(StudyStopping(max_trials_no_progress=2, min_trials=5), trials) is None
    assert reason(StudyStopping(max_trials_no_progress=2, min_runtime_seconds=3600),
                  trials) is None
    why = reason(StudyStopping(max_runtime_seconds=200, min_trials=5), trials)
    assert why is not None and "maximumRuntimeConstraint" in why
    late = (T0 + dt.timedelta(hours=1)).isoformat()
    assert reason(StudyStopping(max_end_time=late), trials) is None
    assert reason(StudyStopping(max_end_time=late), trials,
                  now=T0 + dt.timedelta(hours=2)) is not None
    assert "maxNumTrials" in (reason(StudyStopping(max_trials=4), trials) or "")


def test_with_several_metrics_progress_is_a_trial_joining_the_pareto_front():
    rule = StudyStopping(max_trials_no_progress=2)
    pts = [(0.5, 50.0), (0.6, 60.0), (0.4, 60.0), (0.5, 55.0)]  # acc ↑, latency ↓
    trials = [Ended(T0 + dt.timedelta(seconds=i), p) for i, p in enumerate(pts)]
    why = stop_reason(rule, ended=trials, created=4, started=T0, now=T0,
                      maximize=(True, False))
    assert why is not None and "Pareto front" in why
    trials[3] = Ended(trials[3].end_time, (0.55, 52.0))  # a new trade-off: progress
    assert stop_reason(rule, ended=trials, created=4, started=T0, now=T0,
                       maximize=(True, False)) is None
