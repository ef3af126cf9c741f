"""A worker machine fetches the packages it lacks from the server, keeps only what has the
job's hash, and a package it cannot have re-queues the trial instead of failing it (issue 20)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support import submit_ml_job

from hpdash.core.states import TrialState
from hpdash.models import Job, Trial
from hpdash.ops import queue
from hpdash.worker import trial_runner
from hpdash.worker.packages import PackagesUnavailable, definition_with_local_packages

pytestmark = pytest.mark.django_db
KEY = "hpw_test"


class Server:
    """The main machine's package endpoint, as far as a worker sees it: a blob by its hash to
    whoever sends the key (``tamper``: bytes other than the blob's)."""

    def __init__(self, store: Path) -> None:
        self.store, self.tamper, self.requests = store, False, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                blob = server.store / "blobs" / self.path.rsplit("/", 1)[-1]
                if self.headers["Authorization"] != f"Bearer {KEY}" or not blob.is_file():
                    self.send_error(404 if blob.is_file() is False else 401)
                    return
                body = blob.read_bytes()
                if server.tamper:
                    body = body[:-1] + bytes([body[-1] ^ 1])
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture(autouse=True)
def quiet_queue(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)
    monkeypatch.setattr(queue, "enqueue_trial", lambda pk, attempt: None)


@pytest.fixture
def remote(settings, tmp_path) -> Iterator[tuple[Job, Server]]:
    """A job created on the main machine, seen from a worker machine: the package's path and
    the store are not on this machine's disk, the server has them."""
    settings.HPDASH = replace(settings.HPDASH, allowed_paths=("/",))
    pkg = tmp_path / "submitter" / "trainer"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "task.py").write_text("print('ran')\n")
    job = submit_ml_job(project="p", data={"jobId": "fetch_1", "trainingInput": {
        "pythonModule": "trainer.task", "packageUris": [str(pkg)], "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 1,
            "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0,
                        "maxValue": 1}]}}})
    shutil.rmtree(tmp_path / "submitter")
    store = Path(settings.DATA_DIR) / "packages"
    server_store = tmp_path / "server-store"
    shutil.move(store, server_store)
    server = Server(server_store)
    settings.HPDASH = replace(settings.HPDASH, server_url=server.url, worker_key=KEY)
    yield job, server
    server.http.shutdown()
    shutil.rmtree(store, ignore_errors=True)


def test_a_worker_without_the_package_fetches_it_once_and_stages_the_copy(remote):
    job, server = remote
    package = definition_with_local_packages(job).package
    assert package is not None
    (path,) = package.package_uris
    assert Path(path, "task.py").read_text() == "print('ran')\n"
    again = definition_with_local_packages(job).package
    assert again is not None and again.package_uris == (path,)
    assert server.requests == 1  # cached by hash on this machine


def test_a_blob_without_the_jobs_hash_is_refused_and_not_kept(remote, settings):
    job, server = remote
    server.tamper = True
    with pytest.raises(PackagesUnavailable, match="not the job's"):
        definition_with_local_packages(job)
    assert list((Path(settings.DATA_DIR) / "packages" / "blobs").iterdir()) == []


def test_a_server_that_cannot_be_reached_or_lacks_it_is_a_clear_error(remote, settings):
    job, _server = remote
    settings.HPDASH = replace(settings.HPDASH, worker_key="hpw_wrong")
    with pytest.raises(PackagesUnavailable, match=r"cannot fetch package trainer .*HTTP 401"):
        definition_with_local_packages(job)
    settings.HPDASH = replace(settings.HPDASH, server_url="")
    with pytest.raises(PackagesUnavailable, match="HPDASH_SERVER_URL is not set"):
        definition_with_local_packages(job)


def test_a_package_that_cannot_be_fetched_requeues_the_trial_and_never_fails_it(
        remote, settings, monkeypatch):
    job, server = remote
    server.http.shutdown()
    server.http.server_close()  # the main machine is unreachable
    monkeypatch.setattr(trial_runner, "UNAVAILABLE_PAUSE", 0.0)
    trial = Trial.objects.create(job=job, trial_id=1, params={"x": 0.5}, attempt=1)
    trial_runner.trial_execute(trial.pk, 1)
    trial.refresh_from_db()
    assert (trial.state, trial.attempt, trial.failure_reason) == (TrialState.QUEUED, 2, "")
    log = (Path(settings.DATA_DIR) / "jobs" / "p" / "fetch_1" / "trials" / "1"
           / "trainer.log").read_text()
    assert "cannot start on this machine: cannot fetch package trainer" in log
    assert "the trial is re-queued for another worker" in log


def test_a_worker_that_keeps_failing_to_get_packages_stops_taking_work_longer_and_says_why(
        remote, monkeypatch, caplog):
    job, server = remote
    server.http.shutdown()
    server.http.server_close()

    class Shutdown:
        pauses: list[float] = []

        def is_set(self) -> bool:
            return False

        def wait(self, seconds: float) -> bool:
            self.pauses.append(seconds)
            return False

    shutdown = Shutdown()
    monkeypatch.setattr(trial_runner, "SHUTDOWN", shutdown)
    monkeypatch.setattr(trial_runner._UNAVAILABLE, "count", 0)
    trial = Trial.objects.create(job=job, trial_id=1, params={"x": 0.5}, attempt=1)
    for attempt in (1, 2, 3):
        trial_runner.trial_execute(trial.pk, attempt)
    assert shutdown.pauses == [5.0, 10.0, 20.0]  # it takes no work, longer each time
    assert "could not start 3 trial(s) in a row (the last: cannot fetch package" in caplog.text
    assert trial_runner.unavailable_pause(20) == trial_runner.UNAVAILABLE_PAUSE_MAX
