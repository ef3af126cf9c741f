"""`make run` stopped with SIGTERM mid-job stops every child, and a restart finishes the job; an
idle `make run` stops at once on Ctrl-C."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from harness import (
    QUADRATIC,
    Stack,
    alive,
    running_stack,
    trainer_job,
    trainer_pids,
    wait_for_state,
)

pytestmark = pytest.mark.e2e


def test_stopping_the_service_mid_trial_kills_trainers_and_a_restart_finishes_the_job(
        tmp_path: Path):
    job_dir = tmp_path / "out"
    hyper = {**QUADRATIC, "maxTrials": 2, "maxParallelTrials": 2}
    body = trainer_job("restart_1", "e2etrainer.quadratic", hyper, args=["--sleep=4"],
                       job_dir=str(job_dir))
    with running_stack(tmp_path / "data", workers=2) as stack:
        ml = stack.ml()
        ml.projects().jobs().create(parent="projects/demo", body=body).execute()
        deadline = time.monotonic() + 60
        while len(list(job_dir.glob("*/pid.*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        first_pids = trainer_pids(job_dir)
        assert len(first_pids) == 2 and all(alive(p) for p in first_pids)
    # The context manager sent SIGTERM to `manage.py serve` and waited for it to exit.
    assert not any(alive(p) for p in first_pids), "a trainer outlived the service"
    with running_stack(tmp_path / "data", workers=2) as stack:
        job = wait_for_state(stack.ml(), "projects/demo/jobs/restart_1", timeout=120)
    assert job["state"] == "SUCCEEDED", job
    assert [t["trialId"] for t in job["trainingOutput"]["trials"]] != []
    assert sorted(t["trialId"] for t in job["trainingOutput"]["trials"]) == ["1", "2"]
    # Each trial ran twice: once interrupted, once to the end.
    assert len(list(job_dir.glob("*/pid.*"))) == 4
    assert os.path.exists(job_dir / "1" / "run.json")


def test_ctrl_c_stops_everything_cleanly_and_a_restart_resumes_the_requeued_trials_at_once(
        tmp_path: Path):
    """Ctrl-C sends SIGINT to the whole process group: the supervisor alone must act on it,
    stopping web, then workers (which re-queue), then Redis, with no traceback.  A restart runs
    the re-queued trials at once, and a checkpointing trainer resumes where it stopped: its
    curve has each step once.  (One job, so that the stop and the resume are seen on the same
    trials.)"""
    job_dir = tmp_path / "out"
    hyper = {**QUADRATIC, "maxTrials": 2, "maxParallelTrials": 2}
    body = trainer_job("resume_1", "e2etrainer.resumable", hyper, args=["--steps=30"],
                       job_dir=str(job_dir))
    ckpts = [job_dir / str(t) / "ckpt.json" for t in (1, 2)]

    def reached() -> list[int]:
        return [json.loads(c.read_text())["step"] if c.exists() else 0 for c in ckpts]

    with running_stack(tmp_path / "data", workers=2) as stack:
        stack.ml().projects().jobs().create(parent="projects/demo", body=body).execute()
        deadline = time.monotonic() + 90
        while min(reached()) < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert min(reached()) >= 8, reached()
        first_pids = trainer_pids(job_dir)
        assert len(first_pids) == 2
        started = time.monotonic()
        code = stack.interrupt()
        stopped_in = time.monotonic() - started
        log = stack.log.read_text()
    assert code == 0, log[-3000:]
    assert stopped_in < 30, f"took {stopped_in:.0f} s to stop"
    assert "Traceback" not in log, log[-3000:]
    assert "Perhaps out of memory" not in log
    assert not any(alive(p) for p in first_pids), "a trainer outlived the service"
    stopped_at = reached()
    assert max(stopped_at) < 30, "the trials ended before the Ctrl-C"
    with running_stack(tmp_path / "data", workers=2) as stack:
        up = time.monotonic()
        while len(list(job_dir.glob("*/pid.*"))) < 4 and time.monotonic() - up < 60:
            time.sleep(0.1)
        rerun_after = time.monotonic() - up
        job = wait_for_state(stack.ml(), "projects/demo/jobs/resume_1", timeout=120)
        stored = json.loads(stack.manage("shell", "-c", (
            "import json; from hpdash.models import Measurement; print(json.dumps(list("
            "Measurement.objects.filter(trial__job__job_id='resume_1').order_by('id')"
            ".values_list('trial__trial_id', 'step'))))")).splitlines()[-1])
    # Not left QUEUED until the reconciler noticed (that took ~40 s when Redis died first).
    assert rerun_after < 8, f"the re-queued trials started {rerun_after:.0f} s after the restart"
    assert job["state"] == "SUCCEEDED", job
    for t in (1, 2):
        starts = (job_dir / str(t) / "starts.txt").read_text().split()
        assert starts[0] == "0" and int(starts[1]) >= 8, starts  # resumed, not started over
        steps = [step for trial_id, step in stored if trial_id == t]
        assert sorted(steps) == list(range(1, 31)), steps  # every step, each once


def _workers_listening(stack: Stack, mark: int, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while stack.log_since(mark).count("Listening on default") < n:
        assert time.monotonic() < deadline, stack.log_since(mark)[-3000:]
        time.sleep(0.2)


def test_ctrl_c_twice_stops_an_idle_server_at_once_every_time(tmp_path: Path):
    """Issues 20 and 24: now and then an idle worker kept the whole stop waiting 25 s, until
    `make run` killed it (a race in RQ's shutdown of its pub/sub thread), and every process's
    exit took seconds of garbage collection; now the second Ctrl-C may land in the exit
    itself, which must still end with status 0.  Repeated, as the race showed in about one stop
    in four (tests/worker/test_worker_shutdown.py forces it): three starts of one data dir (a
    restart is quicker than a first start), each read in its own part of the log."""
    times = []
    data = tmp_path / "data"
    for _ in range(3):
        mark = (data / "serve.log").stat().st_size if (data / "serve.log").exists() else 0
        with running_stack(data, workers=3) as stack:
            _workers_listening(stack, mark, 3)
            time.sleep(1)  # idle, each worker waiting for work in Redis
            started = time.monotonic()
            code = stack.interrupt(again_after=1.0)  # impatient: Ctrl-C twice
            times.append(time.monotonic() - started)
            log = stack.log_since(mark)
        assert code == 0, log[-3000:]
        assert "did not stop in time" not in log, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
    assert max(times) < 10, f"stops took {', '.join(f'{t:.1f}' for t in times)} s"
