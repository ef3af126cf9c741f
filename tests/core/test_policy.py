from hpdash.core.policy import TrialResult, job_failure_reason
from hpdash.core.states import TrialState


def results(*states):
    return [TrialResult(i + 1, TrialState(s), "exit code 3" if s == "FAILED" else "")
            for i, s in enumerate(states)]


def test_max_failed_trials_fails_the_job_exactly_at_the_limit():
    assert job_failure_reason(results("SUCCEEDED", "FAILED"), max_trials=10,
                              max_failed_trials=2) is None
    reason = job_failure_reason(results("SUCCEEDED", "FAILED", "FAILED"), max_trials=10,
                                max_failed_trials=2)
    assert reason == ("Failing job: 2 trials failed (maxFailedTrials=2); "
                      "last failure: trial 3: exit code 3")


def test_with_max_failed_trials_set_a_failing_first_trial_does_not_end_the_job():
    assert job_failure_reason(results("FAILED"), max_trials=10, max_failed_trials=3) is None


def test_by_default_a_failing_first_trial_fails_the_job_at_once():
    reason = job_failure_reason(results("FAILED"), max_trials=10, max_failed_trials=0)
    assert reason == "Failing job: the first trial failed; last failure: trial 1: exit code 3"


def test_by_default_a_few_failures_after_a_success_are_tolerated():
    assert job_failure_reason(results("SUCCEEDED", "FAILED", "FAILED", "SUCCEEDED"),
                              max_trials=20, max_failed_trials=0) is None


def test_by_default_too_many_failures_fail_the_job():
    states = ["SUCCEEDED"] * 6 + ["FAILED"] * 5
    assert job_failure_reason(results(*states), max_trials=10, max_failed_trials=0) is not None
    reason = job_failure_reason(results(*states), max_trials=10, max_failed_trials=0)
    assert reason is not None and "too many" in reason


def test_by_default_too_high_a_failure_ratio_fails_the_job():
    reason = job_failure_reason(results("SUCCEEDED", "FAILED", "FAILED", "FAILED"),
                                max_trials=100, max_failed_trials=0)
    assert reason is not None and "more than 2 failures per success" in reason
