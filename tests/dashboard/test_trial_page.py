"""The trial page: the latest metric while it runs, the log's tail as a delta, and a failed
trial's last lines next to its exit code."""

from __future__ import annotations

import pytest
from django.utils import timezone

from hpdash.core.layout import DataLayout
from hpdash.core.states import JobState, TrialState
from hpdash.models import Measurement

URL = "/projects/demo/jobs/demo/trials/1/"


@pytest.fixture
def running(client, staff, seeded, settings):
    job = seeded(1)
    job.state = JobState.RUNNING
    job.save()
    trial = job.trials.get()
    trial.state, trial.final_value, trial.end_time = TrialState.RUNNING, None, None
    trial.save()
    log = DataLayout(settings.DATA_DIR).trial_log("demo", "demo", 1)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("epoch 1\n")
    client.force_login(staff)
    return trial, log


def test_a_running_trial_shows_its_latest_metric(client, running):
    trial, _ = running
    Measurement.objects.create(trial=trial, step=99, value=0.123456789,
                               reported_at=timezone.now())
    html = client.get(URL).content.decode()
    assert 'title="0.123456789">0.1235</span> <span class="muted">latest, at step 99' in html


def test_the_live_delta_carries_only_the_new_log_bytes(client, running):
    _, log = running
    page = client.get(URL)
    offset = page.context["log_offset"]
    assert offset == len("epoch 1\n")
    with open(log, "a") as f:
        f.write("epoch 2\n")
    delta = client.get(URL, {"format": "live", "offset": offset, "measurements": "3"}).json()
    assert delta["log"] == "epoch 2\n" and delta["offset"] == offset + 8
    assert delta["live"] and delta["figure"] is None  # no new measurement: no chart
    same = client.get(URL, {"format": "live", "offset": delta["offset"],
                            "measurements": "0"}).json()
    assert same["log"] == "" and same["figure"] is not None


def test_a_failed_trial_shows_the_last_lines_it_wrote_next_to_the_exit_code(client, running):
    trial, log = running
    trial.state, trial.failure_reason = TrialState.FAILED, "exit code 1"
    trial.save()
    log.write_text("epoch 1\nTraceback (most recent call last):\nKeyError: 'lr'\n"
                   "[hpdash] trial 1 FAILED: exit code 1\n")
    html = client.get(URL).content.decode()
    reason = html.split('id="failure-reason"')[1].split("</div>")[0]
    assert "exit code 1" in reason and "KeyError: &#x27;lr&#x27;" in reason


def test_a_cancelled_trial_is_stopped_not_failed_and_its_last_value_is_greyed(
        client, running):
    trial, _ = running
    Measurement.objects.create(trial=trial, step=7, value=0.5, reported_at=timezone.now())
    trial.state, trial.failure_reason = TrialState.CANCELLED, "job cancelled"
    trial.final_value, trial.final_step = 0.5, 7
    trial.save()
    html = client.get(URL).content.decode()
    assert 'id="stop-reason">Stopped: job cancelled</p>' in html
    assert "Failure:" not in html
    assert '<span class="muted" title="0.5">0.5</span> <span class="muted">latest, at step 7' in (
        html)
    table = client.get("/projects/demo/jobs/demo/").content.decode()
    assert '<span class="muted">stopped: job cancelled</span>' in table


def test_a_log_that_is_a_link_is_never_followed_by_the_download_or_the_page(
        client, running, settings):
    _, log = running
    secret = DataLayout(settings.DATA_DIR).secret_key
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("THE-SECRET-KEY")
    log.unlink()
    log.symlink_to(secret)
    assert client.get(URL + "log").status_code == 404
    assert "THE-SECRET-KEY" not in client.get(URL).content.decode()
    assert "THE-SECRET-KEY" not in client.get(URL + "?format=live&offset=0").content.decode()


def test_a_log_folder_swapped_for_a_link_is_never_followed(client, running, settings, tmp_path):
    _, log = running
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "trainer.log").write_text("NOT-THIS-TRIALS-LOG")
    trial_dir = log.parent
    (trial_dir / "trainer.log").unlink()
    trial_dir.rmdir()
    trial_dir.symlink_to(elsewhere)
    assert client.get(URL + "log").status_code == 404


def test_a_study_with_several_metrics_charts_each_metric_of_the_trial(client, staff,
                                                                      two_metric_job):
    import json
    import re

    client.force_login(staff)
    trial = two_metric_job.trials.get(trial_id=1)
    html = client.get(URL).content.decode()
    assert 'id="chart-measurements-0"' in html and 'id="chart-measurements-1"' in html
    found = re.search(r'<script id="figures" type="application/json">(.*?)</script>', html,
                      re.S)
    assert found is not None
    figures = json.loads(found.group(1))["measurements"]
    titles = [f["layout"]["title"]["text"] for f in figures]
    assert titles == ["Measurements: accuracy", "Measurements: latency_ms"]
    for i, fig in enumerate(figures):
        want = list(trial.measurements.filter(metric=i).order_by("step")
                    .values_list("value", flat=True))
        assert fig["data"][0]["y"] == want
    live = client.get(URL + "?format=live&offset=0&measurements=-1").json()
    assert [f["layout"]["title"]["text"] for f in live["figure"]] == titles
