"""GPUs, end to end: a real `manage.py serve` whose workers declare 4 GPUs (HPDASH_GPUS: these
machines have none), real trainers that record the CUDA_VISIBLE_DEVICES they were given and
when they ran, and Google's client.  The tests share the stack; the last one kills a worker."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterable, Iterator
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from harness import (
    QUADRATIC,
    Stack,
    alive,
    host_pids,
    running_stack,
    trainer_job,
    wait_for_state,
    worker_of,
)

pytestmark = pytest.mark.e2e

FAST = {"HPDASH_HEARTBEAT_TIMEOUT": "3", "HPDASH_RECONCILE_INTERVAL": "1"}
Run = dict[str, Any]  # a trainer's run.json: its environment, start and end


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("gpus")
    data.chmod(0o711)  # the trial user passes through to its sandbox
    with running_stack(data / "data", workers=4, HPDASH_GPUS="0,1,2,3", **FAST) as s:
        yield s


def _gpu_job(job_id: str, count: int | None, job_dir: Path, trials: int, parallel: int,
             sleep: float = 2.0) -> dict[str, Any]:
    body = trainer_job(job_id, "e2etrainer.quadratic",
                       {**QUADRATIC, "maxTrials": trials, "maxParallelTrials": parallel,
                        "algorithm": "RANDOM_SEARCH"},
                       args=[f"--sleep={sleep}"], job_dir=str(job_dir))
    if count is not None:
        body["trainingInput"].update(scaleTier="CUSTOM", masterType="n1-standard-8",
                                     masterConfig={"acceleratorConfig": {
                                         "count": str(count), "type": "NVIDIA_TESLA_T4"}})
    return body


def _runs(job_dir: Path) -> dict[int, Run]:
    return {int(p.parent.name): json.loads(p.read_text()) for p in job_dir.glob("*/run.json")}


def _devices(run: Run) -> list[str]:
    value = run["env"]["CUDA_VISIBLE_DEVICES"]
    return value.split(",") if value else []


def _overlap(a: Run, b: Run) -> bool:
    return bool(a["start"] < b["end"] and b["start"] < a["end"])


def _most_at_once(runs: list[Run]) -> int:
    return max(sum(1 for r in runs if r["start"] <= p["start"] < r["end"]) for p in runs)


def _details(stack, name: str) -> dict[str, Any]:
    import urllib.request

    req = urllib.request.Request(f"{stack.url}/v1/{name}:hpdashDetails",
                                 headers={"Authorization": f"Bearer {stack.token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        details: dict[str, Any] = json.load(resp)
    return details


def test_trials_get_gpus_of_their_own_and_parallelism_follows_the_free_gpus(stack: Stack,
                                                                           tmp_path: Path):
    out = tmp_path / "out"
    ml = stack.ml()
    jobs = ml.projects().jobs()
    # count 2 on 4 GPUs: two trials at a time, however many may run in parallel.
    jobs.create(parent="projects/g", body=_gpu_job("pairs", 2, out / "pairs", 4, 4)).execute()
    # alongside, trials that ask for no GPU: they see none, and take none.
    jobs.create(parent="projects/g", body=_gpu_job("cpu", None, out / "cpu", 2, 2)).execute()
    pairs = wait_for_state(ml, "projects/g/jobs/pairs", timeout=180)
    cpu = wait_for_state(ml, "projects/g/jobs/cpu", timeout=60)
    details = _details(stack, "projects/g/jobs/pairs")
    # count 1: four at a time on four different GPUs.
    jobs.create(parent="projects/g", body=_gpu_job("ones", 1, out / "ones", 6, 6)).execute()
    ones = wait_for_state(ml, "projects/g/jobs/ones", timeout=180)
    # More than any machine has: refused at once, naming the field.
    with pytest.raises(HttpError) as refused:
        jobs.create(parent="projects/g",
                    body=_gpu_job("huge", 8, out / "huge", 1, 1)).execute()
    assert (pairs["state"], cpu["state"], ones["state"]) == ("SUCCEEDED",) * 3, (pairs, ones)
    assert refused.value.resp.status == 400
    assert b"trainingInput.masterConfig.acceleratorConfig.count" in refused.value.content

    pair_runs = _runs(out / "pairs")
    assert len(pair_runs) == 4
    assert all(len(_devices(r)) == 2 and set(_devices(r)) <= {"0", "1", "2", "3"}
               for r in pair_runs.values())
    for a, b in combinations(pair_runs.values(), 2):
        if _overlap(a, b):
            assert not set(_devices(a)) & set(_devices(b)), (a, b)
    assert _most_at_once(list(pair_runs.values())) == 2
    by_trial = {t["trialId"]: t.get("gpus") for t in details["trials"]}
    assert by_trial == {str(k): _devices(v) for k, v in pair_runs.items()}
    assert details["gpusPerTrial"] == 2 and details["acceleratorType"] == "NVIDIA_TESLA_T4"

    assert [_devices(r) for r in _runs(out / "cpu").values()] == [[], []]
    assert all(r["env"]["CUDA_VISIBLE_DEVICES"] == "" for r in _runs(out / "cpu").values())

    one_runs = list(_runs(out / "ones").values())
    assert len(one_runs) == 6 and all(len(_devices(r)) == 1 for r in one_runs)
    for a, b in combinations(one_runs, 2):
        if _overlap(a, b):
            assert _devices(a) != _devices(b), (a, b)
    print(f"\nmost trials at once: count 2 → {_most_at_once(list(pair_runs.values()))}, "
          f"count 1 → {_most_at_once(one_runs)} (4 workers, 4 GPUs); a GPU idle between a "
          f"trainer's end and the next one's start, count 2: {_handover(pair_runs.values())}, "
          f"count 1: {_handover(one_runs)}")


def _handover(runs: Iterable[Run]) -> str:
    """Median and max seconds a device sat idle between two trainers (what waiting costs)."""
    runs = list(runs)
    gaps: list[float] = []
    for device in "0123":
        on = sorted((r for r in runs if device in _devices(r)), key=lambda r: r["start"])
        gaps += [b["start"] - a["end"] for a, b in pairwise(on)]
    gaps.sort()
    return f"median {gaps[len(gaps) // 2]:.1f} s, max {gaps[-1]:.1f} s" if gaps else "none"


def test_a_killed_workers_gpu_lease_is_released_and_a_waiting_trial_takes_it(stack: Stack,
                                                                            tmp_path: Path):
    """Each trial needs every GPU of the machine: the second waits for the first's."""
    out = tmp_path / "out"
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/g", body=_gpu_job(
        "lease", 4, out, 2, 2, sleep=4)).execute()
    deadline = time.monotonic() + 60
    while not list(out.glob("*/pid.*")):
        assert time.monotonic() < deadline, "no trial started"
        time.sleep(0.1)
    [pid_file] = list(out.glob("*/pid.*"))
    [trainer] = host_pids([int(pid_file.read_text())], pid_file.parent)
    # The other trial waits for the GPUs, and says so.
    deadline = time.monotonic() + 30
    while "waiting" not in _details(stack, "projects/g/jobs/lease"):
        assert time.monotonic() < deadline, _details(stack, "projects/g/jobs/lease")
        time.sleep(0.2)
    waiting = _details(stack, "projects/g/jobs/lease")["waiting"]
    worker = worker_of(trainer)
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(trainer):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job = wait_for_state(ml, "projects/g/jobs/lease", timeout=120)
    assert job["state"] == "SUCCEEDED", job
    assert "each trial needs 4 NVIDIA_TESLA_T4 GPUs" in waiting and "in use" in waiting
    runs = list(_runs(out).values())
    assert len(runs) == 2 and all(sorted(_devices(r)) == ["0", "1", "2", "3"] for r in runs)
    assert not _overlap(runs[0], runs[1])
