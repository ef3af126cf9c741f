"""Notes on jobs and trials: written on their pages, kept in the database, shown escaped, in
the exports; only for users who may change jobs, and only with the form's CSRF token."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from hpdash.models import Project

PAGE = "/projects/demo/jobs/demo/"


@pytest.fixture
def job(seeded):
    return seeded(3)


def test_a_job_note_is_saved_shown_escaped_and_exported(client, staff, job):
    client.force_login(staff)
    resp = client.post(PAGE + "note", {"note": "lr above 0.1 diverges\n<script>x</script>"})
    assert resp.status_code == 302 and resp["Location"] == PAGE
    job.refresh_from_db()
    assert job.note == "lr above 0.1 diverges\n<script>x</script>"
    html = client.get(PAGE).content.decode()
    assert "lr above 0.1 diverges<br>&lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>x</script>" not in html
    exported = json.loads(client.get(PAGE + "trials.json").content)
    assert exported["note"] == job.note


def test_a_trial_note_is_saved_shown_and_in_both_exports(client, staff, job):
    client.force_login(staff)
    url = PAGE + "trials/2/"
    assert client.post(url + "note", {"note": "=SUM(A1) looks overfit"}).status_code == 302
    assert "=SUM(A1) looks overfit" in client.get(url).content.decode()
    rows = list(csv.reader(io.StringIO(client.get(PAGE + "trials.csv").content.decode())))
    assert rows[0][-1] == "note"
    noted = {row[0]: row[-1] for row in rows[1:]}
    assert noted["2"] == "'=SUM(A1) looks overfit"  # a spreadsheet does not run it
    assert noted["1"] == ""
    trials = json.loads(client.get(PAGE + "trials.json").content)["trials"]
    assert [t.get("note") for t in trials if t["trialId"] == "2"] == ["=SUM(A1) looks overfit"]


def test_an_empty_note_removes_it_and_a_too_long_one_is_refused_with_a_message(client, staff,
                                                                              job):
    client.force_login(staff)
    client.post(PAGE + "note", {"note": "keep"})
    html = client.post(PAGE + "note", {"note": "x" * 10_001}, follow=True).content.decode()
    job.refresh_from_db()
    assert job.note == "keep"
    assert "a note is at most 10,000 characters; this one has 10,001" in html
    client.post(PAGE + "note", {"note": "  "})
    job.refresh_from_db()
    assert job.note == ""
    trial_page = PAGE + "trials/2/"
    resp = client.post(trial_page + "note", {"note": "x" * 10_001}, follow=True)
    assert resp.redirect_chain == [(trial_page, 302)]  # back on the trial's page, which says
    assert "a note is at most 10,000 characters; this one has 10,001" in resp.content.decode()
    assert job.trials.get(trial_id=2).note == ""


def test_notes_need_the_change_job_permission_and_the_csrf_token(job, django_user_model, staff):
    viewer = django_user_model.objects.create_user("viewer")
    Project.objects.get(name="demo").members.add(viewer)
    client = Client()
    client.force_login(viewer)
    assert client.post(PAGE + "note", {"note": "hi"}).status_code == 403
    assert 'id="note-form"' not in client.get(PAGE).content.decode()
    viewer.user_permissions.add(Permission.objects.get(codename="change_job"))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(viewer)
    assert strict.post(PAGE + "note", {"note": "hi"}).status_code == 403
    page = strict.get(PAGE).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    resp = strict.post(PAGE + "note", {"note": "hi", "csrfmiddlewaretoken": token})
    assert resp.status_code == 302
    job.refresh_from_db()
    assert job.note == "hi"
