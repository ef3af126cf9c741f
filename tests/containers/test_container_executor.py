"""The container executor on real podman: a trial in its image gets its parameters as
``--name=value``, reports through cloudml-hypertune, runs as a leased uid that sees neither host
processes nor the data dir nor a network, is stopped within its grace even when it ignores
SIGTERM, leaves no container behind, and a dead worker's container is reaped."""

from __future__ import annotations

import dataclasses
import json
import pwd
import socket
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hpdash.core.layout import DataLayout
from hpdash.core.runner import (
    ExecutorConfig,
    ImageNotHere,
    Placement,
    PrepareError,
    PrepareStopped,
    TrialPlan,
    plan_trial,
)
from hpdash.core.runner.box import BoxSettings
from hpdash.core.runner.executor import Leftover, WorkerId, gpus_in_use, record_attempt
from hpdash.core.runner.executors.container import LABEL_ATTEMPT, ContainerExecutor
from hpdash.core.runner.limits import MIB, TrialLimits
from hpdash.core.runner.podman import ContainerSettings, Podman
from hpdash.core.spec import ContainerImage, JobDefinition, parse_job

UIDS = range(251000, 251010)
TRAINER = textwrap.dedent('''
    import json, os, signal, sys, time
    import hypertune
    args = sys.argv[1:]
    mode = next(a.split("=", 1)[1] for a in args if a.startswith("--mode="))
    lr = float(next(a.split("=", 1)[1] for a in args if a.startswith("--lr=")))
    home = os.environ["HOME"]
    if mode == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    net = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
    seen = {"argv": args, "uid": os.getuid(), "pids": sorted(int(p) for p in os.listdir("/proc")
            if p.isdigit()), "net": net, "data": os.path.exists(os.environ["DATA_PROBE"]),
            "env": {k: v for k, v in os.environ.items() if k.startswith(("CLOUD_ML", "TF_",
            "CUDA", "NVIDIA", "HOME", "TMPDIR"))}}
    with open(os.path.join(home, "seen.json"), "w") as f:
        json.dump(seen, f)
    hypertune.HyperTune().report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag="score", metric_value=lr * 10, global_step=1)
    if mode == "hog":
        held = [bytearray(32 * 2**20) for _ in range(32)]
    if mode != "quick":
        time.sleep(120)
''')


def container_names(podman: Podman, label: str) -> list[str]:
    key, _, value = label.partition("=")
    return [str(n) for row in podman.containers({key: value}) for n in row.get("Names") or ()]


@pytest.fixture
def executor(tmp_path: Path, podman: Podman) -> ContainerExecutor:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret").write_text("the data dir")
    entry = pwd.getpwnam("nobody")
    box = BoxSettings(bwrap="", uids=UIDS, share_gid=entry.pw_gid,
                      defaults=TrialLimits(memory_bytes=256 * MIB, cpus=1.0, processes=64))
    return ContainerExecutor(ExecutorConfig(
        layout=DataLayout(data), python="", box=box,
        containers=ContainerSettings(podman=podman.exe)))


def _training(image: str, tmp_path: Path, mode: str = "quick",
              probe: str = "") -> JobDefinition:
    package = parse_job({"jobId": "boxed", "trainingInput": {
        "pythonModule": "unused.task", "args": [f"--mode={mode}"],
        "jobDir": str(tmp_path / "out"), "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 1,
            "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                        "maxValue": 0.1}]}}}).definition
    return dataclasses.replace(package, trainer=ContainerImage(
        image_uri=image, command=("python3", "-c", TRAINER)), env=(("DATA_PROBE", probe),))


def _plan(executor: ContainerExecutor, tmp_path: Path, image: str, mode: str) -> TrialPlan:
    training = _training(image, tmp_path, mode, str(executor.layout.root / "secret"))
    runtime = executor.prepare(training=training, project="p", job_id="boxed")
    return plan_trial(training=training, layout=executor.layout, project="p", job_id="boxed",
                      trial_id=1, params={"lr": 0.05}, python=runtime.python,
                      base_env={"PATH": "/host/only", "HPDASH_SECRET": "x"},
                      placement=Placement(limits=runtime.limits))


def _wait_for_seen(plan: TrialPlan) -> dict[str, Any]:
    seen = plan.cwd / "seen.json"
    deadline = time.monotonic() + 60
    while not seen.exists() or not seen.stat().st_size:
        assert time.monotonic() < deadline, plan.log_path.read_text()
        time.sleep(0.05)
    time.sleep(0.1)
    data: dict[str, Any] = json.loads(seen.read_text())
    return data


def test_a_trial_runs_in_its_image_boxed_with_its_params_and_reports_its_metric(
        executor: ContainerExecutor, tmp_path: Path, image: str, podman: Podman):
    plan = _plan(executor, tmp_path, image, "quick")
    handle = executor.start(plan)
    status = executor.poll(handle, 120)
    assert status is not None and status.returncode == 0, plan.log_path.read_text()
    seen = json.loads((plan.cwd / "seen.json").read_text())
    assert seen["argv"] == ["--mode=quick", "--job-dir", str(tmp_path / "out" / "1"),
                            "--lr=0.05"]
    assert seen["uid"] in UIDS
    assert len(seen["pids"]) <= 3  # its init, itself (and ls): no host process
    assert seen["net"] == ["lo"] and seen["data"] is False
    env = seen["env"]
    assert env["CLOUD_ML_TRIAL_ID"] == "1" and "TF_CONFIG" in env and env["TMPDIR"] == "/tmp"
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["NVIDIA_VISIBLE_DEVICES"] == "void"
    assert '"score": "0.5"' in plan.metric_file.read_text()
    assert container_names(podman, f"{LABEL_ATTEMPT}={handle.leftover.marker}") == []


def test_a_trainer_ignoring_sigterm_is_stopped_within_the_grace_period(
        executor: ContainerExecutor, tmp_path: Path, image: str, podman: Podman):
    plan = _plan(executor, tmp_path, image, "ignore-term")
    handle = executor.start(plan)
    _wait_for_seen(plan)
    began = time.monotonic()
    status = executor.stop(handle, grace=2)
    assert time.monotonic() - began < 8
    assert status.signal == 9, status
    assert container_names(podman, f"{LABEL_ATTEMPT}={handle.leftover.marker}") == []


def test_a_stop_from_another_thread_while_poll_waits_ends_the_attempt_once(
        executor: ContainerExecutor, tmp_path: Path, image: str):
    plan = _plan(executor, tmp_path, image, "sleep")
    handle = executor.start(plan)
    _wait_for_seen(plan)
    stopped = []
    watch = threading.Thread(target=lambda: stopped.append(executor.stop(handle, 2)))
    watch.start()
    polled = executor.poll(handle, 30)
    watch.join(30)
    assert polled is not None and stopped == [polled]
    assert polled.signal == 15  # --init passes SIGTERM on: python ends at once


def test_a_trainer_over_its_memory_ends_out_of_memory(executor: ContainerExecutor,
                                                      tmp_path: Path, image: str):
    plan = _plan(executor, tmp_path, image, "hog")
    handle = executor.start(plan)
    status = executor.poll(handle, 120)
    assert status is not None, "the hog was not stopped"
    assert status.cause in ("out of memory (limit 256 MiB)", "killed by SIGKILL, most likely "
                            "out of memory (limit 256 MiB)"), (status, plan.log_path.read_text())


def test_a_missing_image_is_a_clear_error_and_nothing_is_pulled(
        executor: ContainerExecutor, tmp_path: Path):
    began = time.monotonic()
    with pytest.raises(ImageNotHere, match=r"image gcr\.io/nope/trainer:v1 is not on worker "
                                           r"machine .*, which does not pull from gcr\.io"):
        _plan(executor, tmp_path, "gcr.io/nope/trainer:v1", "quick")
    assert time.monotonic() - began < 10


def test_a_dead_workers_container_is_found_by_its_label_and_removed(
        executor: ContainerExecutor, tmp_path: Path, image: str, podman: Podman, monkeypatch):
    dead = WorkerId(WorkerId.this().host, 2**22 + 7, 1)  # no such pid
    monkeypatch.setattr(WorkerId, "this", classmethod(lambda cls: dead))
    plan = _plan(executor, tmp_path, image, "sleep")
    handle = executor.start(plan)
    _wait_for_seen(plan)
    handle.client.proc.kill()  # the worker's podman client dies with it; the container not
    handle.client.proc.wait()
    name = handle.leftover.marker
    assert container_names(podman, f"{LABEL_ATTEMPT}={name}") == [name]
    found = [left for left in executor.leftovers() if left.marker == name]
    assert found and found[0].trial == str(plan.cwd)
    assert executor.reap(found[0], grace=1) == 1
    assert container_names(podman, f"{LABEL_ATTEMPT}={name}") == []
    if handle.lease is not None:
        handle.lease.release()


def test_the_reconcile_sweep_removes_a_dead_workers_container_without_a_new_worker(
        executor: ContainerExecutor, tmp_path: Path, image: str, podman: Podman, monkeypatch,
        settings):
    from hpdash.worker.executors import containers_reap

    dead = WorkerId(WorkerId.this().host, 2**22 + 9, 1)
    monkeypatch.setattr(WorkerId, "this", classmethod(lambda cls: dead))
    plan = _plan(executor, tmp_path, image, "sleep")
    handle = executor.start(plan)
    _wait_for_seen(plan)
    handle.client.proc.kill()
    handle.client.proc.wait()
    if handle.lease is not None:
        handle.lease.release()
    name = handle.leftover.marker
    settings.CONTAINERS = ContainerSettings(podman=podman.exe)
    containers_reap()  # what `make run` does every HPDASH_RECONCILE_INTERVAL
    assert container_names(podman, f"{LABEL_ATTEMPT}={name}") == []


def _pulling(executor: ContainerExecutor, timeout: float = 600.0,
             *registries: str) -> ContainerExecutor:
    settings = ContainerSettings(podman=executor.settings.podman if executor.settings else "",
                                 pull_from=registries, insecure=registries,
                                 pull_timeout=timeout)
    return ContainerExecutor(dataclasses.replace(executor.config, containers=settings))


def test_an_allowed_registry_that_refuses_is_a_clear_failure_naming_image_and_registry(
        executor: ContainerExecutor, tmp_path: Path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        registry = f"127.0.0.1:{probe.getsockname()[1]}"
    image = f"{registry}/nope/trainer:v1"
    began = time.monotonic()
    with pytest.raises(PrepareError, match=rf"could not pull {image} from {registry}: .*"
                                           "connection refused"):
        _plan(_pulling(executor, 60, registry), tmp_path, image, "quick")
    assert time.monotonic() - began < 60


def test_a_registry_that_never_answers_is_given_up_at_the_pull_timeout(
        executor: ContainerExecutor, tmp_path: Path):
    with socket.socket() as silent:  # accepts connections (the kernel does), answers nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        registry = f"127.0.0.1:{silent.getsockname()[1]}"
        image = f"{registry}/slow/trainer:v1"
        log = tmp_path / "trial.log"
        began = time.monotonic()
        with pytest.raises(PrepareError, match=rf"could not pull {image} from {registry}: no "
                                               r"image after 3 s \(HPDASH_CONTAINER_PULL_TIMEOUT"):
            _pulling(executor, 3, registry).prepare(
                training=_training(image, tmp_path), project="p", job_id="boxed", log=log)
        assert time.monotonic() - began < 10
    assert f"[hpdash] pulling {image} from {registry} (HPDASH_CONTAINER_PULL_FROM, without " \
           "TLS verification; at most 3 s)" in log.read_text()


def test_a_pull_stops_when_its_trial_is_stopped(executor: ContainerExecutor, tmp_path: Path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        registry = f"127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        with pytest.raises(PrepareStopped, match="was stopped: job cancelled"):
            _pulling(executor, 60, registry).prepare(
                training=_training(f"{registry}/t:v1", tmp_path), project="p",
                job_id="boxed", tick=lambda: "job cancelled")
        assert time.monotonic() - began < 10


def _with_gpus(executor: ContainerExecutor, monkeypatch: pytest.MonkeyPatch, plan: TrialPlan,
               gpus: tuple[str, ...]) -> TrialPlan:
    """The plan with a GPU lease; its CDI devices left out of the create (no GPU here)."""
    create = executor._create_argv

    def without_devices(*args: Any, **kwargs: Any) -> list[str]:
        argv = create(*args, **kwargs)
        return [a for i, a in enumerate(argv) if a != "--device" and (
            i == 0 or argv[i - 1] != "--device")]
    monkeypatch.setattr(executor, "_create_argv", without_devices)
    return dataclasses.replace(plan, placement=dataclasses.replace(plan.placement, gpus=gpus))


def test_a_container_attempts_gpus_stay_taken_until_its_container_is_gone(
        executor: ContainerExecutor, tmp_path: Path, image: str, podman: Podman, monkeypatch):
    records = executor.layout.attempts
    plan = _with_gpus(executor, monkeypatch, _plan(executor, tmp_path, image, "sleep"),
                      ("0", "1"))
    handle = executor.start(plan)
    _wait_for_seen(plan)
    assert gpus_in_use(records) == {"0", "1"}
    executor.stop(handle, grace=1)
    assert gpus_in_use(records) == frozenset()
    # A dead worker's attempt keeps its GPUs until its container is reaped.
    dead = WorkerId(WorkerId.this().host, 2**22 + 11, 1)
    monkeypatch.setattr(WorkerId, "this", classmethod(lambda cls: dead))
    handle = executor.start(plan)
    _wait_for_seen(plan)
    handle.client.proc.kill()
    handle.client.proc.wait()
    if handle.lease is not None:
        handle.lease.release()
    assert gpus_in_use(records) == {"0", "1"}
    (found,) = [left for left in executor.leftovers() if left.marker == handle.leftover.marker]
    assert executor.reap(found, grace=1) == 1
    assert gpus_in_use(records) == frozenset()


def test_a_record_whose_container_is_gone_is_reaped_and_frees_its_gpus(
        executor: ContainerExecutor):
    dead = WorkerId(WorkerId.this().host, 2**22 + 13, 1)
    gone = Leftover(executor="container", marker="hpdash-gone", worker=dead, gpus=("2",))
    record_attempt(executor.layout.attempts, gone)
    assert gpus_in_use(executor.layout.attempts) == {"2"}
    (found,) = [left for left in executor.leftovers() if left.marker == "hpdash-gone"]
    assert executor.reap(found, grace=0) == 0  # no container to remove
    assert gpus_in_use(executor.layout.attempts) == frozenset()
