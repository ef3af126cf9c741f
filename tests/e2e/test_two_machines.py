"""Two machines that share nothing but the network (issue 20): a second machine is a network
namespace of its own, joined to this one by a veth pair, running `make worker`
(`manage.py workers`) with its own data dir and the main machine's PostgreSQL, Redis and web
server at the main machine's address on that link.  The job's package path exists on no
machine once the job is created (the worker fetches it from the server) and the job has no
jobDir.  Then the link is dropped while the second machine runs a trial: its worker fences
its own trainer before the lease ends, the main machine re-queues the trial and runs it, and
every measurement of every trial comes from exactly one trainer run.

Needs root and `ip netns` (skipped, saying so, without them) and PostgreSQL: E2E_DATABASE_URL,
as .ci/run sets it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import TRAINERS, Stack, alive, running_stack, trainers_under, wait_for_state
from netns import Link, netns_problem, start_redis, worker_machine

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.environ.get("E2E_DATABASE_URL"),
                       reason="needs PostgreSQL: set E2E_DATABASE_URL (as .ci/run does)"),
]

HEARTBEAT_TIMEOUT = 15.0  # the lease: fenced after 8 s without a heartbeat (15 - 2 - 5)
FAST = {"HPDASH_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT), "HPDASH_RECONCILE_INTERVAL": "1"}
TICKER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 4,
          "maxParallelTrials": 2, "algorithm": "RANDOM_SEARCH",
          "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


@dataclass
class Cluster:
    stack: Stack
    link: Link
    second: subprocess.Popen[bytes]
    second_data: Path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if why := netns_problem():
        pytest.skip(why)
    root = tmp_path_factory.mktemp("two")
    root.chmod(0o711)  # the trial user passes through to both machines' sandboxes
    link = Link.make()
    redis: subprocess.Popen[bytes] | None = None
    try:
        redis, port = start_redis(root, link)
        with running_stack(root / "main", workers=1, HPDASH_HOST="0.0.0.0",
                           HPDASH_ALLOWED_HOSTS=f"127.0.0.1,localhost,{link.host}",
                           REDIS_URL=f"redis://:s3cret@127.0.0.1:{port}/0", **FAST) as stack, \
                worker_machine(stack, link, root / "second-machine", workers=1,
                               redis_url=f"redis://:s3cret@{link.host}:{port}/0",
                               **FAST) as second:
            yield Cluster(stack=stack, link=link, second=second,
                          second_data=root / "second-machine")
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)
        link.remove()


def _tickers(pid: int) -> list[int]:
    """The ticker trainers running under ``pid`` (a machine's `manage.py workers`)."""
    return trainers_under(pid, "e2etrainer.ticker")


def _measurements(stack: Stack, job_id: str) -> dict[int, list[tuple[int, float, int]]]:
    import psycopg

    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT t.trial_id, m.step, m.value, m.attempt FROM hpdash_measurement m "
            "JOIN hpdash_trial t ON t.id = m.trial_id JOIN hpdash_job j ON j.id = t.job_id "
            "WHERE j.job_id = %s ORDER BY t.trial_id, m.step", (job_id,)).fetchall()
    out: dict[int, list[tuple[int, float, int]]] = {}
    for trial, step, value, attempt in rows:
        out.setdefault(trial, []).append((step, value, attempt))
    return out


def _submit(cluster: Cluster, tmp_path: Path, job_id: str, steps: int, sleep: float) -> None:
    package = tmp_path / "submitter" / "e2etrainer"
    shutil.copytree(TRAINERS / "e2etrainer", package,
                    ignore=shutil.ignore_patterns("__pycache__", "keras_runs"))
    cluster.stack.ml().projects().jobs().create(parent="projects/two", body={
        "jobId": job_id, "trainingInput": {
            "pythonModule": "e2etrainer.ticker", "packageUris": [str(package)],
            "args": [f"--steps={steps}", f"--sleep={sleep}"], "hyperparameters": TICKER,
            "scaleTier": "BASIC", "region": "local"}}).execute()
    shutil.rmtree(package)  # on no machine now: what runs is the server's stored copy


def _one_run_each(cluster: Cluster, job: dict[str, object], job_id: str, steps: int) -> None:
    measured = _measurements(cluster.stack, job_id)
    trials = job["trainingOutput"]["trials"]  # type: ignore[index]
    assert len(trials) == TICKER["maxTrials"]
    for trial in trials:
        points = measured[int(trial["trialId"])]
        values = {value for _, value, _ in points}
        assert len(values) == 1, f"trial {trial['trialId']}: values of several runs {points}"
        assert [step for step, _, _ in points] == list(range(1, steps + 1)), points
        assert trial["finalMetric"]["objectiveValue"] == values.pop()


def test_a_machine_sharing_only_the_network_runs_trials_and_its_logs_reach_the_server(
        cluster: Cluster, tmp_path: Path):
    _submit(cluster, tmp_path, "net_1", steps=4, sleep=0.5)
    ml = cluster.stack.ml()
    job = wait_for_state(ml, "projects/two/jobs/net_1", timeout=240)
    assert job["state"] == "SUCCEEDED", job
    _one_run_each(cluster, job, "net_1", steps=4)
    workers = {int(p) for p in Path(f"/proc/{cluster.second.pid}/task/{cluster.second.pid}"
                                    "/children").read_text().split()}
    logs = [(cluster.stack.data_dir / "jobs" / "two" / "net_1" / "trials" / str(i)
             / "trainer.log").read_text() for i in range(1, 5)]
    there = [log for log in logs if any(f":{pid}" in log.split("\n", 1)[0] or
                                        f".{pid}" in log.split("\n", 1)[0]
                                        for pid in workers)]
    assert there, f"the second machine ran none of the trials: {logs}"
    for log in there:  # its trials' logs are on the main machine, sent over the link
        assert "ticker: run" in log and "done" in log, log
    # ... and served from there, as the dashboard and `hpdash jobs stream-logs` read them.
    for trial_id in (i for i, log in enumerate(logs, 1) if log in there):
        request = urllib.request.Request(
            f"{cluster.stack.url}/v1/projects/two/jobs/net_1:hpdashTrialLog?trialId={trial_id}",
            headers={"Authorization": f"Bearer {cluster.stack.token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            served = json.loads(answer.read())
        assert served["content"] == logs[trial_id - 1], served
    blobs = cluster.second_data / "packages" / "blobs"
    assert [p.name for p in blobs.iterdir()], "the second machine fetched the package"


def test_a_partition_fences_the_trainer_and_the_trial_finishes_elsewhere(
        cluster: Cluster, tmp_path: Path):
    steps = 30
    _submit(cluster, tmp_path, "part_1", steps=steps, sleep=0.5)
    deadline = time.monotonic() + 120
    while not (stale := _tickers(cluster.second.pid)):
        assert time.monotonic() < deadline, "the second machine took no trial"
        time.sleep(0.2)
    time.sleep(3)  # a few measurements reach the server first
    cluster.link.down()
    dropped = time.monotonic()
    try:
        while any(alive(pid) for pid in stale):
            assert time.monotonic() - dropped < HEARTBEAT_TIMEOUT, (
                "the partitioned trainer still ran when its lease ended")
            time.sleep(0.1)
        fenced_after = time.monotonic() - dropped
        ml = cluster.stack.ml()
        job = wait_for_state(ml, "projects/two/jobs/part_1", timeout=300)
    finally:
        cluster.link.up()
    assert job["state"] == "SUCCEEDED", job
    _one_run_each(cluster, job, "part_1", steps=steps)
    print(f"\npartitioned trainer stopped {fenced_after:.1f} s after the link dropped "
          f"(heartbeat timeout {HEARTBEAT_TIMEOUT:.0f} s)")
