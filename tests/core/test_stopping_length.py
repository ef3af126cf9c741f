"""A trial's own length when a parameter decides it (issue 24, rough edge 17)."""

import math

from hpdash.core.stopping import CurveBoundRule, Curves, StoppingContext
from hpdash.core.stopping_length import TrialLength, trial_length

RUNS = [({"epochs": 30, "lr": 0.1}, 30), ({"epochs": 10, "lr": 0.2}, 10),
        ({"epochs": 30, "lr": 0.3}, 30), ({"epochs": 10, "lr": 0.4}, 10)]


def test_the_parameter_that_decides_the_steps_gives_a_trial_its_own_length():
    assert trial_length({"epochs": 10, "lr": 0.7}, RUNS) == TrialLength(10, "epochs", 10)
    assert trial_length({"epochs": 30, "lr": 0.7}, RUNS) == TrialLength(30, "epochs", 30)


def test_a_value_no_full_run_had_yet_has_no_own_length():
    assert trial_length({"epochs": 20, "lr": 0.7}, RUNS) is None


def test_a_parameter_whose_values_never_repeat_decides_nothing():
    # lr alone maps each value to one length, by coincidence: no value was run twice.
    runs = [({"lr": 0.1}, 30), ({"lr": 0.2}, 10), ({"lr": 0.3}, 20)]
    assert trial_length({"lr": 0.2}, runs) is None


def test_runs_of_one_length_or_of_a_value_with_two_lengths_decide_nothing():
    same = [({"epochs": 30}, 30), ({"epochs": 10}, 30), ({"epochs": 10}, 30)]
    assert trial_length({"epochs": 10}, same) is None
    mixed = [*RUNS, ({"epochs": 10, "lr": 0.5}, 12)]
    assert trial_length({"epochs": 10, "lr": 0.5}, mixed) is None


def _curve(q, steps, tau):
    return [(t, q * (1 - math.exp(-t / tau))) for t in range(1, steps + 1)]


def test_the_default_rule_projects_a_trials_trend_to_its_own_end_and_says_so():
    completed = Curves({1: _curve(0.9, 30, 3), 2: _curve(0.9, 30, 3.5),
                        3: _curve(0.8, 10, 2), 4: _curve(0.8, 10, 2.5)})
    climbing = [(t, 0.05 + 0.05 * t) for t in range(1, 7)]  # 0.35 at step 6, +0.05 a step
    rule = CurveBoundRule()
    # Over the job's 30 steps its trend could take it past the best (0.9): it keeps running.
    assert rule.decide(StoppingContext(points=climbing, completed=completed,
                                       maximize=True)) is None
    # Its epochs give it 10 steps: 4 more at +0.05 cannot reach 0.9.
    d = rule.decide(StoppingContext(points=climbing, completed=completed, maximize=True,
                                    max_steps=10, length_from="epochs=10"))
    assert d is not None and d.step == 6
    assert ("its own trend to its own end at step 10 (where the full trials with epochs=10 "
            "ended) (0.2)") in d.detail
    assert "30-step" not in d.detail


def test_without_an_own_length_the_note_names_the_jobs_length():
    completed = Curves({i: _curve(0.9, 20, 3) for i in range(3)})
    d = CurveBoundRule().decide(StoppingContext(points=[(1, 0.1), (2, 0.1), (3, 0.1)],
                                                completed=completed, maximize=True))
    assert d is not None and "its own trend over the job's 20-step length (0)" in d.detail
