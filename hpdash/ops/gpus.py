"""This machine's GPUs: ``HPDASH_GPUS`` when it is set (``0,1,2,3``; empty for none; it
overrides detection), else the devices ``nvidia-smi -L`` lists, else none.

Read once per process (``nvidia-smi`` takes a moment) by the worker when it starts, which
records them in the database (:func:`hpdash.services.gpus.gpu_host_register`).
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
import subprocess
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from hpdash.core.gpus import GpuMachine, parse_device_list
from hpdash.core.layout import DataLayout
from hpdash.core.runner.executor import gpus_in_use

log = logging.getLogger(__name__)

# "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-8f6c...)"
_NVIDIA_SMI_LINE = re.compile(r"^GPU (\d+):", re.MULTILINE)


def gpus_from_env(value: str | None) -> list[str] | None:
    """``HPDASH_GPUS`` parsed, or None when unset (detect).  Called by settings."""
    if value is None:
        return None
    try:
        return parse_device_list(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"HPDASH_GPUS must list GPU ids such as 0,1,2,3 (empty for "
                                   f"none): {exc}") from None


def parse_nvidia_smi(output: str) -> list[str]:
    return _NVIDIA_SMI_LINE.findall(output)


def detect_gpus() -> list[str]:
    """The devices ``nvidia-smi -L`` lists, or none when it is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        done = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=30,
                              check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("nvidia-smi -L failed (%s): this machine's trials get no GPU; set "
                    "HPDASH_GPUS to list them", exc)
        return []
    return parse_nvidia_smi(done.stdout)


@cache
def machine_gpus() -> tuple[str, ...]:
    declared = settings.HPDASH.gpus
    return declared if declared is not None else tuple(detect_gpus())


def this_machine() -> GpuMachine:
    """This machine, its GPUs, and those its attempt records still name (a superseded
    attempt's trainer may still run on them: see :func:`gpus_in_use`)."""
    devices = machine_gpus()
    in_use = gpus_in_use(DataLayout(Path(settings.DATA_DIR)).attempts) if devices else frozenset()
    return GpuMachine(host=socket.gethostname(), devices=devices, in_use=in_use)
