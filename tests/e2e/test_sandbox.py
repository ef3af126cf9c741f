"""A hostile trainer, submitted by an ordinary user, reaches nothing of the service's (tests
and CI run as root: trainers run as the trial user, nobody) and leaves no process behind."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from harness import alive, running_stack, trainer_job, wait_for_state

pytestmark = pytest.mark.e2e

HYPER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 1,
         "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root (CI runs as root)")
def test_a_hostile_trainer_reaches_nothing_of_the_service_and_the_job_still_succeeds(
        tmp_path: Path):
    out = tmp_path / "out"
    with running_stack(tmp_path / "data", workers=1) as stack:
        body = trainer_job("hostile_1", "e2etrainer.hostile", HYPER, job_dir=str(out))
        stack.ml().projects().jobs().create(parent="projects/hostile", body=body).execute()
        job = wait_for_state(stack.ml(), "projects/hostile/jobs/hostile_1", timeout=120)
        log = stack.log.read_text()
    assert job["state"] == "SUCCEEDED", job
    assert "sandboxed" in log
    report = json.loads((out / "1" / "attempts.json").read_text())
    assert report["uid"] in range(200000, 265536), report  # a uid of its own (HPDASH_TRIAL_UIDS)
    assert report["home"].endswith("/trials/1")
    assert report["env_secrets"] == []
    assert not any(report["managed"].values()), report["managed"]
    assert len(report["managed"]) == 12
    # The grandchild that left the trainer's process group with setsid() ended with the trial.
    grandchild = int((out / "1" / "grandchild.pid").read_text())
    deadline = time.monotonic() + 10
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(grandchild), "a setsid() grandchild outlived its trial"
    data = tmp_path / "data"
    assert oct(data.stat().st_mode & 0o777) == "0o710"
    if (data / "hpdash.sqlite3").exists():  # the default database (CI also runs PostgreSQL)
        assert oct((data / "hpdash.sqlite3").stat().st_mode & 0o777) == "0o600"
    assert oct((data / "secret_key").stat().st_mode & 0o777) == "0o600"
