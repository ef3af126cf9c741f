"""The admin's job list: searchable by job id and project name (the project is a foreign key)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from support import submit_ml_job

from hpdash.ops import queue

pytestmark = pytest.mark.django_db
JOB = {"jobId": "admin_find_me", "trainingInput": {"pythonModule": "m", "hyperparameters": {
    "params": [{"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}


@pytest.mark.parametrize("query", ["admin_find", "team-z"])
def test_the_admin_job_list_finds_a_job_by_id_or_project(client, monkeypatch, query):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)
    submit_ml_job(project="team-z", data=JOB)
    client.force_login(User.objects.create_superuser("root", password="pw"))
    page = client.get("/admin/hpdash/job/", {"q": query})
    assert page.status_code == 200
    assert b"admin_find_me" in page.content and b"_selected_action" in page.content
