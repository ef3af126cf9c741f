"""Whether and how this machine runs trials in containers (``HPDASH_CONTAINERS``,
``HPDASH_CONTAINER_NETWORK``), and what a worker tells the deployment about it at start: whether
podman works here, its images, and whether CDI describes the machine's GPUs."""

from __future__ import annotations

import glob
import os
import shutil
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from hpdash.core.layout import DataLayout
from hpdash.core.runner.podman import CDI_GPU, ContainerSettings, Podman, PodmanError
from hpdash.ops.env import env_choice

CDI_DIRS = ("/etc/cdi", "/var/run/cdi")
INSTALL = "apt-get install podman runc catatonit"


def container_settings_from_env() -> ContainerSettings | None:
    """The container settings, or None when this machine runs no containers."""
    mode = env_choice("HPDASH_CONTAINERS", "auto", ("auto", "on", "off"))
    network = env_choice("HPDASH_CONTAINER_NETWORK", "none", ("none", "host"))
    if mode == "off":
        return None
    exe = shutil.which("podman")
    if exe is None:
        if mode == "on":
            raise ImproperlyConfigured(f"HPDASH_CONTAINERS=on, but podman is not installed "
                                       f"({INSTALL})")
        return None
    return ContainerSettings(podman=exe, network=network == "host")


def cdi_has_gpus() -> bool:
    """Whether a CDI spec names NVIDIA GPUs (``nvidia-ctk cdi generate`` writes one)."""
    kind = CDI_GPU.split("/", 1)[0]
    for path in (p for d in CDI_DIRS for p in glob.glob(f"{d}/*")):
        try:
            with open(path, errors="replace") as f:
                if kind in f.read(1 << 20):
                    return True
        except OSError:
            continue
    return False


def machine_report(settings: ContainerSettings | None, layout: DataLayout) -> dict[str, Any]:
    """What this machine can run in containers: ``{"problem": why not or "", "images": [...],
    "cdi_gpus": bool}`` (stored with the machine's row, read at job create)."""
    report: dict[str, Any] = {"problem": "", "images": [], "cdi_gpus": cdi_has_gpus()}
    if settings is None:
        report["problem"] = (f"podman is not installed on this machine ({INSTALL}), or "
                             "HPDASH_CONTAINERS=off")
        return report
    if os.geteuid() != 0:
        report["problem"] = ("hpdash does not run as root here: containers run with rootful "
                             "podman only")
        return report
    podman = Podman.here(layout.podman, settings.podman)
    assert podman is not None
    report["problem"] = podman.problem() or ""
    if not report["problem"]:
        try:
            report["images"] = podman.images()
        except (PodmanError, ValueError) as exc:
            report["problem"] = f"podman cannot list its images: {exc}"
    return report
