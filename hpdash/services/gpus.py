"""GPU writes: a worker machine's inventory, and leases.

A lease is a RUNNING trial's ``gpus`` on its ``gpu_host`` (see the model): it is taken in the
same transaction that claims the trial (:func:`hpdash.services.trials.trial_start`), with the
machine's :class:`~hpdash.models.GpuHost` row locked, so two workers on one machine never take
the same device, and it ends with the trial's RUNNING state, so a trial that ends, is re-queued
or loses its worker frees its GPUs without another write.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hpdash.core.gpus import GpuMachine, free_devices, pick
from hpdash.core.spec import GpuRequest
from hpdash.core.states import TrialState
from hpdash.models import GpuHost, Trial
from hpdash.ops import queue


class GpusBusy(Exception):
    """The trial needs more GPUs than are free on this machine now; it stays QUEUED and says
    why in its ``waiting``."""


def gpu_host_register(*, machine: GpuMachine) -> GpuHost:
    """Record the machine's GPUs (each worker does so when it starts)."""
    row, _ = GpuHost.objects.update_or_create(
        name=machine.host, defaults={"devices": list(machine.devices), "seen_at": timezone.now()})
    return row


def gpu_lease(*, trial: Trial, machine: GpuMachine, request: GpuRequest) -> list[str]:
    """Pick the trial's devices on this machine.  Call inside the transaction that makes the
    trial RUNNING (it locks the machine's row until that commits).  Raises GpusBusy."""
    if not request.count:
        return []
    host, _ = GpuHost.objects.get_or_create(name=machine.host,
                                            defaults={"devices": list(machine.devices)})
    GpuHost.objects.select_for_update().filter(pk=host.pk).first()  # one claim at a time
    held = list(Trial.objects.filter(state=TrialState.RUNNING, gpu_host=machine.host)
                .exclude(pk=trial.pk).values_list("gpus", flat=True))
    stale = machine.in_use.difference(*held)  # a superseded attempt's, still on the machine
    lease = pick(machine.devices, [*held, stale], request.count)
    if lease is None:
        free = len(free_devices(machine.devices, [*held, stale]))
        if len(machine.devices) < request.count:
            why = (f"{machine.host} has {len(machine.devices)} GPU"
                   f"{'s' if len(machine.devices) != 1 else ''}")
        else:
            why = f"{free} of {machine.host}'s {len(machine.devices)} GPUs are free"
            if stale:
                why += (f" ({len(stale)} still held by an attempt that was superseded and has "
                        "not ended yet)")
        raise GpusBusy(f"waiting for {request.describe()}: {why}")
    return lease


def gpu_trials_wake() -> None:
    """Queue again the trials that gave up waiting for GPUs (a lease just ended).  The
    reconciler does the same every ``HPDASH_RECONCILE_INTERVAL`` seconds."""
    pairs = list(Trial.objects.filter(state=TrialState.QUEUED).exclude(waiting="")
                 .values_list("pk", "attempt"))
    if pairs:
        transaction.on_commit(lambda: _enqueue(pairs))


def _enqueue(pairs: list[tuple[int, int]]) -> None:
    for pk, attempt in pairs:
        queue.enqueue_trial(pk, attempt)
