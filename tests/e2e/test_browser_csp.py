"""The Content-Security-Policy in Chromium, against `manage.py serve`: every page comes with the
header, and loading it (charts drawn, forms used) gives no console message at all, so no
violation, no blocked script, no script error.

A screenshot of the job page goes to $HPDASH_SCREENSHOTS (default: the test's tmp dir)."""

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
)

pytestmark = pytest.mark.e2e

skip_without_chromium()

from playwright.sync_api import Browser, BrowserContext, Page, expect  # noqa: E402

USER, PASSWORD = "csp", "csp-pass-123"
JOB = "/projects/csp/jobs/seeded/"

# Every violation, also those a page might swallow, is reported as an event on the document.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolation([e.violatedDirective, e.blockedURI, e.sourceFile + ":" + e.lineNumber,
                       e.sample].join(" | "));
});
"""


# Chromium's own notices, about the machine or the browser and not about the page's code: the
# software WebGL's performance notes (the parallel-coordinates chart), and the admin's second
# autofocus field.
NOT_THE_PAGES = (re.compile(r"^\[\.WebGL-[0-9a-fx]+\]GL Driver Message"),
                 re.compile(r"^Autofocus processing was blocked"))


class Watched:
    """A browser context whose pages record every console message, uncaught error and CSP
    violation, and every dialog (accepted or dismissed as told)."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.accept_dialogs = True
        context.expose_binding("cspViolation",
                               lambda _source, text: self.problems.append(f"violation: {text}"))
        context.add_init_script(REPORT_VIOLATIONS)
        self.page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"error: {e}"))
        self.page.on("dialog", self._dialog)

    def _console(self, message) -> None:
        if not any(p.search(message.text) for p in NOT_THE_PAGES):
            self.problems.append(f"console {message.type}: {message.text} "
                                 f"({message.location.get('url')})")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        if self.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    def visit(self, path: str) -> Page:
        """Loads a page, checks it came with the policy, and waits until it is quiet."""
        resp = self.page.goto(path)
        assert resp is not None and resp.ok, (path, resp and resp.status)
        assert_has_policy(resp.headers, path)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def assert_quiet(self, *expected: str) -> None:
        """No problem but the ``expected`` ones (substrings), each seen at least once."""
        self.page.wait_for_timeout(300)  # late reports (a chart drawn on idle)
        for text in expected:
            seen = [p for p in self.problems if text in p]
            assert seen, f"expected {text!r} among {self.problems}"
            self.problems = [p for p in self.problems if p not in seen]
        assert self.problems == [], "\n".join(self.problems)


def assert_has_policy(headers: dict[str, str], path: str) -> None:
    policy = headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives.get("default-src") == ["'self'"], (path, policy)
    assert directives.get("frame-ancestors") == ["'none'"], (path, policy)
    assert "'unsafe-inline'" not in directives.get("script-src", ["missing"]), (path, policy)
    assert "'unsafe-eval'" not in directives["script-src"], (path, policy)


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    create_superuser(stack, USER, PASSWORD)
    stack.manage("seed_demo_job", "--project", "csp", "--job-id", "seeded", "--trials", "60",
                 "--steps", "5")
    with chromium() as b:
        yield b


def _watched(browser: Browser, stack: Stack) -> Watched:
    return Watched(browser.new_context(base_url=stack.url,
                                       viewport={"width": 1400, "height": 1000}))


@pytest.fixture
def anonymous(browser: Browser, stack: Stack) -> Iterator[Watched]:
    w = _watched(browser, stack)
    yield w
    w.context.close()


@pytest.fixture
def watched(browser: Browser, stack: Stack) -> Iterator[Watched]:
    w = _watched(browser, stack)
    w.visit("/accounts/login/")
    w.page.fill("#id_username", USER)
    w.page.fill("#id_password", PASSWORD)
    w.page.click("button[type=submit]")
    expect(w.page.locator("h1")).to_have_text("Jobs")
    yield w
    w.context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("HPDASH_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_the_login_page_and_a_failed_login_are_quiet(anonymous: Watched):
    page = anonymous.visit("/accounts/login/")
    page.fill("#id_username", USER)
    page.fill("#id_password", "wrong")
    with page.expect_response(lambda r: r.url.endswith("/accounts/login/")) as info:
        page.click("button[type=submit]")
    assert_has_policy(info.value.headers, "/accounts/login/ (POST)")
    expect(page.locator("form")).to_be_visible()
    anonymous.assert_quiet()


def test_the_job_page_draws_every_chart_under_the_policy(watched: Watched, shots: Path):
    page = watched.visit(JOB)
    # Charts below the fold are drawn as they come near: bring each into view.
    for chart in page.locator(".chart").all():
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", "1", timeout=60_000)
    for chart_id in ("history", "curves", "parallel", "importance", "contour"):
        assert page.locator(f"#chart-{chart_id} svg.main-svg").count() > 0, chart_id
    # The modebar (Plotly's toolbar, styled by the stylesheet Plotly adds) works on hover.
    page.locator("#chart-history").hover()
    expect(page.locator("#chart-history .modebar-btn").first).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=shots / "csp-job-page.png", full_page=True)
    watched.assert_quiet()


def test_the_trial_compare_and_list_pages_are_quiet(watched: Watched):
    page = watched.visit(JOB + "trials/1/")
    expect(page.locator("#chart-measurements .main-svg").first).to_be_visible(timeout=30_000)
    page = watched.visit(JOB + "compare?trials=1,2")
    expect(page.locator("#chart-compare .main-svg").first).to_be_visible(timeout=30_000)
    page = watched.visit("/")
    expect(page.locator("progress.progress").first).to_be_visible()
    watched.visit("/?state=SUCCEEDED&q=seed")
    watched.assert_quiet()


def test_the_new_job_form_with_an_example_and_an_error_is_quiet(watched: Watched):
    page = watched.visit("/jobs/new/")
    page.click("#add-param")  # the form's script runs
    expect(page.locator("#id_params-1-parameter_name")).to_be_visible()
    if page.locator("#load-example").count():
        page.click("#load-example")
        page.wait_for_load_state("networkidle")
    watched.visit("/jobs/new/")
    page.fill("#id_project", "csp")
    page.fill("#id_job_id", "1bad")
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.click("#submit-job")
    assert_has_policy(info.value.headers, "/jobs/new/ (POST)")
    expect(page.locator("#form-errors")).to_be_visible()
    # The form with errors is answered 400, which Chromium notes; nothing else may appear.
    watched.assert_quiet("the server responded with a status of 400")


def test_the_admin_and_the_queue_pages_are_quiet(watched: Watched):
    page = watched.visit("/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    page = watched.visit("/admin/hpdash/job/?q=seeded")
    with page.expect_navigation() as nav:
        page.click("table#result_list a:text-is('seeded')")
    assert nav.value is not None
    assert_has_policy(nav.value.headers, "the job's change page")
    expect(page.locator("#recent-trials")).to_be_visible()
    for path in ("/admin/hpdash/project/", "/admin/hpdash/apitoken/", "/admin/auth/user/",
                 "/admin/auth/user/add/"):
        watched.visit(path)
    page = watched.visit("/admin/hpdash/job/")
    page.check("#action-toggle")  # the admin's own actions.js runs
    expect(page.locator(".action-counter")).to_contain_text("selected")
    watched.visit("/django-rq/")
    watched.assert_quiet()


def test_the_queue_pages_block_only_django_rqs_own_broken_inline_script(watched: Watched):
    # django-rq's job lists carry an inline script calling a jQuery plugin that Django's admin
    # no longer has: the policy blocks it (it would only throw), and nothing else.
    page = watched.visit("/django-rq/queues/0/")
    expect(page.locator("#changelist")).to_be_visible()
    page.wait_for_timeout(300)
    assert watched.problems, "django-rq's inline script ran, or it has none any more"
    assert all("script-src" in p for p in watched.problems), "\n".join(watched.problems)


def test_cancel_asks_first_and_does_nothing_when_told_no(watched: Watched, stack: Stack):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/csplive", body=trainer_job(
        "csp_cancel", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 1,
                                                "maxParallelTrials": 1},
        args=["--sleep=60"])).execute()
    wait_for_state(ml, "projects/csplive/jobs/csp_cancel", ("RUNNING",))
    page = watched.visit("/projects/csplive/jobs/csp_cancel/")
    watched.accept_dialogs = False
    page.click("#cancel-job")
    page.wait_for_timeout(500)
    assert watched.dialogs == ["Cancel csp_cancel? Running trials will be stopped."]
    expect(page.locator("#job-state")).to_have_text("RUNNING")
    watched.accept_dialogs = True
    with page.expect_navigation():
        page.click("#cancel-job")
    assert_has_policy(page.request.get(page.url).headers, page.url)
    expect(page.locator(".messages")).to_contain_text("Cancelling csp_cancel")
    expect(page.locator("#job-state")).to_have_text("CANCELLED", timeout=30_000)
    assert len(watched.dialogs) == 2
    watched.assert_quiet()
