import pytest

from hpdash.core.stopping import CompletedCurves, should_stop

RISING = {i: [(s, 0.5 + 0.01 * s + 0.1 * i) for s in range(1, 11)] for i in range(1, 5)}


def test_a_trial_below_the_median_running_average_is_stopped_when_maximizing():
    completed = CompletedCurves(RISING)
    bad = [(1, 0.1), (2, 0.12), (3, 0.13)]
    assert should_stop(bad, completed, maximize=True) is not None


def test_a_trial_at_or_above_the_median_keeps_running():
    completed = CompletedCurves(RISING)
    good = [(1, 0.9), (2, 0.95), (3, 0.97)]
    assert should_stop(good, completed, maximize=True) is None


def test_minimizing_turns_the_rule_around():
    completed = CompletedCurves(RISING)
    low = [(1, 0.1), (2, 0.12), (3, 0.13)]
    assert should_stop(low, completed, maximize=False) is None
    high = [(1, 2.0), (2, 2.1), (3, 2.2)]
    assert should_stop(high, completed, maximize=False) is not None


def test_the_best_value_so_far_counts_not_the_latest():
    completed = CompletedCurves(RISING)
    dipped = [(1, 0.9), (2, 0.1), (3, 0.1)]  # was good, then got worse: not stopped
    assert should_stop(dipped, completed, maximize=True) is None


def test_running_averages_use_only_values_reported_up_to_the_trials_step():
    # Completed trials start low and end high: at step 3 their running average is low.
    curves = {i: [(s, s / 10) for s in range(1, 11)] for i in range(3)}
    completed = CompletedCurves(curves)
    assert completed.running_averages(3) == pytest.approx([0.2, 0.2, 0.2])
    early = [(1, 0.25), (2, 0.25), (3, 0.25)]
    assert should_stop(early, completed, maximize=True) is None


def test_nothing_is_stopped_during_the_grace_period_or_with_too_few_completed_trials():
    completed = CompletedCurves(RISING)
    assert should_stop([(1, 0.0), (2, 0.0)], completed, maximize=True) is None
    few = CompletedCurves({1: RISING[1], 2: RISING[2]})
    assert should_stop([(1, 0.0), (2, 0.0), (3, 0.0)], few, maximize=True) is None


def test_completed_trials_without_values_up_to_the_step_do_not_take_part():
    late = CompletedCurves({i: [(100, 1.0)] for i in range(5)})
    assert should_stop([(1, 0.0), (2, 0.0), (3, 0.0)], late, maximize=True) is None
