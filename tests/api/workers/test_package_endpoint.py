"""``GET /workers/v1/packages/<sha256>`` (issue 20): a worker key fetches a blob of the server's
package store, and nothing outside it."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from django.test import Client
from support import submit_ml_job, submitter

from hpdash.models import ApiToken, JobPackage, WorkerKey
from hpdash.ops import queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quiet_queue(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)


@pytest.fixture
def stored(settings, tmp_path) -> JobPackage:
    settings.HPDASH = replace(settings.HPDASH, allowed_paths=("/",))
    pkg = tmp_path / "trainer"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "task.py").write_text("print('ran')\n")
    job = submit_ml_job(project="p", data={"jobId": "pk_1", "trainingInput": {
        "pythonModule": "trainer.task", "packageUris": [str(pkg)], "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 1,
            "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0,
                        "maxValue": 1}]}}})
    return job.packages.get()


def get(key: str, sha: str):
    return Client().get(f"/workers/v1/packages/{sha}", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_creating_a_job_stores_its_package_and_a_worker_key_fetches_it(stored):
    _, key = WorkerKey.issue("gpu-2")
    answer = get(key, stored.sha256)
    assert answer.status_code == 200
    body = b"".join(answer.streaming_content)
    assert hashlib.sha256(body).hexdigest() == stored.sha256 and len(body) == stored.size
    assert (stored.name, stored.position) == ("trainer", 0)


def test_no_key_or_a_users_token_fetches_nothing(stored):
    _, token = ApiToken.issue(submitter("alice"))
    assert get(token, stored.sha256).status_code == 401
    assert Client().get(f"/workers/v1/packages/{stored.sha256}").status_code == 401


def test_a_name_that_is_not_a_hash_is_a_400_and_an_unknown_hash_a_404(stored):
    _, key = WorkerKey.issue("gpu-2")
    for name in ("..", "secret_key", stored.sha256.upper(), stored.sha256[:-1] + "g"):
        answer = get(key, name)
        assert answer.status_code == 400, name
        assert "sha256" in answer.json()["error"]
    assert get(key, "0" * 64).status_code == 404


def test_a_link_in_the_store_is_never_followed(stored, settings):
    _, key = WorkerKey.issue("gpu-2")
    link = Path(settings.DATA_DIR) / "packages" / "blobs" / ("1" * 64)
    link.symlink_to(Path(settings.DATA_DIR) / "secret_key")
    assert get(key, "1" * 64).status_code == 404
