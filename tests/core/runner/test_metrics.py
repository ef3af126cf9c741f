import json
import os
import subprocess
import sys

from hpdash.core.runner.metrics import HypertuneFollower


def _write(path, records, tail=""):
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True) + "\n")
        f.write(tail)


def _rec(step, value, tag="acc", ts=None):
    return {"checkpoint_path": "", "global_step": str(step), tag: str(value),
            "timestamp": ts if ts is not None else 1000.0 + step, "trial": "1"}


def test_it_reads_what_the_real_hypertune_library_writes(tmp_path):
    path = tmp_path / "out.metrics"
    code = (
        "import hypertune\n"
        "h = hypertune.HyperTune()\n"
        "for s in range(1, 4):\n"
        "    h.report_hyperparameter_tuning_metric(hyperparameter_metric_tag='acc',"
        " metric_value=s / 10, global_step=s)\n"
    )
    env = {**os.environ, "CLOUD_ML_HP_METRIC_FILE": str(path), "CLOUD_ML_TRIAL_ID": "1"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    got = HypertuneFollower(str(path), "acc").poll()
    assert [(m.step, m.value) for m in got] == [(1, 0.1), (2, 0.2), (3, 0.3)]


def test_it_accumulates_across_rewrites_that_keep_only_the_last_100_lines(tmp_path):
    path = tmp_path / "out.metrics"
    f = HypertuneFollower(str(path), "acc")
    seen = []
    for end in range(1, 251):
        _write(path, [_rec(s, s) for s in range(max(0, end - 100), end)])
        if end % 7 == 0 or end == 250:
            seen += f.poll()
    assert [m.step for m in seen] == list(range(0, 250))


def test_it_leaves_a_half_written_line_for_the_next_poll(tmp_path):
    path = tmp_path / "out.metrics"
    f = HypertuneFollower(str(path), "acc")
    full = json.dumps(_rec(2, 0.5), sort_keys=True)
    _write(path, [_rec(1, 0.4)], tail=full[: len(full) // 2])
    assert [m.step for m in f.poll()] == [1]
    _write(path, [_rec(1, 0.4), _rec(2, 0.5)])
    assert [m.step for m in f.poll()] == [2]


def test_a_new_hypertune_instance_truncating_the_file_loses_nothing_already_seen(tmp_path):
    path = tmp_path / "out.metrics"
    f = HypertuneFollower(str(path), "acc")
    _write(path, [_rec(1, 0.1), _rec(2, 0.2)])
    first = f.poll()
    _write(path, [_rec(1, 0.9, ts=5000.0)])  # new instance, restarted its steps
    second = f.poll()
    assert [m.value for m in first + second] == [0.1, 0.2, 0.9]


def test_it_ignores_other_tags_and_rejects_non_finite_values_with_a_reason(tmp_path):
    path = tmp_path / "out.metrics"
    f = HypertuneFollower(str(path), "acc")
    _write(path, [_rec(1, 0.1, tag="loss"), _rec(2, "nan"), _rec(3, "inf"), _rec(4, "abc")])
    assert f.poll() == []
    assert f.rejected[0] == "metric was nan"
    assert "not a number" in f.rejected[-1]


def test_a_missing_file_means_no_measurements_yet(tmp_path):
    assert HypertuneFollower(str(tmp_path / "nope"), "acc").poll() == []


def test_several_metrics_reported_with_several_calls_per_step_are_each_their_own(tmp_path):
    # hypertune writes one record per call: two metrics per step are two lines sharing its
    # 100-record window; both are read, each as its own metric (by position in the spec).
    path = tmp_path / "out.metrics"
    code = (
        "import hypertune\n"
        "h = hypertune.HyperTune()\n"
        "for s in range(1, 4):\n"
        "    h.report_hyperparameter_tuning_metric('acc', s / 10, global_step=s)\n"
        "    h.report_hyperparameter_tuning_metric('latency', 100 - s, global_step=s)\n"
        "    h.report_hyperparameter_tuning_metric('debug', 0, global_step=s)\n"
    )
    env = {**os.environ, "CLOUD_ML_HP_METRIC_FILE": str(path), "CLOUD_ML_TRIAL_ID": "1"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert len(path.read_text().splitlines()) == 9
    f = HypertuneFollower(str(path), "acc", more_tags=("latency",))
    got = f.poll()
    assert [(m.metric, m.step, m.value) for m in got] == [
        (0, 1, 0.1), (1, 1, 99.0), (0, 2, 0.2), (1, 2, 98.0), (0, 3, 0.3), (1, 3, 97.0)]
    assert f.other_tags == ["debug"]
    assert f.poll() == []  # each record once


def test_one_record_carrying_two_metrics_gives_both(tmp_path):
    path = tmp_path / "out.metrics"
    _write(path, [{**_rec(5, 0.5), "latency": "12"}])
    got = HypertuneFollower(str(path), "acc", more_tags=("latency",)).poll()
    assert [(m.metric, m.value) for m in got] == [(0, 0.5), (1, 12.0)]
