"""The dashboard's issue-13 points in Chromium, against `manage.py serve`: a large job's page
(compressed, live through a JSON delta, charts that follow the filter), numbers for people,
small screens, sortable parameter columns, numbered pages, the bounded admin page, the running
trial page following its log, a failed trial's last lines, and the insight charts.

Screenshots go to $HPDASH_SCREENSHOTS (default: the test's tmp dir) for a person to look at."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    QUADRATIC,
    Stack,
    chromium,
    create_superuser,
    skip_without_chromium,
    trainer_job,
    wait_for_state,
    wait_until_true,
)

pytestmark = pytest.mark.e2e

skip_without_chromium()

from playwright.sync_api import Browser, Locator, Page, expect  # noqa: E402

USER, PASSWORD = "dash", "dash-pass-123"
SEEDED = "/projects/seeded/jobs/big/"


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    create_superuser(stack, USER, PASSWORD)
    stack.manage("seed_demo_job", "--project", "seeded", "--job-id", "big", "--trials", "300",
                 "--steps", "5")
    with chromium() as b:
        yield b


def _login(browser: Browser, stack: Stack, **ctx) -> Page:
    context = browser.new_context(base_url=stack.url, **({"viewport": {"width": 1400,
                                                                        "height": 1000}} | ctx))
    pg = context.new_page()
    pg.goto("/accounts/login/")
    pg.fill("#id_username", USER)
    pg.fill("#id_password", PASSWORD)
    pg.click("button[type=submit]")
    expect(pg.locator("h1")).to_have_text("Jobs")
    return pg


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    pg = _login(browser, stack)
    yield pg
    pg.context.close()


def attribute(locator: Locator, name: str) -> str:
    value = locator.get_attribute(name)
    assert value is not None, f"no {name} attribute"
    return value


def url_parameter(url: str, name: str) -> str:
    match = re.search(rf"{re.escape(name)}=([^&]+)", url)
    assert match, f"no {name} in {url}"
    return match.group(1)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("HPDASH_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_the_job_page_comes_compressed_with_hashed_static_files_cached_forever(page: Page):
    with page.expect_response(lambda r: r.url.endswith(SEEDED)) as info:
        page.goto(SEEDED)
    assert info.value.headers.get("content-encoding") == "gzip"
    css = attribute(page.locator("link[rel=stylesheet]"), "href")
    resp = page.request.get(css)
    if re.search(r"app\.[0-9a-f]{12}\.css$", css):  # collectstatic ran at start
        assert "immutable" in resp.headers["cache-control"]
    assert resp.ok


def test_charts_say_no_trials_match_when_the_filter_matches_nothing(page: Page, shots: Path):
    page.goto(SEEDED + "?metric__gte=5")
    expect(page.locator("#no-trials")).to_contain_text("match this filter")
    page.locator("#chart-history").scroll_into_view_if_needed()
    expect(page.locator("#chart-history")).to_contain_text("No trials match the filter")
    page.locator("#chart-parallel").scroll_into_view_if_needed()
    expect(page.locator("#chart-parallel")).to_contain_text("No trials match the filter")
    assert page.locator("#chart-history .xtick").count() == 0  # no axes from -1 to 6
    page.screenshot(path=shots / "no-match.png", full_page=True)


def test_tables_show_significant_digits_and_full_precision_on_hover(page: Page):
    page.goto(SEEDED)
    cell = page.locator("tr.trial-row td.param").first  # learning_rate
    full = attribute(cell, "title")
    digits = cell.inner_text().lstrip("-0.").replace(".", "").split("e")[0]
    assert len(digits) <= 4 < len(full)
    assert float(cell.inner_text()) == pytest.approx(float(full), rel=1e-3)


def test_a_parameter_column_sorts_and_pages_have_numbers(page: Page):
    page.goto(SEEDED)
    page.click("th a[data-sort='param.learning_rate']")
    expect(page).to_have_url(re.compile(r"sort=param\.learning_rate"))
    values = [float(attribute(c, "title")) for c in
              page.locator("tr.trial-row td.param:nth-child(6)").all()]
    assert len(values) == 50 and values == sorted(values)
    page.click(".pagination a.page-link:text-is('3')")
    expect(page).to_have_url(re.compile(r"page=3"))
    expect(page.locator(".pagination [aria-current=page]")).to_have_text("3")
    after = [float(attribute(c, "title")) for c in
             page.locator("tr.trial-row td.param:nth-child(6)").all()]
    assert after[0] >= values[-1]


def test_on_a_phone_the_nav_fits_and_the_table_scrolls_sideways(browser: Browser, stack: Stack,
                                                                  shots: Path):
    pg = _login(browser, stack, viewport={"width": 390, "height": 844})
    pg.goto(SEEDED)
    widths = pg.evaluate("""() => ({
        page: document.documentElement.scrollWidth,
        nav: document.querySelector('.topbar').scrollWidth,
        box: document.querySelector('.table-scroll').clientWidth,
        table: document.querySelector('.table-scroll').scrollWidth})""")
    assert widths["page"] <= 390 and widths["nav"] <= 390, widths
    assert widths["table"] > widths["box"], widths  # the table scrolls inside its box
    pg.screenshot(path=shots / "phone.png")
    pg.context.close()


def test_the_admin_change_page_is_bounded_and_links_the_job_page(page: Page):
    page.goto("/admin/hpdash/job/?q=big")
    page.click("table#result_list a:text-is('big')")
    expect(page.locator("#recent-trials tbody tr")).to_have_count(20)
    page.click("#job-page-link")
    expect(page).to_have_url(re.compile(re.escape(SEEDED) + "$"))


def test_the_live_page_polls_a_small_delta_and_cancel_follows_the_state(page: Page,
                                                                         stack: Stack):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/web2", body=trainer_job(
        "live_cancel", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 3},
        args=["--sleep=60"])).execute()
    wait_for_state(ml, "projects/web2/jobs/live_cancel", ("RUNNING",))
    deltas = []
    page.on("response", lambda r: deltas.append(r) if "format=live" in r.url else None)
    page.goto("/projects/web2/jobs/live_cancel/")
    expect(page.locator("#cancel-job")).to_be_visible()
    # Cancelled elsewhere (the API): the page follows without a reload.
    # A fresh client: the first one's kept-alive connection has been closed by the server.
    stack.ml().projects().jobs().cancel(name="projects/web2/jobs/live_cancel",
                                        body={}).execute()
    expect(page.locator("#job-state")).to_have_text("CANCELLED", timeout=40_000)
    expect(page.locator("#cancel-job")).to_be_hidden()
    assert deltas and all(len(r.body()) < 20_000 for r in deltas)
    assert deltas[0].headers["content-type"] == "application/json"


def test_a_running_trial_page_follows_its_log_and_shows_the_latest_metric(page: Page,
                                                                            stack: Stack):
    ml = stack.ml()
    hyper = {**QUADRATIC, "maxTrials": 1, "maxParallelTrials": 1}
    ml.projects().jobs().create(parent="projects/web2", body=trainer_job(
        "chatty", "e2etrainer.chatty", hyper, args=["--lines=40", "--interval=0.4"])).execute()
    wait_for_state(ml, "projects/web2/jobs/chatty", ("RUNNING",))
    page.goto("/projects/web2/jobs/chatty/trials/1/")
    expect(page.locator("#log-tail")).to_contain_text("chatty line 3", timeout=30_000)
    seen = page.locator("#log-tail").inner_text().count("chatty line")
    expect(page.locator("#trial-metric")).to_contain_text("latest, at step")
    wait_until_true(page, f"document.getElementById('log-tail').textContent"
                          f".split('chatty line').length - 1 > {seen + 3}", timeout=30)
    at_bottom = page.evaluate("""() => { const l = document.getElementById('log-tail');
        return l.scrollHeight - l.scrollTop - l.clientHeight < 5; }""")
    assert at_bottom
    stack.ml().projects().jobs().cancel(name="projects/web2/jobs/chatty", body={}).execute()


def test_a_failed_trial_shows_its_last_lines_next_to_the_exit_code(page: Page, stack: Stack):
    ml = stack.ml()
    hyper = {**QUADRATIC, "maxTrials": 1, "maxParallelTrials": 1, "maxFailedTrials": 1}
    ml.projects().jobs().create(parent="projects/web2", body=trainer_job(
        "fails", "e2etrainer.fail", hyper)).execute()
    wait_for_state(ml, "projects/web2/jobs/fails")
    page.goto("/projects/web2/jobs/fails/")
    note = page.locator("tr.trial-row td.note").first
    expect(note).to_contain_text("exit code 3")
    expect(note.locator(".stderr-tail")).to_contain_text("something went wrong")
    page.goto("/projects/web2/jobs/fails/trials/1/")
    expect(page.locator("#failure-reason")).to_contain_text("exit code 3")
    expect(page.locator("#stderr-tail")).to_contain_text("something went wrong")


def test_importance_and_a_contour_of_two_picked_parameters_are_on_the_job_page(page: Page,
                                                                                 shots: Path):
    page.goto(SEEDED)
    page.locator("#chart-importance").scroll_into_view_if_needed()
    expect(page.locator("#chart-importance .bars path").first).to_be_visible(timeout=30_000)
    expect(page.locator("#importance-method")).to_contain_text("random-forest")
    expect(page.locator("#chart-importance")).to_contain_text("learning_rate")
    page.locator("#chart-contour").scroll_into_view_if_needed()
    expect(page.locator("#chart-contour .contour").first).to_be_attached(timeout=30_000)
    page.select_option("#contour-x", "dropout")
    expect(page.locator("#chart-contour .gtitle")).to_contain_text("over dropout and",
                                                                   timeout=30_000)
    page.locator("#chart-importance").screenshot(path=shots / "importance.png")
    page.locator("#contour-card").screenshot(path=shots / "contour.png")


def test_brushing_a_parallel_axis_filters_the_table_and_the_url_records_it(page: Page,
                                                                           shots: Path):
    page.goto(SEEDED)
    chart = page.locator("#chart-parallel")
    chart.scroll_into_view_if_needed()
    axis = chart.locator("g.y-axis").first  # learning_rate
    expect(chart).to_have_attribute("data-brushing", "1", timeout=30_000)  # listening
    expect(axis).to_be_visible()
    box = axis.bounding_box()
    assert box is not None
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.6, steps=8)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"param\.learning_rate__gte=.*param\.learning_rate__lte="),
                             timeout=15_000)
    expect(page.locator("#matched")).not_to_have_text("300 trials", timeout=15_000)
    shown = int(page.locator("#matched").inner_text().split()[0])
    assert 0 < shown < 300
    lo = float(url_parameter(page.url, "learning_rate__gte"))
    hi = float(url_parameter(page.url, "learning_rate__lte"))
    for cell in page.locator("tr.trial-row td.param:nth-child(6)").all():
        assert lo <= float(attribute(cell, "title")) <= hi
    page.screenshot(path=shots / "brushed.png")
    # The URL is shareable: loading it shows the same filter, and the brush on the axis.
    page.goto(page.url)
    expect(page.locator("#matched")).to_have_text(f"{shown} trials")


def test_a_note_written_on_the_job_and_a_trial_page_stays_after_a_reload(page: Page,
                                                                         shots: Path):
    page.goto(SEEDED)
    page.fill("#note-form textarea", "adam beats sgd here\nnext: try dropout 0.3")
    page.click("#note-form button[type=submit]")
    expect(page.locator("#note-text")).to_contain_text("adam beats sgd here")
    page.reload()
    expect(page.locator("#note-text")).to_contain_text("next: try dropout 0.3")
    page.locator("#note").screenshot(path=shots / "job-note.png")
    page.goto(SEEDED + "trials/7/")
    page.fill("#note-form textarea", "diverged at step 3")
    page.click("#note-form button[type=submit]")
    expect(page.locator("#note-text")).to_have_text("diverged at step 3")


def test_the_timeline_draws_a_bar_per_trial_over_wall_time(page: Page, shots: Path):
    page.goto(SEEDED)
    page.locator("#chart-timeline").scroll_into_view_if_needed()
    expect(page.locator("#chart-timeline .bars path").first).to_be_attached(timeout=30_000)
    expect(page.locator("#chart-timeline .gtitle")).to_contain_text("Timeline (300 trials")
    assert page.locator("#chart-timeline .bars path").count() >= 300
    page.locator("#chart-timeline").screenshot(path=shots / "timeline.png")


def test_a_label_filters_the_job_list_and_a_resumed_chain_is_one_study(page: Page, stack: Stack,
                                                                       shots: Path):
    ml = stack.ml()
    first = {**trainer_job("study_a", "e2etrainer.quadratic",
                           {**QUADRATIC, "maxTrials": 3, "maxParallelTrials": 3}),
             "labels": {"team": "vision"}}
    ml.projects().jobs().create(parent="projects/study", body=first).execute()
    assert wait_for_state(ml, "projects/study/jobs/study_a")["state"] == "SUCCEEDED"
    ml.projects().jobs().create(parent="projects/study", body=trainer_job(
        "study_b", "e2etrainer.quadratic",
        {"resumePreviousJobId": "study_a", "maxTrials": 2, "maxParallelTrials": 2})).execute()
    assert wait_for_state(ml, "projects/study/jobs/study_b")["state"] == "SUCCEEDED"

    page.goto("/")
    page.click("a.label:has-text('team=vision')")
    expect(page.locator("#filter-label")).to_have_value("team=vision")
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    expect(page.locator("table.jobs tbody")).to_contain_text("study_a")
    page.screenshot(path=shots / "label-filter.png")

    page.goto("/projects/study/jobs/study_b/")
    page.click("#study-link")
    expect(page.locator("h1")).to_contain_text("2 jobs, 5 trials")
    expect(page.locator("#chart-history .gtitle")).to_contain_text(
        "Optimization history of the study (2 jobs, 5 trials)", timeout=30_000)
    expect(page.locator("#chart-history .legendtext")).to_contain_text(["study_a", "study_b"],
                                                                       timeout=30_000)
    page.locator("#chart-edf").scroll_into_view_if_needed()
    expect(page.locator("#chart-edf .gtitle")).to_contain_text("Distribution of results",
                                                               timeout=30_000)
    page.screenshot(path=shots / "study.png", full_page=True)


def test_the_metric_picker_switches_the_history_chart_and_the_best_trial(page: Page,
                                                                         stack: Stack,
                                                                         shots: Path):
    """A study with two metrics (accuracy maximised, latency_ms minimised): picking the second
    redraws the single-metric charts on it, with its own goal, and keeps the filter."""
    stack.manage("seed_demo_job", "--project", "seeded", "--job-id", "twometric", "--trials",
                 "30", "--steps", "4", "--latency")
    page.goto("/projects/seeded/jobs/twometric/?state=SUCCEEDED")
    history = page.locator("#chart-history")
    history.scroll_into_view_if_needed()
    expect(history.locator(".ytitle")).to_have_text("accuracy", timeout=30_000)
    expect(page.locator("#job-summary")).to_contain_text("Best accuracy (maximize)")
    best_before = page.locator("#best-value a").inner_text()
    page.locator('#metric-picker a[data-metric="latency_ms"]').click()
    expect(page).to_have_url(re.compile(r"state=SUCCEEDED.*metric=latency_ms"))
    expect(page.locator('#metric-picker a[aria-current="true"]')).to_contain_text("latency_ms")
    expect(page.locator("#job-summary")).to_contain_text("Best latency_ms (minimize)")
    best_after = page.locator("#best-value a").inner_text()
    assert best_after != best_before  # the fastest trial is not the most accurate
    # the table sorts by latency, best (lowest) first
    expect(page.locator("tr.trial-row").first).to_have_attribute("data-trial", best_after)
    history.scroll_into_view_if_needed()
    expect(history.locator(".ytitle")).to_have_text("latency_ms", timeout=30_000)
    # "best so far" runs down (minimised) to the best trial's latency
    best_so_far = page.evaluate(
        "() => document.getElementById('chart-history').data[1].y")
    assert best_so_far == sorted(best_so_far, reverse=True)
    shown = float(attribute(page.locator("#best-value span").first, "title"))
    assert best_so_far[-1] == pytest.approx(shown)
    expect(page.locator("#chart-curves .ytitle")).to_have_text("latency_ms")
    pareto = page.locator("#chart-pareto")
    pareto.scroll_into_view_if_needed()  # charts draw when they come into view
    expect(pareto.locator(".xtitle")).to_have_text("accuracy (maximize)", timeout=30_000)
    page.screenshot(path=shots / "metric-picker.png", full_page=True)
