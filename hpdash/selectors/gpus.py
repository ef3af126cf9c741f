"""GPU reads: what the deployment has, and why a job's trials wait for GPUs."""

from __future__ import annotations

from hpdash.core.gpus import free_devices
from hpdash.core.spec import GpuRequest
from hpdash.core.states import TrialState
from hpdash.models import GpuHost, Job, Trial
from hpdash.ops import queue
from hpdash.ops.gpus import this_machine


def gpu_hosts() -> dict[str, list[str]]:
    """Every worker machine seen, and its GPUs.  Before any worker has started, the machine
    this runs on (the embedded deployment runs its workers here)."""
    hosts = {h.name: list(h.devices) for h in GpuHost.objects.all()}
    if not hosts:
        here = this_machine()
        hosts[here.host] = list(here.devices)
    return hosts


def gpu_request_problem(request: GpuRequest) -> str | None:
    """Why a request can never be met on this deployment (no machine has that many GPUs), or
    None.  Machines are the ones whose workers ever started (Admin → GPU hosts lists them;
    delete a retired one there)."""
    if not request.count:
        return None
    hosts = gpu_hosts()
    best = max(hosts.items(), key=lambda kv: len(kv[1]))
    if len(best[1]) >= request.count:
        return None
    have = (f"the largest, {best[0]}, has {len(best[1])}" if best[1] else
            "none has a GPU (a worker finds its GPUs with nvidia-smi -L, or HPDASH_GPUS "
            "lists them)")
    return (f"each trial asks for {request.describe()}, but no worker machine of this "
            f"deployment has that many: {have}")


def gpu_wait_reason(job: Job) -> str:
    """Why the job's queued trials have not started, or "" when none waits for GPUs."""
    waiting = job.trials.filter(state=TrialState.QUEUED).exclude(waiting="").first()
    if waiting is None:
        return ""
    request = job.definition.gpus
    request_text, need = f"each trial needs {request.describe()}", request.count
    live = queue.live_worker_hosts()
    if live is None:
        return waiting.waiting
    hosts = {name: devices for name, devices in gpu_hosts().items() if name in live}
    if not any(len(devices) >= need for devices in hosts.values()):
        largest = max((len(d) for d in hosts.values()), default=0)
        return (f"{request_text}: no running worker has that many GPUs (the most a running "
                f"worker's machine has is {largest}); start a worker on a machine with "
                f"{need} or more, or ask for fewer")
    held: dict[str, list[list[str]]] = {}
    for host, gpus in (Trial.objects.filter(state=TrialState.RUNNING).exclude(gpu_host="")
                       .values_list("gpu_host", "gpus")):
        held.setdefault(host, []).append(gpus)
    free = ", ".join(f"{name} {len(free_devices(devices, held.get(name, [])))} of "
                     f"{len(devices)}" for name, devices in sorted(hosts.items()) if devices)
    return f"{request_text}: all in use by running trials (free now: {free})"
