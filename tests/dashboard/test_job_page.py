"""The job page: its live JSON delta, the Cancel button, charts that follow the filter exactly,
numbers for people, sortable parameter columns and numbered pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hpdash.core.spec.stored import definition_to_json
from hpdash.core.states import JobState, TrialState
from hpdash.dashboard.numbers import display_number
from hpdash.models import Job

PAGE = "/projects/demo/jobs/demo/"


@pytest.fixture
def logged_in(client, staff):
    client.force_login(staff)
    return client


def test_the_live_delta_is_small_and_says_unchanged_when_nothing_moved(logged_in, seeded):
    seeded(120)
    first = logged_in.get(PAGE, {"format": "live"})
    assert first["Content-Type"] == "application/json"
    body = first.json()
    assert body["changed"] and body["state"] == "SUCCEEDED" and body["live"] is False
    assert 'id="job-state"' in body["summary"] and 'data-trial="' in body["table"]
    assert len(first.content) < 40_000
    again = logged_in.get(PAGE, {"format": "live", "since": body["version"]}).json()
    assert again == {"version": body["version"], "changed": False}


def test_the_live_delta_follows_the_state_and_hides_cancel_once_cancelled(logged_in, seeded):
    job = seeded(5)
    job.state = JobState.RUNNING
    job.save()
    running = logged_in.get(PAGE, {"format": "live"}).json()
    assert running["live"] and running["can_cancel"]
    assert 'id="cancel-form"' in logged_in.get(PAGE).content.decode()
    job.state = JobState.CANCELLED
    job.save()
    done = logged_in.get(PAGE, {"format": "live", "since": running["version"]}).json()
    assert done["changed"] and not done["live"] and not done["can_cancel"]
    assert ">CANCELLED<" in done["summary"]
    assert 'id="cancel-form" hidden' in logged_in.get(PAGE).content.decode()


def test_figures_come_as_json_and_a_filter_matching_nothing_says_so(logged_in, seeded):
    seeded(30)
    figures = json.loads(logged_in.get(PAGE, {"format": "figures"}).content)
    assert figures["history"]["data"]
    empty = json.loads(logged_in.get(PAGE, {"format": "figures",
                                            "metric__gte": "2"}).content)
    for fig in [empty["history"], empty["parallel"], empty["curves"], *empty["slices"]]:
        assert fig["data"] == []
        assert fig["layout"]["annotations"][0]["text"] == "No trials match the filter"
        assert fig["layout"]["xaxis"] == {"visible": False}


def test_charts_of_a_filter_leave_out_the_best_trial_when_it_does_not_match(logged_in, seeded):
    job = seeded(30)
    best = max(job.trials.all(), key=lambda t: t.final_value)
    other = "sgd" if best.params["optimizer"] != "sgd" else "adam"
    figures = json.loads(logged_in.get(PAGE, {"format": "figures",
                                              "param.optimizer": other}).content)
    names = {c["name"] for c in figures["curves"]["data"]}
    assert f"trial {best.trial_id}" not in names and names
    assert best.trial_id not in figures["history"]["data"][0]["x"]


def test_tables_show_significant_digits_with_full_precision_on_hover(logged_in, seeded):
    job = seeded(3)
    job.trials.filter(trial_id=1).update(final_value=0.9851851851851852)
    t = job.trials.get(trial_id=2)
    t.params = {**t.params, "learning_rate": 0.30000000000000004}  # maxValue 0.3, float noise
    t.save()
    html = logged_in.get(PAGE).content.decode()
    assert 'title="0.9851851851851852">0.9852<' in html
    assert 'title="0.30000000000000004">0.3<' in html


def test_parameter_columns_sort_and_pages_have_numbers(logged_in, seeded):
    seeded(300)
    html = logged_in.get(PAGE).content.decode()
    assert 'data-sort="param.learning_rate"' in html
    assert 'class="page-link">6<' in html and 'aria-current="page"' in html
    resp = logged_in.get(PAGE, {"sort": "param.learning_rate", "page": "3"})
    rows = resp.context["rows"]
    values = [float(full) for r in rows for full in [r["params"][0][1]]]
    assert values == sorted(values)
    assert 'aria-current="page" class="page-current">3<' in resp.content.decode()


def test_a_failed_trial_shows_the_last_lines_of_its_log_next_to_the_exit_code(
        logged_in, seeded, settings):
    from hpdash.core.layout import DataLayout

    job = seeded(2)
    job.trials.filter(trial_id=2).update(state=TrialState.FAILED, final_value=None,
                                         failure_reason="exit code 1")
    log = DataLayout(settings.DATA_DIR).trial_log("demo", "demo", 2)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("epoch 1\nTraceback (most recent call last):\n  File \"task.py\"\n"
                   "ValueError: learning rate too high\n[hpdash] trial 2 FAILED: exit code 1\n")
    html = logged_in.get(PAGE).content.decode()
    assert "exit code 1" in html and "ValueError: learning rate too high" in html
    assert "[hpdash] trial 2 FAILED" not in html.split('class="stderr-tail"')[1].split("</pre>")[0]


def test_the_summary_names_the_algorithm_in_words_with_its_api_name_on_hover(logged_in, seeded):
    seeded(3)
    html = logged_in.get(PAGE).content.decode()
    assert '<dd title="RANDOM_SEARCH">Random search' in html


def test_the_job_list_and_compare_show_four_significant_digits_with_the_full_value_on_hover(
        logged_in, seeded):
    import re

    job = seeded(3)
    best = max(t.final_value for t in job.trials.all())
    listed = logged_in.get("/").content.decode()
    assert f'title="{best!r}">{display_number(best)}</td>' in listed
    assert f">{best!r}<" not in listed
    compare = logged_in.get(PAGE + "compare?trials=1&trials=2").content.decode()
    trial = job.trials.get(trial_id=1)
    assert (f'<span title="{trial.final_value!r}">{display_number(trial.final_value)}</span>'
            in compare)
    lr = trial.params["learning_rate"]
    cells = re.findall(r'<td class="[^"]*" title="([^"]*)">([^<]*)</td>', compare)
    assert (repr(lr), display_number(lr)) in cells


def test_a_job_without_finished_trials_says_so_and_draws_no_axes(logged_in, seeded):
    from hpdash.models import Measurement

    job = seeded(3)
    Measurement.objects.filter(trial__job=job).delete()
    job.trials.update(state=TrialState.RUNNING, final_value=None, final_step=None)
    figures = json.loads(logged_in.get(PAGE, {"format": "figures"}).content)
    for fig in [figures["history"], figures["parallel"], *figures["slices"]]:
        assert fig["data"] == [] and fig["layout"]["xaxis"] == {"visible": False}
        assert fig["layout"]["annotations"][0]["text"] == "No finished trials yet"
    assert figures["curves"]["layout"]["annotations"][0]["text"] == "No measurements yet"
    trial_page = logged_in.get(PAGE + "trials/1/").content.decode()
    assert "No measurements yet" in trial_page
    filtered = json.loads(logged_in.get(PAGE, {"format": "figures", "state": "RUNNING"}).content)
    assert filtered["history"]["layout"]["annotations"][0]["text"] == (
        "No finished trials match the filter")


def test_a_wrong_filter_value_stays_in_its_field_and_the_error_names_the_field(logged_in,
                                                                             seeded):
    seeded(3)
    html = logged_in.get(PAGE, {"metric__gte": "abc"}).content.decode()
    assert 'name="metric__gte" size="8" value="abc"' in html
    assert '<span class="error">accuracy ≥: &#x27;abc&#x27; is not a number</span>' in html
    assert "metric__gte:" not in html


def test_the_job_page_has_a_timeline_of_its_trials(logged_in, seeded):
    job = seeded(4)
    figures = json.loads(logged_in.get(PAGE, {"format": "figures"}).content)
    shown = sorted(i for trace in figures["timeline"]["data"] for i in trace["y"])
    assert shown == sorted(job.trials.values_list("trial_id", flat=True))
    assert 'id="chart-timeline"' in logged_in.get(PAGE).content.decode()


def _with_early_stopping(job: Job, rows: dict[int, tuple[int, bool, int]]) -> None:
    """Turn early stopping on for ``job`` and end its trials as ``rows`` says: trial id ->
    (steps, stopped early, seconds)."""
    definition = job.definition
    hp = dataclasses.replace(definition.hyperparameters, enable_early_stopping=True)
    job.definition_json = definition_to_json(dataclasses.replace(definition,
                                                                 hyperparameters=hp))
    job.save()
    t0 = job.trials.get(trial_id=1).start_time
    assert t0 is not None
    for tid, (step, early, secs) in rows.items():
        job.trials.filter(trial_id=tid).update(
            final_step=step, is_stopped_early=early, state=TrialState.SUCCEEDED,
            start_time=t0, end_time=t0 + dt.timedelta(seconds=secs))


def test_the_summary_says_what_early_stopping_saved_in_steps_and_time(logged_in, seeded):
    job = seeded(3, steps=10)
    _with_early_stopping(job, {1: (10, False, 20), 2: (4, True, 8), 3: (5, True, 5)})
    html = logged_in.get(PAGE).content.decode()
    # Trial 2 saves 6 steps at 2 s each, trial 3 saves 5 at 1 s: 11 of 30 steps, 17 s.
    assert ">11 steps (37 %), ~17 s · 2 of 3 trials stopped</dd>" in html


def test_what_early_stopping_saved_follows_each_trial_that_ends(logged_in, seeded):
    job = seeded(4, steps=10)
    _with_early_stopping(job, {1: (10, False, 20), 2: (4, True, 8)})
    job.trials.filter(trial_id__in=[3, 4]).update(state=TrialState.RUNNING, end_time=None)
    before = logged_in.get(PAGE).content.decode()
    assert ">6 steps (30 %), ~12 s · 1 of 2 trials stopped</dd>" in before
    _with_early_stopping(job, {3: (5, True, 5)})
    after = logged_in.get(PAGE).content.decode()
    assert ">11 steps (37 %), ~17 s · 2 of 3 trials stopped</dd>" in after


def test_the_live_poll_of_a_job_with_early_stopping_costs_the_same_for_60_trials_as_for_6(
        logged_in, seeded):
    # What early stopping saved is summed by the database, not read trial by trial, on every
    # 3 s poll of every open job page.
    queries = []
    for n in (6, 60):
        job = seeded(n, job_id=f"j{n}", steps=10)
        _with_early_stopping(job, {t: (10, False, 20) if t % 3 == 1 else (4, True, 8)
                                   for t in range(1, n + 1)})
        with CaptureQueriesContext(connection) as captured:
            body = logged_in.get(f"/projects/demo/jobs/j{n}/", {"format": "live"}).json()
        assert f"{n * 2 // 3} of {n} trials stopped" in body["summary"]
        queries.append(len(captured))
    assert queries[0] == queries[1], queries
