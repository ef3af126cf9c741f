"""GPU leases: taken with the claim, never shared, freed with the trial's RUNNING state."""

from __future__ import annotations

from typing import Any

import pytest
from support import submit_ml_job

from hpdash.core.gpus import GpuMachine
from hpdash.core.spec import SpecError
from hpdash.core.states import TrialState
from hpdash.models import GpuHost, Job, Trial
from hpdash.ops import queue
from hpdash.services import trials
from hpdash.services.gpus import GpusBusy
from hpdash.services.scheduling import job_advance, queue_reconcile, trials_requeue_stale

pytestmark = pytest.mark.django_db

BOX = GpuMachine(host="box", devices=("0", "1", "2", "3"))


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    enqueued: list[tuple[int, int]] = []
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)
    monkeypatch.setattr(queue, "enqueue_trial", lambda pk, a: enqueued.append((pk, a)))
    monkeypatch.setattr(queue, "dequeue_trials", lambda pairs: None)
    monkeypatch.setattr(queue, "trial_is_queued", lambda pk, a: False)
    GpuHost.objects.create(name="box", devices=list(BOX.devices))
    return enqueued


def _job(job_id: str, count: int | None, trials_: int = 4) -> Job:
    ti: dict[str, Any] = {"pythonModule": "m", "hyperparameters": {
        "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": trials_,
        "maxParallelTrials": trials_, "algorithm": "RANDOM_SEARCH",
        "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}}
    if count is not None:
        ti["masterConfig"] = {"acceleratorConfig": {"count": str(count),
                                                    "type": "NVIDIA_TESLA_T4"}}
    job = submit_ml_job(project="p", data={"jobId": job_id, "trainingInput": ti})
    job_advance(job.pk)
    return job


def _start(trial: Trial, machine: GpuMachine = BOX) -> Trial | None:
    return trials.trial_start(trial_pk=trial.pk, attempt=trial.attempt, worker="w",
                              machine=machine)


def test_trials_get_devices_no_other_running_trial_holds_and_the_rest_wait():
    job = _job("pairs", 2)
    first, second, third, _ = job.trials.order_by("trial_id")
    a, b = _start(first), _start(second)
    assert a is not None and b is not None
    assert (a.gpus, b.gpus) == (["0", "1"], ["2", "3"])
    with pytest.raises(GpusBusy, match="waiting for 2 NVIDIA_TESLA_T4 GPUs: 0 of box's 4"):
        _start(third)
    third.refresh_from_db()
    assert third.state == TrialState.QUEUED and "waiting for 2" in third.waiting


def test_a_finished_trial_frees_its_gpus_and_wakes_the_waiting_ones(
        no_queue, django_capture_on_commit_callbacks):
    job = _job("wake", 2)
    first, second, third, _ = job.trials.order_by("trial_id")
    a = _start(first)
    _start(second)
    with pytest.raises(GpusBusy):
        _start(third)
    no_queue.clear()
    assert a is not None
    with django_capture_on_commit_callbacks(execute=True):
        trials.trial_finish(trial=a, outcome=trials.TrialOutcome(TrialState.SUCCEEDED))
    assert no_queue == [(third.pk, 0)]  # queued again at once, not at the next reconcile
    third.refresh_from_db()
    started = _start(third)
    assert started is not None and started.gpus == ["0", "1"] and started.waiting == ""


def test_a_lost_worker_frees_its_trials_gpus_when_the_trial_is_requeued():
    job = _job("lost", 4, trials_=2)
    first, second = job.trials.order_by("trial_id")
    assert _start(first) is not None
    with pytest.raises(GpusBusy):
        _start(second)
    Trial.objects.filter(pk=first.pk).update(heartbeat_time="2000-01-01T00:00:00Z")
    assert trials_requeue_stale(60) != []  # what the reconciler does to a silent worker
    second.refresh_from_db()
    started = _start(second)
    assert started is not None and started.gpus == ["0", "1", "2", "3"]


def test_trials_that_ask_for_no_gpu_run_beside_gpu_trials_and_hold_none():
    gpu_job, cpu_job = _job("gpu", 4, trials_=1), _job("cpu", None, trials_=2)
    assert _start(gpu_job.trials.get()) is not None
    for t in cpu_job.trials.all():
        started = _start(t)
        assert started is not None and started.gpus == [] and started.gpu_host == ""


def test_two_machines_lease_separately():
    other = GpuMachine(host="other", devices=("0", "1", "2", "3"))
    job = _job("two", 4, trials_=2)
    first, second = job.trials.order_by("trial_id")
    a, b = _start(first), _start(second, other)
    assert a is not None and b is not None
    assert (a.gpu_host, a.gpus, b.gpu_host, b.gpus) == ("box", ["0", "1", "2", "3"],
                                                        "other", ["0", "1", "2", "3"])


def test_the_reconciler_retries_waiting_trials_at_once(no_queue):
    job = _job("retry", 4, trials_=2)
    first, second = job.trials.order_by("trial_id")
    _start(first)
    with pytest.raises(GpusBusy):
        _start(second)
    no_queue.clear()
    queue_reconcile(min_age_seconds=3600)  # nothing is old enough, but `second` waits
    assert (second.pk, 0) in no_queue


def test_a_request_no_machine_can_meet_is_refused_naming_the_field():
    with pytest.raises(SpecError) as err:
        _job("huge", 8)
    [violation] = err.value.violations
    assert violation.field == "trainingInput.masterConfig.acceleratorConfig.count"
    assert "no worker machine" in violation.description and "box, has 4" in violation.description
    GpuHost.objects.all().delete()
    with pytest.raises(SpecError, match="scaleTier"):
        submit_ml_job(project="p", data={"jobId": "tier", "trainingInput": {
            "pythonModule": "m", "scaleTier": "BASIC_GPU", "hyperparameters": {
                "maxTrials": 1, "params": [
                    {"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}}})


def test_the_job_says_why_its_trials_wait_all_in_use_or_no_worker_big_enough(monkeypatch):
    from hpdash.selectors.gpus import gpu_wait_reason

    job = _job("why", 4, trials_=2)
    first, second = job.trials.order_by("trial_id")
    assert gpu_wait_reason(job) == ""  # nobody waits yet
    _start(first)
    with pytest.raises(GpusBusy):
        _start(second)
    monkeypatch.setattr(queue, "live_worker_hosts", lambda: {"box"})
    assert gpu_wait_reason(job) == ("each trial needs 4 NVIDIA_TESLA_T4 GPUs: all in use by "
                                    "running trials (free now: box 0 of 4)")
    GpuHost.objects.create(name="small", devices=["0"])
    monkeypatch.setattr(queue, "live_worker_hosts", lambda: {"small"})  # box's workers gone
    reason = gpu_wait_reason(job)
    assert "no running worker has that many GPUs" in reason and "is 1" in reason


def test_gpus_a_superseded_attempt_may_still_use_on_the_machine_are_not_leased_again():
    """A frozen worker's trial was re-queued, but its trainer may still run on GPU 0 and 1
    (its attempt record is still there): the re-run and every other trial get other GPUs, and
    a trial that would need them waits, saying why."""
    job = _job("stale", 2)
    first, second, _, _ = job.trials.order_by("trial_id")
    machine = GpuMachine(host="box", devices=BOX.devices, in_use=frozenset({"0", "1"}))
    a = _start(first, machine)
    assert a is not None and a.gpus == ["2", "3"]
    with pytest.raises(GpusBusy, match=r"0 of box's 4 GPUs are free \(2 still held by an "
                                       "attempt that was superseded"):
        _start(second, machine)
