"""A hostile trainer, submitted by an ordinary user, reaches nothing of the service's (tests
and CI run as root: trainers run as the trial user, nobody) and leaves no process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    # The grandchild that left the trainer's process group with setsid() ended with the trial:
    # nothing runs as the trial's uid any more (the pid it wrote is its box's, not ours).
    assert (out / "1" / "grandchild.pid").exists()
    deadline = time.monotonic() + 10
    while _processes_of(report["uid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_of(report["uid"]), "a setsid() grandchild outlived its trial"
    data = tmp_path / "data"
    assert oct(data.stat().st_mode & 0o777) == "0o710"
    if (data / "hpdash.sqlite3").exists():  # the default database (CI also runs PostgreSQL)
        assert oct((data / "hpdash.sqlite3").stat().st_mode & 0o777) == "0o600"
    assert oct((data / "secret_key").stat().st_mode & 0o777) == "0o600"


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid and alive(int(entry)):
                found.append(int(entry))
        except OSError:
            pass
    return found


# -- one trial against another, and against the machine ---------------------------------------

SECRET = "hpd-e2e-not-a-real-token-5f1c"


@dataclass
class Prowl:
    """What a hostile trainer of one project managed against another project's running trial
    (and a token on a command line), and how the other trial's job ended."""

    report: dict[str, Any]
    neighbour: dict[str, Any]
    secret_pid: int


@pytest.fixture(scope="module")
def prowl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prowl]:
    if os.geteuid() != 0:
        pytest.skip("the sandbox needs root (CI runs as root)")
    tmp = tmp_path_factory.mktemp("prowl")
    tmp.chmod(0o711)  # as an unboxed trial user needs it (the box needs no such thing)
    # Someone on the machine runs `hpdash --token …`, as the README once showed.
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)",
                               "--token", SECRET])
    try:
        with running_stack(tmp / "data", workers=2) as stack:
            ml = stack.ml().projects().jobs()
            body = trainer_job("neighbour_1", "e2etrainer.neighbour", HYPER,
                               job_dir=str(tmp / "neighbour"))
            ml.create(parent="projects/victim", body=body).execute()
            started = tmp / "neighbour" / "1" / "started"
            deadline = time.monotonic() + 60
            while not started.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert started.exists(), stack.log.read_text()[-3000:]
            body = trainer_job("prowler_1", "e2etrainer.prowler", HYPER,
                               args=["--victim=victim/neighbour_1/1"],
                               job_dir=str(tmp / "prowler"))
            ml.create(parent="projects/attacker", body=body).execute()
            prowler = wait_for_state(stack.ml(), "projects/attacker/jobs/prowler_1")
            (tmp / "neighbour" / "1" / "release").write_text("go")
            neighbour = wait_for_state(stack.ml(), "projects/victim/jobs/neighbour_1")
        assert prowler["state"] == "SUCCEEDED", prowler
        report = json.loads((tmp / "prowler" / "1" / "prowl.json").read_text())
        yield Prowl(report, neighbour, holder.pid)
    finally:
        holder.kill()
        holder.wait()


def test_a_trainer_sees_no_process_outside_its_own_trial(prowl: Prowl):
    assert prowl.report["seen"] == []


def test_a_trainer_cannot_signal_another_projects_running_trial(prowl: Prowl):
    assert prowl.report["signalled"] == []
    assert prowl.neighbour["state"] == "SUCCEEDED", prowl.neighbour


def test_a_trainer_cannot_ptrace_another_projects_running_trial(prowl: Prowl):
    assert prowl.report["ptraced"] == []


def test_a_trainer_cannot_read_the_environment_of_another_trial(prowl: Prowl):
    assert prowl.report["environ_read"] == []


def test_a_trainer_cannot_forge_the_metric_of_another_projects_trial(prowl: Prowl):
    assert prowl.report["forged"] == []
    [trial] = prowl.neighbour["trainingOutput"]["trials"]
    assert trial["finalMetric"]["objectiveValue"] == 0.25


def test_a_trainer_cannot_harvest_a_token_from_command_lines(prowl: Prowl):
    assert prowl.report["token_cmdlines"] == []
    assert alive(prowl.secret_pid)  # it was there to be found


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root (CI runs as root)")
def test_a_trial_over_its_memory_fails_out_of_memory_and_a_fork_bomb_stays_in_its_limit(
        tmp_path: Path):
    with running_stack(tmp_path / "data", workers=2, HPDASH_TRIAL_MEMORY="256M",
                       HPDASH_TRIAL_MAX_PROCESSES="64") as stack:
        ml = stack.ml().projects().jobs()
        hog = trainer_job("hog_1", "e2etrainer.hog", HYPER)
        del hog["trainingInput"]["scaleTier"]  # no machine type: the server's defaults
        ml.create(parent="projects/greedy", body=hog).execute()
        bomb = trainer_job("bomb_1", "e2etrainer.forkbomb", HYPER, job_dir=str(tmp_path / "b"))
        del bomb["trainingInput"]["scaleTier"]
        ml.create(parent="projects/greedy", body=bomb).execute()
        honest = trainer_job("honest_1", "e2etrainer.quadratic", HYPER)
        ml.create(parent="projects/honest", body=honest).execute()
        hog_job = wait_for_state(stack.ml(), "projects/greedy/jobs/hog_1")
        bomb_job = wait_for_state(stack.ml(), "projects/greedy/jobs/bomb_1")
        honest_job = wait_for_state(stack.ml(), "projects/honest/jobs/honest_1")
        log = stack.log.read_text()
        hog_log = (stack.data_dir / "jobs" / "greedy" / "hog_1" / "trials" / "1" /
                   "trainer.log").read_text()
    assert "limits: memory 256 MiB, 4 CPUs, 64 processes (server defaults)" in hog_log
    assert hog_job["state"] == "FAILED", hog_job
    assert "out of memory (limit 256 MiB)" in hog_job["errorMessage"], hog_job
    forked = int((tmp_path / "b" / "1" / "forks.txt").read_text())
    assert 0 < forked < 64, forked
    assert bomb_job["state"] == "SUCCEEDED", bomb_job
    assert honest_job["state"] == "SUCCEEDED", honest_job
    # The machine is unharmed: this process can still start others.
    assert subprocess.run(["true"], check=False).returncode == 0
    assert "limits" in log or "each trial in its own namespaces" in log
