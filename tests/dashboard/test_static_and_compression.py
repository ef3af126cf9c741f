"""Pages and JSON are gzipped; static files get hashed names and immutable caching once
collectstatic has run, and keep plain names (still served) when it has not."""

from __future__ import annotations

import gzip
import io

from django.core.management import call_command
from django.test import Client, override_settings


def test_the_job_page_is_gzipped_for_browsers_that_accept_it(client, staff, seeded):
    seeded(30)
    client.force_login(staff)
    plain = client.get("/projects/demo/jobs/demo/")
    packed = client.get("/projects/demo/jobs/demo/", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert len(packed.content) < len(plain.content) / 3
    assert b"demo" in gzip.decompress(packed.content)


def test_api_json_is_gzipped_too(client, staff, seeded):
    from hpdash.models import ApiToken

    seeded(30)
    _, token = ApiToken.issue(staff)
    resp = client.get("/v1/projects/demo/jobs/demo", HTTP_ACCEPT_ENCODING="gzip",
                      HTTP_AUTHORIZATION=f"Bearer {token}")
    assert resp.status_code == 200 and resp["Content-Encoding"] == "gzip"


def test_without_collectstatic_pages_link_plain_names(client, staff):
    client.force_login(staff)
    assert b'/static/hpdash/app.css"' in client.get("/").content


def test_after_collectstatic_static_urls_are_hashed_and_cached_forever(tmp_path, staff):
    with override_settings(STATIC_ROOT=tmp_path):
        call_command("collectstatic", interactive=False, verbosity=0, stdout=io.StringIO())
        c = Client()
        c.force_login(staff)
        html = c.get("/").content.decode()
        start = html.index("/static/hpdash/app.")
        url = html[start:html.index('"', start)]
        assert url != "/static/hpdash/app.css" and url.endswith(".css")
        resp = c.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert resp.status_code == 200
        assert "immutable" in resp["Cache-Control"]
        assert resp["Content-Encoding"] == "gzip"
        plotly = c.get("/static/plotly/plotly-strict.min.js")
        assert "immutable" not in plotly["Cache-Control"]  # the plain name: short cache
