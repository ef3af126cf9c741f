"""A job's labels show on the job list and the job page, and the list filters by them."""

from __future__ import annotations

import pytest
from support import job_row

HP = {"params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


@pytest.fixture
def labelled(client, staff):
    job_row("vision_1", HP, labels={"team": "vision", "gpu": "a100"})
    job_row("nlp_1", HP, labels={"team": "nlp"})
    job_row("plain_1", HP)
    client.force_login(staff)
    return client


def _listed(html: str) -> list[str]:
    return [j for j in ("vision_1", "nlp_1", "plain_1") if f"/jobs/{j}/" in html]


def test_the_job_list_shows_each_jobs_labels_as_links_that_filter_by_them(labelled):
    html = labelled.get("/").content.decode()
    assert '<a class="badge label" href="?label=team=vision"' in html
    assert ">gpu=a100</a>" in html and ">team=nlp</a>" in html
    assert _listed(labelled.get("/", {"label": "team=vision"}).content.decode()) == ["vision_1"]
    assert sorted(_listed(labelled.get("/", {"label": "team"}).content.decode())) == [
        "nlp_1", "vision_1"]
    assert _listed(labelled.get("/", {"label": "gpu=h100"}).content.decode()) == []


def test_a_label_filter_that_is_no_label_says_so_and_filters_nothing(labelled):
    html = labelled.get("/", {"label": "Team = Vision"}).content.decode()
    assert "Label filter &#x27;Team = Vision&#x27;: give a label key, or key=value" in html
    assert len(_listed(html)) == 3


def test_the_job_page_shows_the_labels(labelled):
    html = labelled.get("/projects/p/jobs/vision_1/").content.decode()
    assert 'id="job-labels"' in html and ">team=vision</a>" in html and ">gpu=a100</a>" in html
