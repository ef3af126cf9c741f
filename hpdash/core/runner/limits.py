"""How much of the machine one trial may use: memory, CPUs and processes, from the machine type
the job names (AI Platform's ``masterType`` or ``scaleTier``), else from the server's defaults.

The table follows AI Platform Training's documentation: Compute Engine types by family
(``n1-standard-8``: 8 vCPUs, 30 GB), the legacy names by the Compute Engine type AI Platform
lists for each (``complex_model_s`` is ``n1-highcpu-8``: 8 vCPUs, 7.2 GB; ``complex_model_m``
``n1-highcpu-16``; ``standard_gpu`` ``n1-standard-8``), and scale tiers by their master's type
(``BASIC`` ``n1-standard-4``; ``STANDARD_1`` ``n1-highcpu-8``; ``PREMIUM_1`` ``n1-highcpu-16``;
``BASIC_GPU`` ``n1-standard-8``; ``BASIC_TPU`` ``n1-standard-4``).  ``masterType`` wins over
``scaleTier``.  A job that names neither, or a type this table does not know, gets the
server's defaults (``HPDASH_TRIAL_MEMORY``, ``HPDASH_TRIAL_CPUS``); the process count is
always the server's (``HPDASH_TRIAL_MAX_PROCESSES``): no machine type names one.

Plain Python, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Compute Engine's "GB" in its machine tables are GiB (n1-standard-1's 3.75 GB is 3840 MiB).
GIB = 2**30
MIB = 2**20

# GiB of memory per vCPU of each Compute Engine family and class.
_PER_VCPU: dict[tuple[str, str], float] = {
    ("n1", "standard"): 3.75, ("n1", "highmem"): 6.5, ("n1", "highcpu"): 0.9,
    ("n2", "standard"): 4, ("n2", "highmem"): 8, ("n2", "highcpu"): 1,
    ("n2d", "standard"): 4, ("n2d", "highmem"): 8, ("n2d", "highcpu"): 1,
    ("e2", "standard"): 4, ("e2", "highmem"): 8, ("e2", "highcpu"): 1,
    ("c2", "standard"): 4,
}
_COMPUTE_ENGINE = re.compile(r"^(n1|n2|n2d|e2|c2)-(standard|highmem|highcpu)-(\d{1,3})$")
# A2 (the A100 machines): vCPUs and GiB by GPU count.
_A2 = {"a2-highgpu-1g": (12, 85), "a2-highgpu-2g": (24, 170), "a2-highgpu-4g": (48, 340),
       "a2-highgpu-8g": (96, 680), "a2-megagpu-16g": (96, 1360)}

# AI Platform's legacy machine names, by the Compute Engine type it documents for each.
LEGACY_TYPES: dict[str, str] = {
    "standard": "n1-standard-4",
    "large_model": "n1-highmem-8",
    "complex_model_s": "n1-highcpu-8",
    "complex_model_m": "n1-highcpu-16",
    "complex_model_l": "n1-highcpu-32",
    "standard_gpu": "n1-standard-8",
    "complex_model_m_gpu": "n1-standard-16",
    "complex_model_l_gpu": "n1-standard-32",
    "standard_p100": "n1-standard-8",
    "complex_model_m_p100": "n1-standard-16",
    "standard_v100": "n1-standard-8",
    "large_model_v100": "n1-highmem-8",
    "complex_model_m_v100": "n1-standard-16",
    "complex_model_l_v100": "n1-standard-32",
    "cloud_tpu": "n1-standard-4",
}

# Each scale tier's master, as AI Platform documents the tiers (CUSTOM names masterType).
SCALE_TIER_TYPES: dict[str, str] = {
    "BASIC": "n1-standard-4",
    "STANDARD_1": "n1-highcpu-8",
    "PREMIUM_1": "n1-highcpu-16",
    "BASIC_GPU": "n1-standard-8",
    "BASIC_TPU": "n1-standard-4",
}


@dataclass(frozen=True)
class Machine:
    name: str
    vcpus: int
    memory_bytes: int


@dataclass(frozen=True)
class TrialLimits:
    """One trial's limits; None: not limited.  ``source`` says where they came from (the
    machine type, or the server's defaults), for the trial log."""

    memory_bytes: int | None = None
    cpus: float | None = None
    processes: int | None = None
    source: str = "server defaults"

    def describe(self) -> str:
        parts = [f"memory {format_bytes(self.memory_bytes)}" if self.memory_bytes else "",
                 f"{self.cpus:g} CPUs" if self.cpus else "",
                 f"{self.processes} processes" if self.processes else ""]
        shown = ", ".join(p for p in parts if p) or "none"
        return f"{shown} ({self.source})"


def format_bytes(n: int) -> str:
    """``256 MiB``, ``7.2 GiB``, ``15 GiB``."""
    if n >= GIB:
        return f"{round(n / GIB, 2):g} GiB"
    return f"{round(n / MIB, 1):g} MiB"


def machine(name: str) -> Machine | None:
    """The Compute Engine or legacy AI Platform machine type ``name``; None if unknown."""
    key = name.strip().lower()
    key = LEGACY_TYPES.get(key, key)
    if key in _A2:
        cpus, gib = _A2[key]
        return Machine(name, cpus, gib * GIB)
    found = _COMPUTE_ENGINE.match(key)
    if not found:
        return None
    family, kind, count = found.group(1), found.group(2), int(found.group(3))
    per = _PER_VCPU.get((family, kind))
    if per is None or count < 1:
        return None
    return Machine(name, count, int(per * count * GIB))


def limits_for(described: Mapping[str, Any], defaults: TrialLimits) -> TrialLimits:
    """The limits of each trial of a job whose ``described`` training input (snake_case, as
    :class:`~hpdash.core.spec.JobDefinition` keeps it) names ``master_type`` or ``scale_tier``;
    ``defaults`` otherwise (and for the process count always)."""
    named = str(described.get("master_type") or "")
    tier = str(described.get("scale_tier") or "")
    name = named or SCALE_TIER_TYPES.get(tier, "")
    found = machine(name) if name else None
    if found is None:
        why = f"{name!r} is not a machine type hpdash knows: server defaults" if name else ""
        return defaults if not why else TrialLimits(
            defaults.memory_bytes, defaults.cpus, defaults.processes, why)
    source = f"machine type {named}" if named else f"scale tier {tier} ({name})"
    return TrialLimits(memory_bytes=found.memory_bytes, cpus=float(found.vcpus),
                       processes=defaults.processes, source=source)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``512M``, ``2G``, ``1.5GiB``, ``1000000`` (bytes): powers of 1024.  ValueError if not."""
    found = _SIZE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a size (e.g. 512M, 2G)")
    unit = (found.group(2) or "b")[0].lower()
    power = "bkmgt".index(unit)
    return int(float(found.group(1)) * 1024**power)
