import json
import shutil

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
