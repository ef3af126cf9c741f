"""How an attempt's end becomes the trial's outcome: the state from StopReason.trial_state, the
cause in words a user can act on."""

from __future__ import annotations

import signal
from types import SimpleNamespace
from typing import Any

import pytest

from hpdash.core.runner import ProcessOutcome
from hpdash.core.states import StopReason, TrialState
from hpdash.services.trials import TrialOutcome
from hpdash.worker.trial_runner import TrialRun


def decide(reason: StopReason | None, *, over_cap: bool = False, stored: int = 3,
           returncode: int = 0, requires_metric: bool = True,
           missing: tuple[str, ...] | None = None) -> TrialOutcome:
    """``missing``: a multi-objective study's metrics that nothing reported (None: the study
    has one metric)."""
    run: Any = object.__new__(TrialRun)  # only what _decide reads, no database
    run.trial = SimpleNamespace(trial_id=7)
    run.job = SimpleNamespace(metric_tag="acc",
                              spec=SimpleNamespace(multi_objective=missing is not None),
                              definition=SimpleNamespace(requires_metric=requires_metric))
    run.metrics = SimpleNamespace(over_cap=over_cap, stored=stored,
                                  sources=SimpleNamespace(rejected=[], seen=lambda: "",
                                                          missing=lambda: list(missing or ())))
    stopped = reason is not None  # hpdash stopped it: SIGTERM
    process = ProcessOutcome(
        returncode=None if stopped else returncode, signal=signal.SIGTERM if stopped else None,
        timed_out=reason is StopReason.TIMED_OUT, stop_reason=reason, duration=12.0,
        log_truncated=False)
    outcome: TrialOutcome = run._decide(process, reason)
    return outcome


@pytest.mark.parametrize(("reason", "state", "cause"), [
    (StopReason.CANCELLED, TrialState.CANCELLED, "job cancelled"),
    (StopReason.JOB_FAILED, TrialState.CANCELLED, "job failed"),
    (StopReason.STOPPED_EARLY, TrialState.SUCCEEDED, ""),
    (StopReason.TIMED_OUT, TrialState.FAILED, "timed out after 12 s"),
    (StopReason.TOO_MANY_METRICS, TrialState.FAILED,
     "Too many hyperparameter tuning metrics were written by Hyperparameter Tuning Trial #7."),
])
def test_a_trial_hpdash_stopped_ends_as_its_reason_says(reason, state, cause):
    assert decide(reason) == TrialOutcome(state, reason, cause)
    assert state == reason.trial_state


def test_metrics_over_the_cap_fail_the_trial_whatever_else_stopped_it():
    outcome = decide(StopReason.STOPPED_EARLY, over_cap=True)
    assert (outcome.state, outcome.stop_reason) == (TrialState.FAILED,
                                                    StopReason.TOO_MANY_METRICS)


def test_a_trainer_that_ended_by_itself_succeeds_or_fails_on_its_exit_and_its_metrics():
    assert decide(None) == TrialOutcome(TrialState.SUCCEEDED)
    assert decide(None, returncode=2) == TrialOutcome(TrialState.FAILED, None, "exit code 2")
    assert decide(None, stored=0) == TrialOutcome(TrialState.FAILED, None,
                                                  'no metric "acc" reported')


def test_the_one_run_of_a_vertex_custom_job_needs_no_metric():
    assert decide(None, stored=0, requires_metric=False) == TrialOutcome(TrialState.SUCCEEDED)
    assert decide(None, stored=0, returncode=1, requires_metric=False).state == TrialState.FAILED


def test_a_multi_objective_trial_without_every_metric_fails_naming_those_it_lacks():
    assert decide(None, missing=()) == TrialOutcome(TrialState.SUCCEEDED)
    outcome = decide(None, missing=("latency",))
    assert outcome.state == TrialState.FAILED
    assert outcome.failure_reason.startswith('no metric "latency" reported')
