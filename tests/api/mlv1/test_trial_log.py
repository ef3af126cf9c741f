"""hpdash's log extension, ``…/jobs/J:hpdashTrialLog?trialId=N&offset=K``: a trial's log for
whoever may see the job (``hpdash jobs stream-logs`` follows it), whole lines, from an offset;
never through a link, never for another user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone
from support import submitter

from hpdash.core.layout import DataLayout
from hpdash.core.states import TrialState
from hpdash.models import ApiToken, Job, Trial

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_redis")]

JOB = {"jobId": "j1", "trainingInput": {"pythonModule": "m", "hyperparameters": {
    "goal": "MAXIMIZE", "maxTrials": 4,
    "params": [{"parameterName": "x", "type": "INTEGER", "minValue": 1, "maxValue": 4}]}}}
URL = "/v1/projects/p/jobs/j1:hpdashTrialLog"


@pytest.fixture
def log(client, auth, settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    assert client.post("/v1/projects/p/jobs", data=json.dumps(JOB),
                       content_type="application/json", **auth).status_code == 200
    Trial.objects.create(job=Job.objects.get(), trial_id=1, state=TrialState.RUNNING,
                         params={"x": 1}, start_time=timezone.now())
    path = DataLayout(tmp_path).trial_log("p", "j1", 1)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"epoch 1\nepoch 2\nhalf a li")
    return path


def test_the_log_comes_in_whole_lines_from_an_offset(client, auth, log):
    first = client.get(URL, {"trialId": "1"}, **auth).json()
    assert first == {"trialId": "1", "offset": "0", "nextOffset": "16", "size": "25",
                     "content": "epoch 1\nepoch 2\n"}
    with open(log, "ab") as f:
        f.write(b"ne\n")
    again = client.get(URL, {"trialId": "1", "offset": first["nextOffset"]}, **auth).json()
    assert again["content"] == "half a line\n" and again["nextOffset"] == "28"


def test_another_user_gets_no_log(client, log):
    _, token = ApiToken.issue(submitter("mallory"))
    resp = client.get(URL, {"trialId": "1"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert resp.status_code in (403, 404) and "epoch" not in resp.content.decode()


def test_bad_arguments_are_400s_naming_the_field_and_a_missing_trial_a_404(client, auth, log):
    for query, field in (({}, "trialId"), ({"trialId": "x"}, "trialId"),
                         ({"trialId": "1", "offset": "-1"}, "offset")):
        resp = client.get(URL, query, **auth)
        assert resp.status_code == 400
        assert resp.json()["error"]["details"][0]["fieldViolations"][0]["field"] == field
    assert client.get(URL, {"trialId": "9"}, **auth).status_code == 404


def test_a_log_that_is_a_link_is_never_followed(client, auth, log, settings):
    secret = Path(settings.DATA_DIR) / "secret_key"
    secret.write_text("THE-SECRET-KEY\n")
    log.unlink()
    log.symlink_to(secret)
    resp = client.get(URL, {"trialId": "1"}, **auth)
    assert resp.status_code == 200 and resp.json()["content"] == ""
