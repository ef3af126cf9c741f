"""GPUs: what a trial asks for, and which of a machine's devices it may have.

Pure Python: the database holds the leases (a RUNNING trial's ``gpus`` on its ``gpu_host``;
see :mod:`hpdash.services.gpus`), the worker machine's devices come from
:mod:`hpdash.ops.gpus`.

What a trial asks for (AI Platform's rules, as far as a workstation has them):

- ``trainingInput.masterConfig.acceleratorConfig.count`` devices, of the stored (and shown,
  never matched) ``type``;
- else ``scaleTier: BASIC_GPU``: one;
- anything else (other scale tiers, ``masterType`` names such as ``standard_gpu``): none.

A trial asking for none runs with ``CUDA_VISIBLE_DEVICES=""``, so it cannot take GPU 0 by
accident; a trial asking for N runs with N device ids no other running trial on its machine
holds.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# What CUDA_VISIBLE_DEVICES accepts: indices ("0") and UUIDs ("GPU-8f6c...", "MIG-...").
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


@dataclass(frozen=True)
class GpuMachine:
    """The machine a worker runs on, and its GPUs."""

    host: str
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class GpuRequest:
    """The GPUs each trial of a job needs."""

    count: int = 0
    type: str = ""  # acceleratorConfig.type, shown only
    field: str = ""  # the trainingInput field it came from (for error messages)

    def describe(self) -> str:
        if not self.count:
            return "no GPU"
        kind = f" {self.type}" if self.type and self.type != "ACCELERATOR_TYPE_UNSPECIFIED" else ""
        return f"{self.count}{kind} GPU{'s' if self.count != 1 else ''}"


def gpu_request(training_input: Mapping[str, Any]) -> GpuRequest:
    """The request of a validated ``trainingInput`` (API form)."""
    accel = (training_input.get("masterConfig") or {}).get("acceleratorConfig") or {}
    if "count" in accel or "type" in accel:
        count = int(accel.get("count", 0) or 0)
        return GpuRequest(count=count, type=str(accel.get("type", "")) if count else "",
                          field="trainingInput.masterConfig.acceleratorConfig.count")
    if training_input.get("scaleTier") == "BASIC_GPU":
        return GpuRequest(count=1, field="trainingInput.scaleTier")
    return GpuRequest()


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
