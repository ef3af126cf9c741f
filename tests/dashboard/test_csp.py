"""The Content-Security-Policy header (hpdash/dashboard/csp.py, settings.CONTENT_SECURITY_POLICY):
on every page, strict for scripts, and no template brings back inline code or styles."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PLOTLY_JS = ROOT / "static" / "plotly" / "plotly-strict.min.js"  # the one the pages load


def directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            assert words[0] not in out, f"{words[0]} given twice"
            out[words[0]] = words[1:]
    return out


def csp_of(resp) -> dict[str, list[str]]:
    assert "Content-Security-Policy" in resp.headers, resp.headers
    return directives(resp.headers["Content-Security-Policy"])


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_login_page_runs_only_scripts_from_this_site(client):
    policy = csp_of(client.get("/accounts/login/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline code, no eval, no nonce needed
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "data:"]


def test_styles_come_from_this_site_or_match_a_hash_never_any_inline_style(client):
    styles = csp_of(client.get("/accounts/login/"))["style-src"]
    assert styles[0] == "'self'"
    assert "'unsafe-inline'" not in styles and "'unsafe-eval'" not in styles
    others = [s for s in styles[1:] if s != "'unsafe-hashes'"]
    assert others and all(s.startswith("'sha256-") for s in others), styles
    assert sha256_source("") in others  # Plotly's empty <style> and style="" attributes


@pytest.mark.parametrize("path", ["/", "/jobs/new/", "/projects/demo/jobs/demo/",
                                  "/projects/demo/jobs/demo/trials/1/",
                                  "/projects/demo/jobs/demo/compare?trials=1,2", "/admin/",
                                  "/admin/hpdash/job/"])
def test_every_page_a_user_sees_carries_the_same_policy(client, staff, seeded, path):
    seeded(2)
    client.force_login(staff)
    resp = client.get(path)
    assert resp.status_code == 200
    assert csp_of(resp) == csp_of(client.get("/accounts/login/"))


def test_errors_and_api_answers_carry_it_too(client, staff):
    client.force_login(staff)
    assert csp_of(client.get("/projects/demo/jobs/nope/"))["script-src"] == ["'self'"]
    assert csp_of(client.get("/v1/projects/demo/jobs"))["default-src"] == ["'self'"]


def test_the_queue_pages_may_use_inline_styles_but_never_inline_scripts(client, staff):
    client.force_login(staff)
    resp = client.get("/django-rq/no-such-page/")  # its real pages need a Redis
    assert resp.status_code == 404
    policy = csp_of(resp)
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]


def plotly_js_version(text: str) -> str:
    found = re.search(r"plotly\.js (?:\(strict - minified\) )?v(\d+\.\d+\.\d+)", text[:400])
    assert found, text[:400]
    return found.group(1)


def test_the_served_plotly_js_is_the_strict_bundle_of_the_version_the_plotly_package_builds_for():
    import plotly

    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    served = PLOTLY_JS.read_text(encoding="utf-8")
    assert "(strict - minified)" in served[:400]
    assert plotly_js_version(served) == plotly_js_version(bundled.read_text(encoding="utf-8")), (
        "update static/plotly/ (see its README.md)")
    for page in ("job_detail", "trial_detail", "job_compare"):
        text = (ROOT / "templates" / "hpdash" / f"{page}.html").read_text(encoding="utf-8")
        assert "plotly/plotly-strict.min.js" in text and "plotly.min.js" not in text


def test_the_plotly_hashes_match_the_plotly_js_that_is_served():
    """A new plotly release changes its bundled map stylesheet: then this says the new hash."""
    bundle = PLOTLY_JS.read_text(encoding="utf-8")
    found = re.findall(r"\.textContent='(\.maplibregl-map\{(?:[^'\\]|\\.)*)'", bundle)
    assert len(found) == 1 and "\\" not in found[0]  # the literal is the text as the page sees it
    assert settings.PLOTLY_MAPLIBRE_CSS_HASH == sha256_source(found[0])
    # Plotly's own stylesheet still starts empty and is filled through the CSSOM.
    assert 'appendChild(document.createTextNode(""))' in bundle
    assert settings.EMPTY_INLINE_STYLE_HASH == sha256_source("")


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
     "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<style", re.I), "an inline <style>"),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_code_or_styles(template: Path):
    text = template.read_text(encoding="utf-8")
    for pattern, what in INLINE:
        match = pattern.search(text)
        assert match is None, f"{what}: {match and match.group(0)}"


def test_a_form_that_asks_first_says_so_in_data_confirm_and_the_question_is_escaped(
        client, staff, seeded):
    job = seeded(1)
    job.state = "RUNNING"
    job.save()
    client.force_login(staff)
    html = client.get("/projects/demo/jobs/demo/").content.decode()
    assert 'data-confirm="Cancel demo? Running trials will be stopped."' in html
    assert "onsubmit" not in html
    assert "hpdash/confirm" in html  # the static script that asks
