"""The one vocabulary: each reason hpdash stops a trial for says, once, how the trial ends."""

from __future__ import annotations

from hpdash.core.states import StopReason, TrialState


def test_every_stop_reason_names_the_state_its_trial_ends_in():
    ends = {reason: reason.trial_state for reason in StopReason}
    assert ends == {
        StopReason.CANCELLED: TrialState.CANCELLED,
        StopReason.JOB_FAILED: TrialState.CANCELLED,
        StopReason.STOPPED_EARLY: TrialState.SUCCEEDED,  # it keeps its last measurement
        StopReason.TOO_MANY_METRICS: TrialState.FAILED,
        StopReason.TIMED_OUT: TrialState.FAILED,
        # Not recorded: a newer attempt owns the trial, or it runs again.
        StopReason.SUPERSEDED: None,
        StopReason.WORKER_SHUTDOWN: None,
    }
    assert all(state is None or state.is_final for state in ends.values())
