"""GPUs: what a trial asks for, and which of a machine's devices it may have.

Pure Python: the database holds the leases (a RUNNING trial's ``gpus`` on its ``gpu_host``;
see :mod:`hpdash.services.gpus`), the worker machine's devices come from
:mod:`hpdash.ops.gpus`.

What a trial asks for is the typed job's :class:`~hpdash.core.spec.types.GpuRequest` (its
family's parser reads it from the request).  A trial asking for none runs with
``CUDA_VISIBLE_DEVICES=""``, so it cannot take GPU 0 by accident; a trial asking for N runs
with N device ids no other running trial on its machine holds.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

# What CUDA_VISIBLE_DEVICES accepts: indices ("0") and UUIDs ("GPU-8f6c...", "MIG-...").
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


@dataclass(frozen=True)
class GpuMachine:
    """The machine a worker runs on, and its GPUs.  ``in_use``: devices that attempts started
    on this machine may still use whatever the database says, such as a superseded attempt's
    (its trial re-queued while its worker was frozen): never leased to another trial."""

    host: str
    devices: tuple[str, ...] = ()
    in_use: frozenset[str] = frozenset()


def parse_device_list(text: str) -> list[str]:
    """``"0,1,2,3"`` → ``["0", "1", "2", "3"]``; ``""`` → none.  ValueError says what is wrong."""
    devices = [d.strip() for d in text.split(",") if d.strip()]
    for d in devices:
        if not DEVICE_ID.match(d):
            raise ValueError(f"{d!r} is not a GPU id (an index such as 0, or a UUID such as "
                             "GPU-8f6c...)")
    dupes = sorted({d for d in devices if devices.count(d) > 1})
    if dupes:
        raise ValueError(f"GPU {', '.join(dupes)} is listed twice")
    return devices


def free_devices(devices: Iterable[str], held: Iterable[Collection[str]]) -> list[str]:
    """The machine's devices no running trial holds, in the machine's order."""
    taken = {d for lease in held for d in lease}
    return [d for d in devices if d not in taken]


def pick(devices: Iterable[str], held: Iterable[Collection[str]], count: int
         ) -> list[str] | None:
    """``count`` free devices (the first free ones, so a lightly used machine keeps using the
    same GPUs), or None when fewer are free."""
    free = free_devices(devices, held)
    return free[:count] if len(free) >= count else None


def visible_devices(lease: Collection[str]) -> str:
    """The trial's ``CUDA_VISIBLE_DEVICES``: its devices, or ``""`` for none."""
    return ",".join(lease)
