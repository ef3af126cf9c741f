import json
import shutil
from pathlib import Path

from keras_runs import KERAS_RUNS, keras_expected
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from hpdash.core.runner.sources import MetricSources


def poll_all(sources):
    got = []
    source, new = sources.poll(final=True)
    got += new
    return source, [(x.step, x.value) for x in got]


def test_the_real_keras_runs_give_the_validation_series_stored_as_tfevents_validation(tmp_path):
    shutil.copytree(KERAS_RUNS, tmp_path / "job")
    s = MetricSources(str(tmp_path / "metrics"), "epoch_accuracy", str(tmp_path / "job"))
    assert poll_all(s) == ("tfevents:validation", keras_expected("validation"))
    assert s.take_notes() == ['metric "epoch_accuracy": using TensorBoard run "validation", '
                              'the evaluation run; ignored run "train"']
    assert s.take_notes() == []


def test_a_qualified_tag_gives_the_train_series(tmp_path):
    shutil.copytree(KERAS_RUNS, tmp_path / "job")
    s = MetricSources(str(tmp_path / "metrics"), "train/epoch_accuracy", str(tmp_path / "job"))
    assert poll_all(s) == ("tfevents:train", keras_expected("train"))


def test_a_qualified_tag_naming_a_missing_run_reports_nothing_and_tells_the_runs_seen(tmp_path):
    shutil.copytree(KERAS_RUNS, tmp_path / "job")
    s = MetricSources(str(tmp_path / "metrics"), "eval/epoch_accuracy", str(tmp_path / "job"))
    assert poll_all(s) == ("hypertune", [])
    assert s.seen() == 'TensorBoard runs under the job dir: "train", "validation"'


def test_hypertune_still_wins_when_it_reports_first(tmp_path):
    w = EventFileWriter(str(tmp_path / "job" / "validation"))
    w.add_event(event_pb2.Event(step=1, wall_time=1.0, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="acc", simple_value=0.5)])))
    w.close()
    (tmp_path / "metrics").write_text(json.dumps({"acc": 0.9, "global_step": 1}) + "\n")
    s = MetricSources(str(tmp_path / "metrics"), "acc", str(tmp_path / "job"))
    assert poll_all(s) == ("hypertune", [(1, 0.9)])
    assert s.take_notes() == [] and s.seen() == ""


def _report(path: Path, **metrics: float) -> None:
    record = {"timestamp": 1.0, "trial": "1", "global_step": "1", **metrics}
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def test_the_tags_reported_instead_are_named_with_the_closest_as_a_suggestion(tmp_path):
    metrics = tmp_path / "output.metrics"
    _report(metrics, accuracy=0.9)
    _report(metrics, loss=0.3)
    sources = MetricSources(str(metrics), "acc", None)
    assert sources.poll() == ("hypertune", [])
    assert sources.seen() == ('the trainer reported "accuracy", "loss" through hypertune; did '
                              'you mean the metric tag "accuracy"?')


def test_nothing_is_suggested_when_no_reported_tag_is_close(tmp_path):
    metrics = tmp_path / "output.metrics"
    _report(metrics, zzz=1.0)
    sources = MetricSources(str(metrics), "accuracy", None)
    sources.poll()
    assert sources.seen() == 'the trainer reported "zzz" through hypertune'


def test_a_trainer_that_reported_nothing_has_nothing_to_show(tmp_path):
    sources = MetricSources(str(tmp_path / "none.metrics"), "accuracy", None)
    sources.poll()
    assert sources.seen() == ""


def _by_metric(measurements) -> dict[int, list[tuple[int, float]]]:
    out: dict[int, list[tuple[int, float]]] = {}
    for m in measurements:
        out.setdefault(m.metric, []).append((m.step, m.value))
    return out


def test_each_metric_of_a_study_is_read_from_its_own_summary_tag(tmp_path):
    """Two metrics through real Keras event files: epoch_accuracy and epoch_loss, each from
    the validation run (the evaluation run), each stored under its own metric."""
    shutil.copytree(KERAS_RUNS, tmp_path / "job")
    s = MetricSources(str(tmp_path / "metrics"), "epoch_accuracy", str(tmp_path / "job"),
                      more_tags=("epoch_loss",))
    source, new = s.poll(final=True)
    assert source == "tfevents:validation"
    got = _by_metric(new)
    assert got[0] == keras_expected("validation")
    loss = got[1]
    assert [step for step, _ in loss] == [0, 1, 2, 3]
    assert loss[-1][1] < loss[0][1] < 1.0  # the validation loss falls
    assert loss[0][1] == 0.53110754  # validation's, not train's (0.6806492)
    assert s.missing() == []
    assert s.take_notes() == [
        'metric "epoch_accuracy": using TensorBoard run "validation", the evaluation run; '
        'ignored run "train"',
        'metric "epoch_loss": using TensorBoard run "validation", the evaluation run; '
        'ignored run "train"']


def test_a_metric_missing_from_the_summaries_is_named(tmp_path):
    w = EventFileWriter(str(tmp_path / "job" / "eval"))
    for step, (acc, latency) in enumerate([(0.5, 12.0), (0.7, 11.5)], 1):
        w.add_event(event_pb2.Event(step=step, wall_time=float(step), summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="acc", simple_value=acc),
                   summary_pb2.Summary.Value(tag="latency", simple_value=latency)])))
    w.close()
    s = MetricSources(str(tmp_path / "metrics"), "acc", str(tmp_path / "job"),
                      more_tags=("latency", "memory"))
    source, new = s.poll(final=True)
    assert source == "tfevents:eval"
    assert _by_metric(new) == {0: [(1, 0.5), (2, 0.7)], 1: [(1, 12.0), (2, 11.5)]}
    assert s.missing() == ["memory"]
