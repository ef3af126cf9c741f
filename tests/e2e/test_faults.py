"""Processes die; jobs still finish.  The tests share one `manage.py serve` (a module's stack,
not the session's: they kill its children) with a short heartbeat timeout, so that a lost
worker is noticed in seconds instead of a minute; each kills a different child, and the
supervisor must bring each back, so every test after the first also runs on a stack that has
already lived through a fault.  Each test reads only what the service logged during it."""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    QUADRATIC,
    Stack,
    alive,
    host_pids,
    running_stack,
    trainer_job,
    trainer_pids,
    wait_for_state,
    worker_of,
)

pytestmark = pytest.mark.e2e

FAST = {"HPDASH_HEARTBEAT_TIMEOUT": "3", "HPDASH_RECONCILE_INTERVAL": "1"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Two workers; a trainer's log capped at 100 kB and a stop grace of 1 s (the spamming and
    the stubborn trainer below), which the other tests' trainers never come near."""
    data = tmp_path_factory.mktemp("faults")
    data.chmod(0o711)  # the trial user passes through to its sandbox
    with running_stack(data / "data", workers=2, HPDASH_TRIAL_LOG_MAX_BYTES="100000",
                       HPDASH_TRIAL_STOP_GRACE="1", **FAST) as s:
        yield s


def _child_pid(stack: Stack, name: str) -> int:
    found = re.findall(rf"started {name} \(pid (\d+)\)", stack.log.read_text())
    return int(found[-1])


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _trainer_pids(job_dir: Path) -> list[int]:
    return trainer_pids(job_dir)


def test_a_worker_killed_mid_trial_is_noticed_and_its_trial_runs_again(stack: Stack,
                                                                        tmp_path: Path):
    job_dir = tmp_path / "out"
    mark = stack.log_mark()
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/f", body=trainer_job(
        "wkill_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 2,
                                            "maxParallelTrials": 1},
        args=["--sleep=3"], job_dir=str(job_dir))).execute()
    _wait_for(lambda: len(_trainer_pids(job_dir)) == 1)
    trainer = _trainer_pids(job_dir)[0]
    worker = worker_of(trainer)  # the RQ worker
    killed_at = time.monotonic()
    os.kill(worker, signal.SIGKILL)
    _wait_for(lambda: not alive(trainer), timeout=10)  # PR_SET_PDEATHSIG took it down
    _wait_for(lambda: len(list((job_dir / "1").glob("pid.*"))) == 2, timeout=60)
    settled = time.monotonic() - killed_at
    job = wait_for_state(ml, "projects/f/jobs/wkill_1", timeout=120)
    log = stack.log_since(mark)
    assert job["state"] == "SUCCEEDED", job
    assert sorted(t["trialId"] for t in job["trainingOutput"]["trials"]) == ["1", "2"]
    assert "no heartbeat from its worker" in log
    assert re.search(r"worker-\d exited \(code -9\); restarting", log)
    print(f"\nkilled worker's trial re-queued after {settled:.1f} s (heartbeat timeout 3 s)")


def test_the_job_finishes_when_redis_is_killed_mid_job(stack: Stack):
    mark = stack.log_mark()
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/f", body=trainer_job(
        "redis_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 6,
                                            "maxParallelTrials": 2},
        args=["--sleep=1"])).execute()
    wait_for_state(ml, "projects/f/jobs/redis_1", ("RUNNING",))
    os.kill(_child_pid(stack, "redis"), signal.SIGKILL)
    job = wait_for_state(ml, "projects/f/jobs/redis_1", timeout=120)
    log = stack.log_since(mark)
    assert "redis exited (code -9); restarting" in log
    assert job["state"] == "SUCCEEDED", job
    assert sorted(int(t["trialId"]) for t in job["trainingOutput"]["trials"]) == list(
        range(1, 7))
    assert all("finalMetric" in t for t in job["trainingOutput"]["trials"])


def test_the_web_server_comes_back_after_it_dies_and_no_result_is_lost(stack: Stack):
    mark = stack.log_mark()
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/f", body=trainer_job(
        "web_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 4},
        args=["--sleep=1"])).execute()
    killed = stack.log_mark()
    os.kill(_child_pid(stack, "web"), signal.SIGKILL)

    def up() -> bool:
        try:
            urllib.request.urlopen(stack.url + "/accounts/login/", timeout=2)
            return True
        except OSError:
            return False

    # Back means a new web server listens: the killed one's workers answer on for a few
    # seconds after their master died (and hold the port meanwhile).
    _wait_for(lambda: "Listening at: " in stack.log_since(killed) and up(), timeout=60)
    job = wait_for_state(ml, "projects/f/jobs/web_1", timeout=120)
    assert "web exited (code -9); restarting" in stack.log_since(mark)
    assert job["state"] == "SUCCEEDED" and job["trainingOutput"]["completedTrialCount"] == "4"


def test_a_trainer_filling_its_log_is_capped_and_its_result_kept(stack: Stack):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/f", body=trainer_job(
        "spam_1", "e2etrainer.spammy", {**QUADRATIC, "maxTrials": 1})).execute()
    job = wait_for_state(ml, "projects/f/jobs/spam_1", timeout=120)
    log = stack.data_dir / "jobs" / "f" / "spam_1" / "trials" / "1" / "trainer.log"
    size = log.stat().st_size
    text = log.read_text()
    assert job["state"] == "SUCCEEDED"
    assert job["trainingOutput"]["trials"][0]["finalMetric"]["objectiveValue"] == 1.0
    assert size < 110_000 and "log truncated at 100000 bytes" in text


def test_cancel_kills_a_trainer_that_forks_and_ignores_sigterm(stack: Stack, tmp_path: Path):
    job_dir = tmp_path / "out"
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/f", body=trainer_job(
        "stubborn_1", "e2etrainer.stubborn", {**QUADRATIC, "maxTrials": 1},
        job_dir=str(job_dir))).execute()
    _wait_for(lambda: (job_dir / "1" / "pids").exists())
    pids = host_pids([int(p) for p in (job_dir / "1" / "pids").read_text().split()],
                     job_dir / "1")
    assert len(pids) == 2
    ml.projects().jobs().cancel(name="projects/f/jobs/stubborn_1", body={}).execute()
    job = wait_for_state(ml, "projects/f/jobs/stubborn_1", timeout=30)
    assert job["state"] == "CANCELLED"
    _wait_for(lambda: not any(alive(p) for p in pids), timeout=10)
