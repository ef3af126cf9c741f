import pytest

from hpdash.core.runner.tbruns import RunChooser, is_eval_run
from hpdash.core.runner.tfevents import RunMeasurement


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def m(run, step, value, tag="epoch_accuracy"):
    return RunMeasurement(step=step, value=value, timestamp=100.0 + step, run=run, tag=tag)


def pairs(ms):
    return [(x.step, x.value) for x in ms]


@pytest.mark.parametrize("run,expected", [
    ("validation", True), ("eval", True), ("eval_census-eval", True), ("evaluation", True),
    ("fold1/validation", True), ("Validation", True),
    ("train", False), (".", False), ("validation_old", False), ("my_eval", False),
    ("eval/train", False),
])
def test_evaluation_runs_are_validation_eval_or_start_with_eval(run, expected):
    assert is_eval_run(run) is expected


def test_an_unqualified_tag_in_train_and_validation_takes_validation_only():
    c = RunChooser("epoch_accuracy", clock=Clock())
    got = c.feed([m("train", 0, 0.5), m("validation", 0, 0.8),
                  m("train", 1, 0.6), m("validation", 1, 0.9)], ["train", "validation"])
    assert pairs(got) == [(0, 0.8), (1, 0.9)]  # one value a step
    assert c.run == "validation"
    assert pairs(c.feed([m("train", 2, 0.7), m("validation", 2, 0.95)])) == [(2, 0.95)]


def test_an_eval_run_is_preferred_even_when_the_train_run_reported_first():
    clock = Clock()
    c = RunChooser("epoch_accuracy", clock=clock)
    assert c.feed([m("train", 0, 0.5), m("train", 1, 0.6)], ["train"]) == []  # held back
    clock.now += 5
    got = c.feed([m("eval_census-eval", 0, 0.8), m("train", 2, 0.7)],
                 ["train", "eval_census-eval"])
    assert pairs(got) == [(0, 0.8)] and c.run == "eval_census-eval"


def test_without_an_eval_run_the_first_run_to_report_is_taken_after_the_wait():
    clock = Clock()
    c = RunChooser("loss", wait=10, clock=clock)
    assert c.feed([m("a", 0, 3.0, tag="loss")], ["a"]) == []
    clock.now += 5
    assert c.feed([m("b", 0, 9.0, tag="loss")], ["a", "b"]) == []
    clock.now += 5
    got = c.feed([m("a", 1, 2.0, tag="loss"), m("b", 1, 8.0, tag="loss")], ["a", "b"])
    assert pairs(got) == [(0, 3.0), (1, 2.0)] and c.run == "a"


def test_the_trainer_exiting_settles_the_choice_at_once():
    c = RunChooser("epoch_accuracy", clock=Clock())
    assert c.feed([m("train", 0, 0.5)], ["train"]) == []
    assert pairs(c.feed([], ["train"], final=True)) == [(0, 0.5)]
    assert c.run == "train"


def test_an_eval_runs_event_file_without_the_tag_yet_makes_the_train_run_wait_longer():
    clock = Clock()
    c = RunChooser("epoch_accuracy", wait=10, eval_file_wait=150, clock=clock)
    assert c.feed([m("train", 0, 0.5)], ["train", "validation"]) == []
    clock.now += 60
    assert c.feed([], ["train", "validation"]) == []
    clock.now += 100
    assert pairs(c.feed([], ["train", "validation"])) == [(0, 0.5)] and c.run == "train"


def test_a_qualified_tag_takes_the_run_it_names():
    c = RunChooser("train/epoch_accuracy", clock=Clock())
    got = c.feed([m("train", 0, 0.5), m("validation", 0, 0.8, tag="train/epoch_accuracy")],
                 ["train", "validation"])
    assert pairs(got) == [(0, 0.5)] and c.run == "train"


def test_the_note_says_which_run_was_used_and_which_were_ignored_once():
    c = RunChooser("epoch_accuracy", clock=Clock())
    c.feed([m("train", 0, 0.5), m("validation", 0, 0.8)], ["train", "validation"])
    assert c.take_notes() == [
        'metric "epoch_accuracy": using TensorBoard run "validation", the evaluation run; '
        'ignored run "train"']
    c.feed([m("train", 1, 0.6), m("validation", 1, 0.9)])
    assert c.take_notes() == []  # not every poll
    c.feed([m("eval2", 1, 0.1), m("eval2", 2, 0.2)])
    assert c.take_notes() == ['metric "epoch_accuracy": also ignored TensorBoard run "eval2"']
    c.feed([m("eval2", 3, 0.3)])
    assert c.take_notes() == []


def test_the_note_for_a_qualified_tag_shows_the_tag_as_written_in_the_run():
    c = RunChooser("train/epoch_accuracy", clock=Clock())
    c.feed([m("train", 0, 0.5)], ["train"])
    assert c.take_notes() == ['metric "train/epoch_accuracy": using TensorBoard run "train" '
                              '(tag "epoch_accuracy"), the run the tag names']
