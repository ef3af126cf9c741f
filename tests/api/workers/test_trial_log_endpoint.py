"""``POST /workers/v1/trials/<pk>/log``: only a worker key opens it, and a worker key opens
nothing else."""

from __future__ import annotations

import pytest
from django.test import Client
from support import job_row, submitter

from hpdash.core.states import TrialState
from hpdash.models import ApiToken, Trial, WorkerKey

pytestmark = pytest.mark.django_db
HP = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 2,
      "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


@pytest.fixture
def trial() -> Trial:
    return Trial.objects.create(job=job_row("ep_1", HP), trial_id=1, state=TrialState.RUNNING,
                                params={"x": 0.5}, attempt=1)


def post(key: str, trial: Trial, body: bytes = b"hello\n", headers: dict[str, str] | None = None):
    heads = {"X-Hpdash-Attempt": "1", "X-Hpdash-Offset": "0", **(headers or {}),
             "Authorization": f"Bearer {key}"}
    return Client().post(f"/workers/v1/trials/{trial.pk}/log", data=body,
                         content_type="application/octet-stream", headers=heads)


def test_a_worker_key_sends_a_log_chunk(trial):
    _, key = WorkerKey.issue("gpu-2")
    answer = post(key, trial)
    assert answer.status_code == 200
    assert answer.json() == {"received": 6}


def test_a_users_api_token_cannot_send_logs(trial):
    _, token = ApiToken.issue(submitter("alice"))
    assert post(token, trial).status_code == 401


def test_a_revoked_worker_key_is_refused(trial):
    row, key = WorkerKey.issue("gpu-2")
    row.revoked = True
    row.save()
    assert post(key, trial).status_code == 401


def test_a_worker_key_opens_no_user_api():
    _, key = WorkerKey.issue("gpu-2")
    answer = Client().get("/v1/projects/p/jobs", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert answer.status_code == 401


def test_a_missing_offset_is_a_400_naming_the_header(trial):
    _, key = WorkerKey.issue("gpu-2")
    answer = post(key, trial, headers={"X-Hpdash-Offset": ""})
    assert answer.status_code == 400
    assert "X-Hpdash-Offset" in answer.json()["error"]


def test_a_superseded_attempt_is_told_to_stop(trial):
    _, key = WorkerKey.issue("gpu-2")
    answer = post(key, trial, headers={"X-Hpdash-Attempt": "0"})
    assert answer.status_code == 409
    assert answer.json()["expected"] is None
