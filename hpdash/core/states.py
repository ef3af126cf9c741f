"""The one vocabulary of states and outcomes, shared by every module: the models, the API, the
list filter, the suggesters, the failure policy, the worker and the CLI's server side.

Values are ml v1's strings (``StrEnum``: a member *is* its string, so it is stored, compared and
serialised as the API spells it).  Decisions travel as these members, never as prose: a trial
log line may say anything, nobody parses it.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """ml v1's ``Job.State`` (``STATE_UNSPECIFIED`` is never stored)."""

    QUEUED = "QUEUED"
    PREPARING = "PREPARING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATES


class TrialState(StrEnum):
    """A trial's state: ml v1's ``HyperparameterOutput.state`` values that a trial takes."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in FINAL_TRIAL_STATES


FINAL_JOB_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
FINAL_TRIAL_STATES = frozenset({TrialState.SUCCEEDED, TrialState.FAILED, TrialState.CANCELLED})
ACTIVE_TRIAL_STATES = frozenset({TrialState.QUEUED, TrialState.RUNNING})

# What ml v1's list filter accepts for ``state`` (the enum's full spelling, unspecified first).
FILTER_STATES = ("STATE_UNSPECIFIED", *(s.value for s in JobState))


class ObservationState(StrEnum):
    """A trial as a suggester sees it: a result, a failure, or a point taken (queued or
    running: its value is not known yet)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"


class StopReason(StrEnum):
    """Why hpdash ended a trial before its trainer did (stored on the trial; shown as the
    ``label``)."""

    CANCELLED = "cancelled"  # its job was cancelled
    JOB_FAILED = "job failed"  # its job failed (too many failed trials)
    STOPPED_EARLY = "stopped early"  # the early-stopping rule
    TOO_MANY_METRICS = "too many metrics"  # the trial reported more than the cap
    TIMED_OUT = "timed out"  # scheduling.maxRunningTime
    SUPERSEDED = "superseded"  # this attempt was re-queued (its worker was presumed lost)
    WORKER_SHUTDOWN = "worker shutdown"  # the worker is stopping; the trial runs again

    @property
    def trial_state(self) -> TrialState | None:
        """The state the trial ends in, or None when this attempt's outcome is not recorded
        (a newer attempt owns the trial, or the trial is put back in the queue)."""
        return _STOP_STATE[self]


_STOP_STATE: dict[StopReason, TrialState | None] = {
    StopReason.CANCELLED: TrialState.CANCELLED,
    StopReason.JOB_FAILED: TrialState.CANCELLED,
    # A trial stopped early keeps its last measurement and counts as a success.
    StopReason.STOPPED_EARLY: TrialState.SUCCEEDED,
    StopReason.TOO_MANY_METRICS: TrialState.FAILED,
    StopReason.TIMED_OUT: TrialState.FAILED,
    StopReason.SUPERSEDED: None,
    StopReason.WORKER_SHUTDOWN: None,
}
