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
from urllib.parse import urlsplit

import pytest
from harness import Stack, alive, running_stack, trainer_job, wait_for_state

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


# -- the root worker never follows what a trainer planted (issue 19, item 2) -----------------

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the sandbox needs root (CI runs as root)")


def _run(stack: Stack, job_id: str, mode: str, job_dir: Path, target: str = "",
         project: str = "hostile") -> dict[str, Any]:
    body = trainer_job(job_id, "e2etrainer.hostile_paths", HYPER,
                       args=["--mode", mode, "--target", target], job_dir=str(job_dir))
    stack.ml().projects().jobs().create(parent=f"projects/{project}", body=body).execute()
    return wait_for_state(stack.ml(), f"projects/{project}/jobs/{job_id}", timeout=90)


def _trial(job: dict[str, Any]) -> dict[str, Any]:
    trials: list[dict[str, Any]] = job["trainingOutput"]["trials"]
    return trials[0]


@needs_root
def test_a_link_planted_in_a_trials_job_dir_never_makes_root_chown_its_target(stack: Stack):
    victim = stack.out_dir / "victim"
    victim.mkdir(mode=0o700)
    out = stack.out_dir / "plant"
    assert _run(stack, "plant_1", "plant", out, target=str(victim))["state"] == "SUCCEEDED"
    assert (out / "1" / "1").is_symlink()
    # A later job whose jobDir is that trial's own folder: its trial 1 would be the victim.
    job = _run(stack, "plant_2", "probe-jobdir", out / "1")
    assert job["state"] == "FAILED"
    assert "a directory a trainer owns" in job["errorMessage"], job
    st = victim.stat()
    assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o700), "root handed the victim over"
    assert not (victim / "probe.txt").exists()


@needs_root
def test_a_fifo_at_the_metric_file_does_not_hang_the_worker(stack: Stack):
    job = _run(stack, "fifo_1", "fifo", stack.out_dir / "fifo")
    assert job["state"] == "FAILED"
    assert "is not a regular file" in job["errorMessage"], job


@needs_root
def test_a_metric_file_linked_to_a_root_only_file_is_never_read(stack: Stack):
    secret = stack.out_dir / "root-only.json"
    secret.write_text('{"score": "TOPSECRET", "leaked_key_name": 1}\n')
    secret.chmod(0o600)
    job = _run(stack, "mlink_1", "metric-link", stack.out_dir / "mlink", target=str(secret))
    assert job["state"] == "FAILED"
    assert "is not a regular file" in job["errorMessage"], job
    text = json.dumps(job)
    assert "TOPSECRET" not in text and "leaked_key_name" not in text


# -- paths a job may name (issue 19, item 3) --------------------------------------------------


def _refused(stack: Stack, project: str, body: dict[str, Any]) -> dict[str, Any]:
    from googleapiclient.errors import HttpError

    with pytest.raises(HttpError) as err:
        stack.ml().projects().jobs().create(parent=f"projects/{project}", body=body).execute()
    assert err.value.resp.status == 400
    error: dict[str, Any] = json.loads(err.value.content)["error"]
    return error


def test_packages_from_the_data_dir_or_proc_are_refused_with_a_400_naming_the_field(
        stack: Stack):
    for i, uri in enumerate((str(stack.data_dir), str(stack.data_dir / "jobs"),
                             "/proc/1/root/etc", "/proc/self/cwd")):
        body = trainer_job(f"pkg_{i}", "e2etrainer.noop", HYPER)
        body["trainingInput"]["packageUris"] = [uri]
        error = _refused(stack, "hostile", body)
        field = error["details"][0]["fieldViolations"][0]["field"]
        assert field == "trainingInput.packageUris[0]", error
    body = trainer_job("jd_1", "e2etrainer.noop", HYPER, job_dir=str(stack.data_dir / "jobs"))
    assert "data directory" in _refused(stack, "hostile", body)["message"]


def test_another_projects_job_dir_is_refused_and_its_owner_may_reuse_it(stack: Stack):
    out = stack.out_dir / "owned"
    assert _run(stack, "own_1", "probe-jobdir", out, project="owner")["state"] == "SUCCEEDED"
    body = trainer_job("thief_1", "e2etrainer.hostile_paths", HYPER,
                       args=["--mode", "probe-jobdir"], job_dir=str(out))
    error = _refused(stack, "thief", body)
    assert "another project" in error["message"], error
    assert error["details"][0]["fieldViolations"][0]["field"] == "trainingInput.jobDir"
    # The owner's next job may use it (and finds trial 1's checkpoint where it was).
    assert (out / "1" / "probe.txt").read_text() == "checkpoint"
    body = trainer_job("own_2", "e2etrainer.noop", HYPER, job_dir=str(out))
    stack.ml().projects().jobs().create(parent="projects/owner", body=body).execute()
    assert wait_for_state(stack.ml(), "projects/owner/jobs/own_2")["state"] == "SUCCEEDED"


# -- outputs and logs readable by the submitter (issue 19, item 5) -----------------------------

TEAM_GID = 100  # "users" on Debian: a team's group, which the trial user is not in
MEMBER_UID = 4242  # a team member: no account needed to prove what the kernel allows


def _as_member(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), user=MEMBER_UID, group=TEAM_GID, extra_groups=[],
                          capture_output=True, text=True, timeout=60, cwd="/", check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})


@needs_root
def test_what_a_trial_writes_in_its_job_dir_is_readable_through_the_job_dirs_group(
        stack: Stack):
    out = stack.out_dir / "team"
    out.mkdir()
    os.chown(out, 0, TEAM_GID)
    out.chmod(0o751)  # the team reads it; others (the trial user) only pass through
    assert _run(stack, "team_1", "probe-jobdir", out, project="team")["state"] == "SUCCEEDED"
    trial = out / "1"
    for path, mode in ((trial, 0o2750), (trial / "sub", 0o2750), (trial / "probe.txt", 0o640),
                       (trial / "sub" / "model.bin", 0o640)):
        st = path.stat()
        assert (st.st_gid, st.st_mode & 0o7777) == (TEAM_GID, mode), path
    read = _as_member("cat", str(trial / "probe.txt"), str(trial / "sub" / "model.bin"))
    assert (read.returncode, read.stdout) == (0, "checkpointweights"), read.stderr
    outsider = subprocess.run(["cat", str(trial / "probe.txt")], user=MEMBER_UID,
                              group=MEMBER_UID, extra_groups=[], capture_output=True,
                              check=False, timeout=60, cwd="/")
    assert outsider.returncode != 0


def _cli_anyone_can_run(root: Path) -> Path:
    """The hpdash command as another user of the machine has it: that user cannot enter the
    checkout (CI clones it into a 0700 directory), so the CLI's sources (it needs only hpdash's
    pure-Python part and PyYAML) are copied where anyone may read them, for the interpreter
    the checkout's venv was made from."""
    import shutil

    import yaml

    import hpdash

    skip = shutil.ignore_patterns("__pycache__")
    for package in (Path(hpdash.__file__).parent, Path(yaml.__file__).parent):
        shutil.copytree(package, root / package.name, ignore=skip, dirs_exist_ok=True)
    for base, _dirs, files in os.walk(root):
        os.chmod(base, 0o755)
        for name in files:
            os.chmod(os.path.join(base, name), 0o644)
    return root


@needs_root
def test_a_user_without_the_data_dir_follows_a_trials_log_with_the_cli(stack: Stack):
    assert _run(stack, "logs_1", "probe-jobdir", stack.out_dir / "logs")["state"] == "SUCCEEDED"
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "HPDASH_URL": stack.url,
           "HPDASH_TOKEN": stack.token, "HPDASH_PROJECT": "hostile",
           "HPDASH_CONFIG": "/nonexistent/config.yaml",
           "PYTHONPATH": str(_cli_anyone_can_run(stack.out_dir / "cli"))}
    # As a user who cannot enter the data dir (0710, the trial user's group).
    shown = subprocess.run([sys._base_executable, "-s", "-c",  # type: ignore[attr-defined]
                            "import sys; from hpdash.cli.main import main; sys.exit(main())",
                            "jobs", "stream-logs", "logs_1"], user=MEMBER_UID,
                           group=MEMBER_UID, extra_groups=[], env=env, capture_output=True,
                           text=True, timeout=120, cwd="/", check=False)
    assert shown.returncode == 0, shown.stderr
    assert "[trial 1] [hpdash] trial 1 attempt 1 on" in shown.stdout, shown.stdout
    assert "[trial 1] [hpdash] trial 1 SUCCEEDED" in shown.stdout
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


@needs_root
def test_a_job_that_asks_for_no_network_cannot_reach_the_web_port_one_that_does_not_can(
        stack: Stack):
    """The server shares the host's network with trials (the default); a job that says
    ``network: "none"`` gets none: its trainer cannot connect to hpdash's own web port."""
    url = urlsplit(stack.url)
    args = ["--host", url.hostname or "127.0.0.1", "--port", str(url.port)]
    jobs = {}
    for job_id, network in (("net_host", None), ("net_none", "none")):
        body = trainer_job(job_id, "e2etrainer.netprobe", HYPER, args=args)
        if network:
            body["trainingInput"]["network"] = network
        stack.ml().projects().jobs().create(parent="projects/net", body=body).execute()
        jobs[job_id] = wait_for_state(stack.ml(), f"projects/net/jobs/{job_id}", timeout=90)
    for job_id, reached in (("net_host", 1.0), ("net_none", 0.0)):
        assert jobs[job_id]["state"] == "SUCCEEDED", jobs[job_id]
        assert _trial(jobs[job_id])["finalMetric"]["objectiveValue"] == reached, jobs[job_id]
