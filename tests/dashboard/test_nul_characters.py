"""A NUL character in a page's URL or query string is a 400, never a 500: PostgreSQL refuses
one in a query, and no project, job, filter or search can hold one (hpdash/nul.py answers
before any view, session or login throttle reads the request)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("url", [
    "/projects/demo%00/jobs/demo/", "/projects/demo/jobs/de%00mo/trials/1/",
    "/projects/demo/jobs/demo/?state=%00", "/projects/demo/jobs/demo/?x%00=1", "/?q=a%00b",
    "/admin/hpdash/job/?q=%00", "/accounts/login/?next=/%00",
])
def test_a_nul_character_in_a_pages_url_is_a_400_page(client, staff, seeded, url):
    seeded(2)
    client.force_login(staff)
    resp = client.get(url)
    assert resp.status_code == 400, resp.content[:500]
    assert resp["Content-Type"].startswith("text/html")


def test_an_anonymous_visitor_gets_the_400_too_and_the_page_itself_still_answers(client,
                                                                                seeded):
    seeded(1)
    assert client.get("/?q=%00").status_code == 400
    assert client.get("/?q=demo").status_code == 302  # to the login page, as before
