"""The dashboard in a real browser: Playwright driving Debian's Chromium against `manage.py
serve` (real Redis, workers and trainers)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    QUADRATIC,
    Stack,
    chromium,
    create_superuser,
    skip_without_chromium,
    trainer_job,
    wait_for_state,
)

pytestmark = pytest.mark.e2e

skip_without_chromium()

from playwright.sync_api import Browser, Dialog, Page, expect  # noqa: E402

PASSWORD = "browser-pass-123"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    create_superuser(stack, "browser", PASSWORD)
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(base_url=stack.url, viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    pg.on("dialog", accept)
    pg.goto("/accounts/login/")
    pg.fill("#id_username", "browser")
    pg.fill("#id_password", PASSWORD)
    pg.click("button[type=submit]")
    expect(pg.locator("h1")).to_have_text("Jobs")
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    yield pg
    context.close()


def _finished_job(stack: Stack, job_id: str, **hyper) -> dict[str, Any]:
    ml = stack.ml()
    body = trainer_job(job_id, "e2etrainer.quadratic", {**QUADRATIC, **hyper})
    ml.projects().jobs().create(parent="projects/web", body=body).execute()
    return wait_for_state(ml, f"projects/web/jobs/{job_id}")


def test_pages_need_a_login(browser: Browser, stack: Stack):
    context = browser.new_context(base_url=stack.url)
    pg = context.new_page()
    pg.goto("/projects/web/jobs/anything/")
    assert "/accounts/login/" in pg.url
    context.close()


def test_the_job_page_marks_the_best_trial_and_filters_through_the_url(page: Page,
                                                                        stack: Stack):
    job = _finished_job(stack, "web_filter", maxTrials=8, maxParallelTrials=2)
    best = job["trainingOutput"]["trials"][0]
    page.goto("/projects/web/jobs/web_filter/")
    expect(page.locator("#job-state")).to_have_text("SUCCEEDED")
    best_row = page.locator("tr.is-best")
    expect(best_row.first).to_have_attribute("data-trial", best["trialId"])
    expect(page.locator("tr.trial-row")).to_have_count(8)
    expect(page.locator("#chart-history .main-svg").first).to_be_visible()

    # Filter by a parameter and by the metric through the form; the URL carries the filter.
    x_values = sorted(float(t["hyperparameters"]["x"]) for t in job["trainingOutput"]["trials"])
    cut = x_values[3]
    page.fill("input[name='param.x__gte']", str(cut))
    page.click("#apply-filter")
    expect(page).to_have_url(re.compile(r"param\.x__gte="))
    expect(page.locator("tr.trial-row")).to_have_count(5)
    for cell in page.locator("tr.trial-row td.param").all()[::2]:
        title = cell.get_attribute("title")  # full precision on hover
        assert title is not None and float(title) >= cut
    metric_cut = sorted(t["finalMetric"]["objectiveValue"]
                        for t in job["trainingOutput"]["trials"])[-2]
    page.goto(f"/projects/web/jobs/web_filter/?metric__gte={metric_cut}")
    expect(page.locator("tr.trial-row")).to_have_count(2)
    expect(page.locator("tr.is-best")).to_have_count(1)


def test_two_trials_can_be_compared_side_by_side(page: Page, stack: Stack):
    _finished_job(stack, "web_compare", maxTrials=3)
    page.goto("/projects/web/jobs/web_compare/")
    page.check("input[name=trials][value='1']")
    page.check("input[name=trials][value='3']")
    page.click("#compare-selected")
    expect(page.locator("h1")).to_contain_text("Compare trials")
    expect(page.locator("#compare-table thead th")).to_have_count(3)
    expect(page.locator("#compare-table td.differs").first).to_be_visible()
    expect(page.locator("#chart-compare .main-svg").first).to_be_visible()


def test_cancel_from_the_job_page_stops_the_job(page: Page, stack: Stack):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/web", body=trainer_job(
        "web_cancel", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 3},
        args=["--sleep=60"])).execute()
    wait_for_state(ml, "projects/web/jobs/web_cancel", ("RUNNING",))
    page.goto("/projects/web/jobs/web_cancel/")
    page.click("#cancel-job")
    expect(page.locator(".messages")).to_contain_text("Cancelling web_cancel")
    # The page refreshes itself while the job is live.
    expect(page.locator("#job-state")).to_have_text("CANCELLED", timeout=30_000)
    assert wait_for_state(ml, "projects/web/jobs/web_cancel")["state"] == "CANCELLED"


def test_cancel_from_the_admin_uses_the_same_service(page: Page, stack: Stack):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/web", body=trainer_job(
        "admin_cancel", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 3},
        args=["--sleep=60"])).execute()
    wait_for_state(ml, "projects/web/jobs/admin_cancel", ("RUNNING",))
    page.goto("/admin/hpdash/job/?q=admin_cancel")
    page.check("input[name=_selected_action]")
    page.select_option("select[name=action]", "cancel_jobs")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Cancelling 1 job")
    job = wait_for_state(ml, "projects/web/jobs/admin_cancel", timeout=30)
    assert job["state"] == "CANCELLED" and "cancelled by browser" in job["errorMessage"]


def test_a_hostile_categorical_value_shows_as_text_everywhere(page: Page, stack: Stack):
    hyper = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 2,
             "algorithm": "GRID_SEARCH",
             "params": [{"parameterName": "x", "type": "DISCRETE", "discreteValues": [0.3]},
                        {"parameterName": "y", "type": "CATEGORICAL",
                         "categoricalValues": ["0.7", XSS]}]}
    ml = stack.ml()
    body = trainer_job("web_xss", "e2etrainer.quadratic", hyper)
    ml.projects().jobs().create(parent="projects/web", body=body).execute()
    wait_for_state(ml, "projects/web/jobs/web_xss")
    for path in ("/projects/web/jobs/web_xss/", "/projects/web/jobs/web_xss/trials/2/",
                 "/projects/web/jobs/web_xss/compare?trials=1,2"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.locator("img[src=x]").count() == 0
        assert XSS in page.content().replace("&lt;", "<").replace("&gt;", ">")
    time.sleep(0.2)
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_the_trial_page_shows_params_measurements_and_log(page: Page, stack: Stack):
    _finished_job(stack, "web_trial", maxTrials=1)
    page.goto("/projects/web/jobs/web_trial/trials/1/")
    expect(page.locator("#trial-state")).to_have_text("SUCCEEDED")
    expect(page.locator("#trial-params")).to_contain_text("x")
    expect(page.locator("#log-tail")).to_contain_text("[hpdash] trial 1 SUCCEEDED")
    expect(page.locator("#chart-measurements .main-svg").first).to_be_visible()
    with page.expect_download() as download:
        page.click("#download-log")
    assert download.value.suggested_filename == "web_trial-trial-1.log"


def _fill_row(page: Page, i: int, name: str, ptype: str, **fields: str) -> None:
    page.fill(f"#id_params-{i}-parameter_name", name)
    page.select_option(f"#id_params-{i}-type", ptype)
    for field, value in fields.items():
        page.fill(f"#id_params-{i}-{field}", value)


def test_a_job_built_in_the_form_with_all_four_param_types_runs_to_the_end(page: Page):
    from harness import TRAINERS

    page.goto("/jobs/new/")
    page.fill("#id_project", "web")
    page.fill("#id_job_id", "web_form")
    page.fill("#id_metric_tag", "score")
    page.fill("#id_max_trials", "4")
    page.fill("#id_max_parallel_trials", "2")
    page.fill("#id_python_module", "e2etrainer.quadratic")
    page.fill("#id_package_uris", str(TRAINERS / "e2etrainer"))
    _fill_row(page, 0, "x", "DOUBLE", min_value="0", max_value="1")
    page.click("#add-param")
    _fill_row(page, 1, "steps", "INTEGER", min_value="1", max_value="3")
    page.click("#add-param")
    _fill_row(page, 2, "y", "DISCRETE", discrete_values="0.2, 0.7")
    expect(page.locator("#id_params-2-min_value")).to_be_hidden()  # only what DISCRETE needs
    page.click("#add-param")
    _fill_row(page, 3, "sleep", "CATEGORICAL", categorical_values="0\n0.1")
    page.click("#submit-job")
    # 4 trials for 4 parameters is below the seed's advice (10 per parameter): a warning.
    expect(page.locator("#job-warnings")).to_contain_text("10")
    page.click("#submit-anyway")
    expect(page).to_have_url(re.compile(r"/projects/web/jobs/web_form/$"))
    expect(page.locator("#job-state")).to_have_text("SUCCEEDED", timeout=90_000)
    expect(page.locator("tr.trial-row")).to_have_count(4)
    expect(page.locator("tr.is-best").first).to_be_visible()
    header = page.locator("table.trials thead").inner_text()
    for name in ("x", "steps", "y", "sleep"):
        assert name in header


def test_form_errors_appear_on_the_fields_they_concern(page: Page):
    page.goto("/jobs/new/")
    page.fill("#id_project", "web")
    page.fill("#id_job_id", "1bad")
    page.fill("#id_python_module", "e2etrainer.quadratic")
    _fill_row(page, 0, "lr", "DOUBLE", min_value="0.5", max_value="0.1")
    page.click("#submit-job")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#field-job_id .errorlist")).to_be_visible()
    expect(page.locator("#row-params-0 .has-error").first).to_contain_text("minValue")
