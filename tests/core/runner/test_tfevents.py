import glob
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from keras_runs import KERAS_RUNS, keras_expected
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from hpdash.core.runner import tfevents
from hpdash.core.runner.tfevents import TfEventsFollower

SCALARS = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))


def tf1(tag, value):
    return summary_pb2.Summary.Value(tag=tag, simple_value=value)


def tf2(tag, value, dtype=types_pb2.DT_FLOAT, metadata=True, shape=()):
    """A scalar as TF2's tf.summary.scalar writes it: a tensor with its bytes in tensor_content."""
    np_dtype = {types_pb2.DT_FLOAT: "<f4", types_pb2.DT_DOUBLE: "<f8", types_pb2.DT_INT32: "<i4",
                types_pb2.DT_INT64: "<i8", types_pb2.DT_HALF: "<f2"}[dtype]
    tensor = tensor_pb2.TensorProto(
        dtype=dtype, tensor_content=np.array(value, dtype=np_dtype).reshape(shape).tobytes(),
        tensor_shape={"dim": [{"size": d} for d in shape]})
    return summary_pb2.Summary.Value(tag=tag, tensor=tensor,
                                     metadata=SCALARS if metadata else None)


def event(step, *values, wall_time=None):
    return event_pb2.Event(step=step, wall_time=wall_time if wall_time else time.time(),
                           summary=summary_pb2.Summary(value=list(values)))


def write(logdir, *events, writer=None):
    w = writer or EventFileWriter(str(logdir))
    for e in events:
        w.add_event(e)
    w.flush()
    if writer is None:
        w.close()
    return w


def steps_values(ms):
    return [(m.step, m.value) for m in ms]


def the_file(logdir):
    (path,) = glob.glob(os.path.join(str(logdir), "events.out.tfevents.*"))
    return path


def test_it_reads_tf1_simple_value_scalars_written_by_tensorboards_writer(tmp_path):
    write(tmp_path, *[event(s, tf1("accuracy", s / 10), wall_time=100 + s) for s in range(1, 4)])
    got = TfEventsFollower(str(tmp_path), "accuracy").poll()
    assert steps_values(got) == [(1, 0.1), (2, 0.2), (3, 0.3)]
    assert [m.timestamp for m in got] == [101, 102, 103]


def test_it_reads_tf2_tensor_scalars_whose_metadata_comes_with_the_first_value_only(tmp_path):
    write(tmp_path, *[event(s, tf2("epoch_acc", s / 4, metadata=(s == 1))) for s in range(1, 4)])
    got = TfEventsFollower(str(tmp_path), "epoch_acc").poll()
    assert steps_values(got) == [(1, 0.25), (2, 0.5), (3, 0.75)]


@pytest.mark.parametrize("dtype,value,expected", [
    (types_pb2.DT_FLOAT, 0.1, 0.1),
    (types_pb2.DT_DOUBLE, 0.123456789012, 0.123456789012),
    (types_pb2.DT_HALF, 0.5, 0.5),
    (types_pb2.DT_INT32, 7, 7.0),
    (types_pb2.DT_INT64, 2**40, float(2**40)),
])
def test_it_accepts_tensor_scalars_of_float_double_half_and_int_dtypes(
        tmp_path, dtype, value, expected):
    write(tmp_path, event(3, tf2("m", value, dtype=dtype)))
    assert steps_values(TfEventsFollower(str(tmp_path), "m").poll()) == [(3, expected)]


def test_it_accepts_one_element_tensors_and_typed_value_fields(tmp_path):
    typed = summary_pb2.Summary.Value(tag="m", tensor=tensor_pb2.TensorProto(
        dtype=types_pb2.DT_DOUBLE, double_val=[0.75]))
    int_typed = summary_pb2.Summary.Value(tag="m", tensor=tensor_pb2.TensorProto(
        dtype=types_pb2.DT_INT32, int_val=[4]))
    half_typed = summary_pb2.Summary.Value(tag="m", tensor=tensor_pb2.TensorProto(
        dtype=types_pb2.DT_HALF, half_val=[0x3E00]))  # 1.5
    bfloat16 = summary_pb2.Summary.Value(tag="m", tensor=tensor_pb2.TensorProto(
        dtype=types_pb2.DT_BFLOAT16, half_val=[0x4020]))  # 2.5
    bfloat16_content = summary_pb2.Summary.Value(tag="m", tensor=tensor_pb2.TensorProto(
        dtype=types_pb2.DT_BFLOAT16, tensor_content=struct.pack("<H", 0xBF40)))  # -0.75
    write(tmp_path, event(1, tf2("m", [0.5], shape=(1,))), event(2, typed), event(3, int_typed),
          event(4, half_typed), event(5, bfloat16), event(6, bfloat16_content))
    assert steps_values(TfEventsFollower(str(tmp_path), "m").poll()) == [
        (1, 0.5), (2, 0.75), (3, 4.0), (4, 1.5), (5, 2.5), (6, -0.75)]


def test_only_the_exact_tag_counts_including_its_scopes(tmp_path):
    write(tmp_path,
          event(1, tf1("train/accuracy", 0.11), tf1("accuracy_1", 0.12), tf1("Accuracy", 0.13)),
          event(2, tf2("eval/accuracy", 0.21), tf2("accuracy/", 0.22), tf1("accuracy", 0.5)),
          event(3, tf1("loss", 2.0)))
    assert steps_values(TfEventsFollower(str(tmp_path), "accuracy").poll()) == [(2, 0.5)]
    assert steps_values(TfEventsFollower(str(tmp_path), "train/accuracy").poll()) == [(1, 0.11)]


def test_a_non_scalar_summary_with_the_tag_is_not_a_measurement(tmp_path):
    hist = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="histograms"))
    buckets = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_DOUBLE, tensor_shape={"dim": [{"size": 1}, {"size": 3}]},
        tensor_content=np.array([[0, 1, 5]], dtype="<f8").tobytes())
    write(tmp_path / "a", event(1, summary_pb2.Summary.Value(tag="w", tensor=buckets,
                                                             metadata=hist)))
    # A later 1-element value in the same file belongs to the same histogram series.
    write(tmp_path / "b", event(1, summary_pb2.Summary.Value(tag="w", metadata=hist, tensor=(
        tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, double_val=[3.0])))),
        event(2, tf2("w", 1.0, metadata=False)))
    f = TfEventsFollower(str(tmp_path), "w")
    assert f.poll() == []
    assert any("not a scalar" in r for r in f.rejected)


def test_a_text_summary_with_the_tag_is_rejected_as_not_a_scalar(tmp_path):
    text = summary_pb2.Summary.Value(tag="m", tensor=tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, string_val=[b"0.9"]))
    write(tmp_path, event(1, text))
    f = TfEventsFollower(str(tmp_path), "m")
    assert f.poll() == [] and "not a scalar" in f.rejected[-1]


def test_it_reads_train_and_eval_subfolders_ordered_by_wall_time(tmp_path):
    write(tmp_path, event(10, tf1("accuracy", 0.1), wall_time=1000.0),
          event(30, tf1("accuracy", 0.3), wall_time=1002.0))
    write(tmp_path / "eval_census-eval", event(20, tf1("accuracy", 0.2), wall_time=1001.0),
          event(40, tf1("accuracy", 0.4), wall_time=1003.0))
    write(tmp_path / "deep" / "er" / "train", event(50, tf2("accuracy", 0.5), wall_time=1004.0))
    f = TfEventsFollower(str(tmp_path), "accuracy")
    got = f.poll()
    assert [m.step for m in got] == [10, 20, 30, 40, 50]
    assert len(f.files) == 3


def test_a_file_appended_to_between_polls_yields_only_the_new_values(tmp_path):
    w = EventFileWriter(str(tmp_path))
    f = TfEventsFollower(str(tmp_path), "acc")
    for step in range(1, 6):
        write(tmp_path, event(step, tf1("acc", step / 10), tf2("acc", step)), writer=w)
        assert steps_values(f.poll()) == [(step, step / 10), (step, float(step))]
        assert f.poll() == []
    w.close()
    assert len(f.files) == 1


def test_a_file_created_after_the_first_poll_is_found_at_the_next_rescan(tmp_path):
    write(tmp_path, event(1, tf1("acc", 0.1)))
    f = TfEventsFollower(str(tmp_path), "acc", rescan_interval=0.3)
    assert [m.step for m in f.poll()] == [1]
    write(tmp_path / "eval", event(2, tf1("acc", 0.2)))
    assert f.poll() == []  # the tree is not walked again this soon
    time.sleep(0.35)
    assert [m.step for m in f.poll()] == [2]


def test_a_final_poll_walks_the_tree_at_once(tmp_path):
    f = TfEventsFollower(str(tmp_path / "job"), "acc")  # the job dir does not exist yet
    assert f.poll() == []
    write(tmp_path / "job" / "eval", event(2, tf1("acc", 0.2)))
    assert f.poll() == []
    assert [m.step for m in f.poll(final=True)] == [2]


def test_a_truncated_last_record_is_picked_up_once_completed_at_every_cut_point(tmp_path):
    write(tmp_path / "src", event(1, tf1("acc", 0.1)), event(2, tf2("acc", 0.2)))
    data = open(the_file(tmp_path / "src"), "rb").read()
    # The last record (step 2) starts where a file with step 1 alone ends.
    write(tmp_path / "one", event(1, tf1("acc", 0.1)))
    last_start = len(open(the_file(tmp_path / "one"), "rb").read())
    for cut in range(last_start, len(data)):
        d = tmp_path / f"cut{cut}"
        d.mkdir()
        path = d / "events.out.tfevents.1.host"
        path.write_bytes(data[:cut])
        f = TfEventsFollower(str(d), "acc")
        assert [m.step for m in f.poll()] == [1], cut
        assert f.poll() == [], cut
        with open(path, "ab") as out:
            out.write(data[cut:])
        assert steps_values(f.poll()) == [(2, 0.2)], cut
        assert f.poll() == [], cut
        assert f.rejected == [], cut


def test_a_record_written_a_few_bytes_at_a_time_is_returned_exactly_once(tmp_path):
    write(tmp_path / "src", *[event(s, tf1("acc", s)) for s in range(1, 6)])
    data = open(the_file(tmp_path / "src"), "rb").read()
    d = tmp_path / "live"
    d.mkdir()
    path = d / "events.out.tfevents.2.host"
    f = TfEventsFollower(str(d), "acc")
    got = []
    for i in range(0, len(data), 7):
        with open(path, "ab") as out:
            out.write(data[i:i + 7])
        got += f.poll()
    assert [m.step for m in got] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("bad,reason", [(math.nan, "metric was nan"),
                                        (math.inf, "metric was inf"),
                                        (-math.inf, "metric was inf")])
def test_non_finite_values_are_rejected_and_not_returned(tmp_path, bad, reason):
    write(tmp_path, event(1, tf1("acc", bad)), event(2, tf2("acc", bad)),
          event(3, tf1("acc", 0.5)))
    f = TfEventsFollower(str(tmp_path), "acc")
    assert steps_values(f.poll()) == [(3, 0.5)]
    assert f.rejected == [reason, reason]


def test_the_byte_budget_spreads_a_big_backlog_over_several_polls(tmp_path):
    filler = tf2("noise", list(range(250)), dtype=types_pb2.DT_DOUBLE, shape=(250,))
    write(tmp_path, *[event(s, filler, tf1("acc", s), wall_time=1000.0 + s)
                      for s in range(200)])
    size = os.path.getsize(the_file(tmp_path))
    f = TfEventsFollower(str(tmp_path), "acc", max_bytes_per_poll=size // 10)
    got = f.poll()
    assert 0 < len(got) < 200 and f.behind
    polls = 1
    while f.behind:
        got += f.poll()
        polls += 1
    assert [m.step for m in got] == list(range(200))
    assert 10 <= polls <= 12


def test_a_record_bigger_than_the_budget_is_still_read(tmp_path):
    big = tf2("noise", list(range(5000)), dtype=types_pb2.DT_DOUBLE, shape=(5000,))
    write(tmp_path, event(1, big, tf1("acc", 0.5)))
    f = TfEventsFollower(str(tmp_path), "acc", max_bytes_per_poll=1000)
    got = []
    for _ in range(3):
        got += f.poll()
    assert steps_values(got) == [(1, 0.5)]


def test_a_partial_record_bigger_than_the_budget_does_not_keep_the_follower_behind(tmp_path):
    big = tf2("noise", list(range(5000)), dtype=types_pb2.DT_DOUBLE, shape=(5000,))
    write(tmp_path / "src", event(1, tf1("acc", 0.1)), event(2, big, tf1("acc", 0.2)))
    data = open(the_file(tmp_path / "src"), "rb").read()
    d = tmp_path / "job"
    d.mkdir()
    (d / "events.out.tfevents.1.host").write_bytes(data[:-100])
    f = TfEventsFollower(str(d), "acc", max_bytes_per_poll=1000)
    got = f.poll()
    got += f.poll()
    assert [m.step for m in got] == [1] and not f.behind
    assert f.poll(final=True) == []
    with open(d / "events.out.tfevents.1.host", "ab") as out:
        out.write(data[-100:])
    assert [m.step for m in f.poll()] == [2]


def test_the_budget_is_shared_fairly_between_files(tmp_path):
    for name in "abc":
        write(tmp_path / name, *[event(s, tf1("acc", s), wall_time=1000.0 + s)
                                 for s in range(300)])
    size = os.path.getsize(the_file(tmp_path / "a"))
    f = TfEventsFollower(str(tmp_path), "acc", max_bytes_per_poll=size // 4)
    got = []
    for _ in range(3):
        got += f.poll()
    assert {m.timestamp for m in got if m.step == 0} == {1000.0}
    assert len([m for m in got if m.step == 0]) == 3  # every file had its turn
    for _ in range(12):
        got += f.poll()
    assert not f.behind and len(got) == 900


def test_a_huge_record_is_skipped_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(tfevents, "MAX_RECORD_BYTES", 1000)
    big = tf2("noise", list(range(500)), dtype=types_pb2.DT_DOUBLE, shape=(500,))
    write(tmp_path, event(1, tf1("acc", 0.1)), event(2, big, tf1("acc", 0.2)),
          event(3, tf1("acc", 0.3)))
    f = TfEventsFollower(str(tmp_path), "acc", max_bytes_per_poll=500)
    got = []
    for _ in range(5):
        got += f.poll()
    assert [m.step for m in got] == [1, 3]
    assert "skipped a" in f.rejected[-1]


def test_a_final_poll_ignores_the_byte_budget(tmp_path):
    write(tmp_path, *[event(s, tf1("acc", s)) for s in range(100)])
    f = TfEventsFollower(str(tmp_path), "acc", max_bytes_per_poll=200)
    got = f.poll()
    assert len(got) < 100
    got += f.poll(final=True)
    assert [m.step for m in got] == list(range(100)) and not f.behind


def test_a_file_beyond_the_size_cap_is_read_up_to_the_cap_only(tmp_path):
    write(tmp_path, *[event(s, tf1("acc", s)) for s in range(100)])
    size = os.path.getsize(the_file(tmp_path))
    f = TfEventsFollower(str(tmp_path), "acc", max_file_bytes=size // 2)
    got = f.poll()
    assert 0 < len(got) < 100
    assert [m.step for m in got] == list(range(len(got)))
    assert f.poll() == [] and "beyond its first" in f.rejected[-1]


def test_a_record_with_a_bad_checksum_is_skipped_once_the_trainer_has_exited(tmp_path):
    write(tmp_path, *[event(s, tf1("acc", s), wall_time=100.0 + s) for s in range(1, 4)])
    path = the_file(tmp_path)
    data = bytearray(open(path, "rb").read())
    value = b"\x15" + struct.pack("<f", 2.0)  # field 2 (simple_value), a 32-bit float
    i = data.index(value) + 1
    data[i:i + 4] = struct.pack("<f", 2.5)  # step 2's value changes, its checksum does not
    open(path, "wb").write(bytes(data))
    f = TfEventsFollower(str(tmp_path), "acc")
    assert [m.step for m in f.poll()] == [1]  # waits: the bytes may still be arriving
    assert [m.step for m in f.poll(final=True)] == [3]
    assert "bad record data checksum" in f.rejected[-1]


def test_a_bad_length_checksum_stops_reading_that_file_only(tmp_path):
    write(tmp_path / "a", *[event(s, tf1("acc", s)) for s in range(1, 3)])
    write(tmp_path / "b", event(9, tf1("acc", 9.0)))
    path = the_file(tmp_path / "a")
    with open(path, "ab") as out:
        out.write(struct.pack("<QI", 30, 12345) + b"x" * 34)  # framing with a wrong checksum
    f = TfEventsFollower(str(tmp_path), "acc")
    assert sorted(m.step for m in f.poll()) == [1, 2, 9]
    assert f.rejected == []  # could be bytes not yet on disk: wait
    assert f.poll(final=True) == []
    assert "bad record length checksum" in f.rejected[-1] and "rest ignored" in f.rejected[-1]
    write(tmp_path / "a", event(3, tf1("acc", 3.0)), writer=None)  # a new file there is read
    assert [m.step for m in f.poll(final=True)] == [3]


def test_events_older_than_min_wall_time_are_ignored(tmp_path):
    write(tmp_path, event(1, tf1("acc", 0.1), wall_time=50.0),
          event(2, tf1("acc", 0.2), wall_time=150.0))
    assert [m.step for m in TfEventsFollower(str(tmp_path), "acc", min_wall_time=100.0).poll()
            ] == [2]


def test_a_replaced_file_does_not_return_its_old_values_again(tmp_path):
    write(tmp_path / "src", event(1, tf1("acc", 0.1), wall_time=1.0),
          event(2, tf1("acc", 0.2), wall_time=2.0), event(3, tf1("acc", 0.3), wall_time=3.0))
    data = open(the_file(tmp_path / "src"), "rb").read()
    d = tmp_path / "job"
    d.mkdir()
    path = d / "events.out.tfevents.3.host"
    path.write_bytes(data[:-1])
    f = TfEventsFollower(str(d), "acc")
    assert [m.step for m in f.poll()] == [1, 2]
    tmp = d / "tmp"
    tmp.write_bytes(data)
    os.replace(tmp, path)
    assert [m.step for m in f.poll()] == [3]


def test_an_unchanged_tree_is_neither_walked_nor_reopened(tmp_path, monkeypatch):
    for i in range(20):
        write(tmp_path / f"d{i}", event(i, tf1("acc", i)))
    f = TfEventsFollower(str(tmp_path), "acc")
    assert len(f.poll()) == 20
    calls = []
    real_scandir = os.scandir

    def counting_scandir(path):
        calls.append(path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting_scandir)  # the module tfevents reads through
    monkeypatch.setattr("builtins.open", lambda *a, **k: pytest.fail(f"opened {a}"))
    for _ in range(10):
        assert f.poll() == []
    assert calls == []


def test_a_missing_root_is_not_an_error(tmp_path):
    f = TfEventsFollower(str(tmp_path / "nope"), "acc")
    assert f.poll() == [] and f.poll(final=True) == [] and f.rejected == []


def test_it_reads_what_a_trainer_process_writes_without_hypertune(tmp_path):
    code = (
        "import sys, time\n"
        "from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2\n"
        "from tensorboard.summary.writer.event_file_writer import EventFileWriter\n"
        "job_dir = sys.argv[1]\n"
        "train = EventFileWriter(job_dir)\n"
        "ev = EventFileWriter(job_dir + '/eval_census-eval')\n"
        "for step in range(1, 4):\n"
        "    s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(\n"
        "        tag='accuracy', simple_value=step / 10)])\n"
        "    train.add_event(event_pb2.Event(step=step, wall_time=time.time(), summary=s))\n"
        "    t = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[step / 5])\n"
        "    v = summary_pb2.Summary.Value(tag='eval/accuracy', tensor=t)\n"
        "    ev.add_event(event_pb2.Event(step=step, wall_time=time.time(),\n"
        "                                 summary=summary_pb2.Summary(value=[v])))\n"
        "train.close()\n"
        "ev.close()\n"
        "assert 'hypertune' not in sys.modules\n"
    )
    job_dir = tmp_path / "job" / "1"
    f_train = TfEventsFollower(str(job_dir), "accuracy")
    f_eval = TfEventsFollower(str(job_dir), "eval/accuracy")
    assert f_train.poll() == []
    subprocess.run([sys.executable, "-c", code, str(job_dir)], check=True)
    assert steps_values(f_train.poll(final=True)) == [(1, 0.1), (2, 0.2), (3, 0.3)]
    assert steps_values(f_eval.poll(final=True)) == [(1, 0.2), (2, 0.4), (3, 0.6)]


def test_the_module_imports_neither_django_nor_tensorflow():
    code = ("import sys\n"
            "import hpdash.core.runner.tfevents\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'tensorflow')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)



def test_each_value_comes_with_its_run_the_folder_relative_to_the_job_dir(tmp_path):
    write(tmp_path, event(1, tf1("acc", 0.1), wall_time=1.0))
    write(tmp_path / "train", event(1, tf2("acc", 0.2), wall_time=2.0))
    write(tmp_path / "fold1" / "validation", event(1, tf2("acc", 0.3), wall_time=3.0))
    f = TfEventsFollower(str(tmp_path), "acc")
    assert [(m.run, m.value) for m in f.poll()] == [
        (".", 0.1), ("train", 0.2), ("fold1/validation", 0.3)]
    assert sorted(f.runs) == [".", "fold1/validation", "train"]


def test_a_tag_may_name_its_run_as_tensorboard_shows_it(tmp_path):
    write(tmp_path / "train", event(1, tf2("epoch_accuracy", 0.6)))
    write(tmp_path / "validation", event(1, tf2("epoch_accuracy", 0.8)),
          event(2, tf2("validation/epoch_accuracy", 0.9)))
    write(tmp_path / "validation_extra", event(1, tf2("epoch_accuracy", 0.1)))
    got = TfEventsFollower(str(tmp_path), "validation/epoch_accuracy").poll()
    assert [(m.run, m.tag, m.step, m.value) for m in got] == [
        ("validation", "epoch_accuracy", 1, 0.8),
        ("validation", "validation/epoch_accuracy", 2, 0.9)]


def test_it_reads_the_runs_real_tensorflow_keras_wrote_apart(tmp_path):
    """The committed fixture: TF 2.x's Keras TensorBoard callback, train/ and validation/."""
    f = TfEventsFollower(str(KERAS_RUNS), "epoch_accuracy")
    got = f.poll()
    assert sorted(f.runs) == ["train", "validation"]
    for run in ("train", "validation"):
        assert [(m.step, m.value) for m in got if m.run == run] == keras_expected(run), run
    assert f.rejected == []
    qualified = TfEventsFollower(str(KERAS_RUNS), "train/epoch_accuracy").poll()
    assert [(m.run, m.step, m.value) for m in qualified] == [
        ("train", s, v) for s, v in keras_expected("train")]
