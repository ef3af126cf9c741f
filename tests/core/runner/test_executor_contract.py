"""The executor contract, on the local executor with real trainer processes: prepare stages the
job's package, start runs the plan's argv and env (as the trial user when the tests run as
root), poll reports a running trainer and then its exit, stop ends it within its grace, and
what a dead worker's trainer left running is found and ended, and nothing else is.

Each test runs twice: unboxed, and boxed (each trial in its own namespaces as a leased uid,
its environment built in a box too: root and bubblewrap, as in CI).  A box ends with its
first process, taking every process in it: where the unboxed executor finds and ends what a
trainer left, a boxed trial leaves nothing to find."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from hpdash.core.layout import DataLayout
from hpdash.core.runner import ExecutorConfig, Placement, TrialPlan, plan_trial
from hpdash.core.runner.box import BoxSettings
from hpdash.core.runner.executor import Executor, Leftover, PrepareError, WorkerId, gpus_in_use
from hpdash.core.runner.executors import EXECUTORS, executor_for, get_executor
from hpdash.core.runner.executors.local import ATTEMPT_ENV, LocalExecutor
from hpdash.core.runner.limits import GIB, TrialLimits
from hpdash.core.runner.sandbox import TrialUser
from hpdash.core.spec import JobDefinition, parse_job
from hpdash.ops.config import base_python, uv_binary

TRAINER = '''
import json, os, signal, subprocess, sys, time
mode = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--mode="))
out = os.path.join(os.environ["HOME"], "seen.json")
with open(out, "w") as f:
    json.dump({"argv": sys.argv[1:], "env": dict(os.environ), "uid": os.getuid()}, f)
if mode == "exit3":
    sys.exit(3)
if mode == "checkpoint":  # resumes from what an earlier attempt saved, then saves
    ckpt = os.path.join(os.environ["AIP_CHECKPOINT_DIR"], "ckpt")
    found = open(ckpt).read() if os.path.exists(ckpt) else ""
    os.makedirs(os.environ["AIP_CHECKPOINT_DIR"], exist_ok=True)
    with open(ckpt, "w") as f:
        f.write(found + "x")
    sys.exit(0)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if mode == "leave-children":
    # One child in the trainer's process group, one that left it with setsid().
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    kids = [subprocess.Popen(sleeper), subprocess.Popen(sleeper, start_new_session=True)]
    with open(os.path.join(os.environ["HOME"], "kids"), "w") as f:
        f.write(" ".join(str(k.pid) for k in kids))
time.sleep(120)
'''


def _processes_of(uid: int | None) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid and _alive(int(entry)):
                    found.append(int(entry))
            except OSError:
                pass
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


UIDS = range(252000, 252010)
CAN_BOX = os.geteuid() == 0 and shutil.which("bwrap") is not None


@pytest.fixture(params=["unboxed", pytest.param("boxed", marks=pytest.mark.skipif(
    not CAN_BOX, reason="the box needs root and bubblewrap (CI has both)"))])
def box(request: pytest.FixtureRequest) -> BoxSettings | None:
    if request.param == "unboxed":
        return None
    return BoxSettings(bwrap=shutil.which("bwrap") or "", uids=UIDS,
                       share_gid=pwd.getpwnam("nobody").pw_gid,
                       defaults=TrialLimits(memory_bytes=2 * GIB, cpus=1.0, processes=256))


@pytest.fixture
def user() -> TrialUser | None:
    """As root, trainers run as nobody (the sandbox); otherwise as the tests' own user."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    return TrialUser("nobody", entry.pw_uid, entry.pw_gid)


@pytest.fixture
def config(tmp_path: Path, user: TrialUser | None, box: BoxSettings | None) -> ExecutorConfig:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o711)
    # As the service configures it: trainers run in the job's own environment, built from the
    # base interpreter (never .venv/bin/python: the checkout may be closed to the trial user).
    return ExecutorConfig(layout=DataLayout(data), python=sys.executable, user=user,
                          log_cap_bytes=100_000, pythons={"default": base_python()},
                          uv=uv_binary(), box=box)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    pkg = tmp_path / "src" / "contracttrainer"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "task.py").write_text(textwrap.dedent(TRAINER))
    return pkg


def _training(package: Path, mode: str) -> JobDefinition:
    return parse_job({"jobId": "contract", "trainingInput": {
        "pythonModule": "contracttrainer.task", "packageUris": [str(package)],
        "args": [f"--mode={mode}"], "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 1,
            "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                        "maxValue": 0.1}]}}}).definition


def _plan(executor: Executor, config: ExecutorConfig, package: Path, mode: str,
          attempt: int = 0) -> TrialPlan:
    training = _training(package, mode)
    runtime = executor.prepare(training=training, project="p", job_id="contract")
    return plan_trial(training=training, layout=config.layout, project="p", job_id="contract",
                      trial_id=1, params={"lr": 0.05}, python=runtime.python,
                      base_env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                      pythonpath=runtime.pythonpath,
                      placement=Placement(run_as=runtime.run_as, gpus=("3",),
                                          limits=runtime.limits, attempt=attempt))


def _seen(plan: TrialPlan) -> dict[str, Any]:
    path = plan.cwd / "seen.json"
    _wait_for(lambda: path.exists() and path.read_text().endswith("}"))
    seen: dict[str, Any] = json.loads(path.read_text())
    return seen


def test_a_job_without_a_job_dir_keeps_its_trials_checkpoints_across_attempts(config, package):
    """The trial's own directory is fresh for each attempt, but AIP_CHECKPOINT_DIR is not: a
    re-run (boxed: as another uid) finds and may overwrite what the first attempt saved."""
    executor = get_executor("local", config)
    for attempt, saved in ((0, "x"), (1, "xx")):
        plan = _plan(executor, config, package, "checkpoint", attempt)
        handle = executor.start(plan)
        status, deadline = None, time.monotonic() + 30
        while status is None and time.monotonic() < deadline:
            status = executor.poll(handle, 0.2)
        assert status is not None and status.returncode == 0, plan.log_path.read_text()
        assert plan.job_dir is not None and "--job-dir" not in plan.argv
        assert (plan.job_dir / "checkpoints" / "ckpt").read_text() == saved


def test_every_job_today_runs_on_the_local_executor(package):
    assert executor_for(_training(package, "exit3")) == "local"
    assert EXECUTORS["local"] is LocalExecutor


def test_the_trainer_runs_the_plans_argv_and_env_and_poll_reports_it_running_then_its_exit(
        config, package, user):
    executor = get_executor("local", config)
    plan = _plan(executor, config, package, "exit3")
    handle = executor.start(plan)
    assert handle.pid is not None
    status = None
    deadline = time.monotonic() + 15
    while status is None and time.monotonic() < deadline:
        status = executor.poll(handle, 0.1)
    assert status is not None and status.returncode == 3 and status.signal is None
    seen = _seen(plan)
    assert seen["argv"] == list(plan.argv[3:])  # after "python -m contracttrainer.task"
    assert "--lr=0.05" in seen["argv"]
    assert seen["env"]["CUDA_VISIBLE_DEVICES"] == "3"
    assert seen["env"]["CLOUD_ML_TRIAL_ID"] == "1"
    assert seen["env"]["PYTHONPATH"].startswith(str(config.layout.sandbox_packages("p",
                                                                                   "contract")))
    if config.box is not None:  # a uid of its own, leased for the attempt
        assert seen["uid"] in UIDS and seen["uid"] == handle.leftover.uid
    else:
        assert seen["uid"] == (user.uid if user else os.geteuid())
    assert executor.poll(handle, 0) == status  # an ended attempt keeps its status
    assert not list(config.layout.attempts.glob("*.json"))  # and its record is gone


def test_poll_reports_a_running_trainer_and_stop_ends_it_within_the_grace(config, package):
    executor = get_executor("local", config)
    plan = _plan(executor, config, package, "sleep")
    handle = executor.start(plan)
    _seen(plan)
    assert executor.poll(handle, 0.2) is None
    assert len(list(config.layout.attempts.glob("*.json"))) == 1  # recorded while it runs
    assert gpus_in_use(config.layout.attempts) == {"3"}  # no other trial gets its GPU meanwhile
    start = time.monotonic()
    status = executor.stop(handle, grace=5.0)
    assert time.monotonic() - start < 2.0  # a trainer that honours SIGTERM ends at once
    assert status.signal == signal.SIGTERM
    assert handle.pid is not None and not _alive(handle.pid)
    assert executor.stop(handle, grace=5.0) == status  # stopping again changes nothing
    assert gpus_in_use(config.layout.attempts) == set()


def test_stop_kills_a_trainer_that_ignores_sigterm_after_the_grace(config, package):
    executor = get_executor("local", config)
    plan = _plan(executor, config, package, "ignore-term")
    handle = executor.start(plan)
    _seen(plan)
    start = time.monotonic()
    status = executor.stop(handle, grace=0.5)
    assert 0.5 <= time.monotonic() - start < 5.0
    assert status.signal == signal.SIGKILL
    assert handle.pid is not None and not _alive(handle.pid)


def test_stop_ends_the_children_the_trainer_left_in_its_process_group(config, package):
    """Boxed, the one the trainer's left with setsid() ends too (its box ends)."""
    executor = get_executor("local", config)
    plan = _plan(executor, config, package, "leave-children")
    handle = executor.start(plan)
    kids_file = plan.cwd / "kids"
    _wait_for(kids_file.exists)
    in_group = int(kids_file.read_text().split()[0])
    executor.stop(handle, grace=1.0)
    if config.box is not None:  # pids in its box are not the host's: nothing of its uid is left
        _wait_for(lambda: not _processes_of(handle.leftover.uid), timeout=5)
    else:
        _wait_for(lambda: not _alive(in_group), timeout=5)


def test_a_failed_staging_is_a_prepare_error_that_says_what_is_wrong(config, tmp_path):
    training = _training(tmp_path / "missing", "exit3")
    executor = get_executor("local", config)
    with pytest.raises(PrepareError, match="does not exist"):
        executor.prepare(training=training, project="p", job_id="contract")


# What a dead worker leaves: a "worker" process that starts a trial through the executor and
# is then SIGKILLed.  Its trainer dies with it (PR_SET_PDEATHSIG); the trainer's children do not.
FAKE_WORKER = '''
import json, sys, time
from pathlib import Path
from hpdash.core.layout import DataLayout
from hpdash.core.runner import ExecutorConfig, Placement, TrialPlan
from hpdash.core.runner.executors.local import LocalExecutor
from hpdash.core.runner.process import RunAs
from hpdash.core.runner.sandbox import TrialUser
from hpdash.core.runner.box import BoxSettings
a = json.loads(sys.argv[1])
user = TrialUser(*a["user"]) if a["user"] else None
box = BoxSettings(a["box"][0], range(*a["box"][1]), a["box"][2]) if a["box"] else None
executor = LocalExecutor(ExecutorConfig(DataLayout(Path(a["data"])), sys.executable, user,
                                        box=box))
plan = TrialPlan(argv=tuple(a["argv"]), env=a["env"], cwd=Path(a["cwd"]),
                 log_path=Path(a["log"]), metric_file=Path(a["metric"]), metric_tag="score",
                 job_dir=None, time_limit=600,
                 placement=Placement(run_as=user.run_as if user else None))
handle = executor.start(plan)
print(handle.pid, flush=True)
time.sleep(120)
'''


def _dead_worker_leaves_children(config: ExecutorConfig, plan: TrialPlan) -> list[int]:
    user = config.user
    args = {"data": str(config.layout.root), "argv": list(plan.argv), "env": dict(plan.env),
            "cwd": str(plan.cwd), "log": str(plan.log_path), "metric": str(plan.metric_file),
            "user": [user.name, user.uid, user.gid] if user else None,
            "box": [b.bwrap, [b.uids.start, b.uids.stop], b.share_gid]
            if (b := config.box) else None}
    worker = subprocess.Popen([sys.executable, "-c", FAKE_WORKER, json.dumps(args)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        trainer = int(worker.stdout.readline())
        kids_file = plan.cwd / "kids"
        _wait_for(kids_file.exists)
        kids = [int(p) for p in kids_file.read_text().split()]
    finally:
        worker.kill()
        worker.wait()
    _wait_for(lambda: not _alive(trainer))  # PR_SET_PDEATHSIG (boxed: bwrap's --die-with-parent)
    if config.box is None:
        assert all(_alive(k) for k in kids), "the test needs leftovers to reap"
    return kids


def _unrelated(user: TrialUser | None) -> subprocess.Popen[bytes]:
    """A process of the same user, which no trial started."""
    return subprocess.Popen([base_python(), "-c", "import time; time.sleep(120)"],
                            user=user.uid if user else None, group=user.gid if user else None,
                            extra_groups=[] if user else None)


def test_reap_ends_what_a_dead_workers_trainer_left_and_nothing_else(config, package):
    executor = get_executor("local", config)
    plan = _plan(executor, config, package, "leave-children")
    unrelated = _unrelated(config.user)
    try:
        kids = _dead_worker_leaves_children(config, plan)
        leftovers = executor.leftovers()
        assert len(leftovers) == 1 and leftovers[0].trial == str(plan.cwd)
        if config.box is not None:
            # The box ended with the dead worker, taking every process in it (the one that
            # left the trainer's group with setsid() too): there is nothing left to reap.
            _wait_for(lambda: not _processes_of(leftovers[0].uid), timeout=5)
            assert executor.reap(leftovers[0], grace=1.0) == 0
        else:
            assert executor.reap(leftovers[0], grace=1.0) == 2
            _wait_for(lambda: not any(_alive(k) for k in kids), timeout=5)
        assert _alive(unrelated.pid), "reap ended a process that was not the trial's"
        assert executor.leftovers() == []  # the record is gone with them
    finally:
        unrelated.kill()
        unrelated.wait()


def test_reap_never_signals_a_process_that_only_reuses_a_recorded_pid(config):
    executor = get_executor("local", config)
    unrelated = _unrelated(config.user)
    try:
        dead = WorkerId(host=WorkerId.this().host, pid=unrelated.pid + 1_000_000, started=1)
        leftover = Leftover(executor="local", marker="0" * 32, worker=dead,
                            uid=config.user.uid if config.user else os.geteuid(),
                            pid=unrelated.pid)
        assert executor.reap(leftover, grace=0.2) == 0
        assert _alive(unrelated.pid)
    finally:
        unrelated.kill()
        unrelated.wait()


def test_a_live_workers_attempts_are_not_leftovers(config, package):
    executor = get_executor("local", config)
    plan = _plan(executor, config, package, "sleep")
    handle = executor.start(plan)
    try:
        assert executor.leftovers() == []  # this worker (the test) is alive
        assert _seen(plan)["env"][ATTEMPT_ENV] == handle.leftover.marker
    finally:
        executor.stop(handle, grace=1.0)
