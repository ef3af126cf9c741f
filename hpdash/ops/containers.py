"""Whether and how this machine runs trials in containers (``HPDASH_CONTAINERS``,
``HPDASH_CONTAINER_NETWORK``, ``HPDASH_CONTAINER_PULL_FROM``, ...), and what a worker machine
tells the deployment about it, at each worker's start and every reconcile interval: whether
podman works here, its images, the registries it pulls from, and whether CDI describes the
machine's GPUs."""

from __future__ import annotations

import glob
import os
import re
import shutil
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from hpdash.core.layout import DataLayout
from hpdash.core.runner.podman import CDI_GPU, ContainerSettings, Podman, PodmanError
from hpdash.ops.env import env_choice, env_float, env_list

CDI_DIRS = ("/etc/cdi", "/var/run/cdi")
INSTALL = "apt-get install podman runc catatonit"
# A registry as an image name starts with it: a host name or address, and a port.
_REGISTRY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")


def _registries(name: str) -> tuple[str, ...]:
    found = tuple(r.lower() for r in env_list(name, ""))  # image names are lower-case
    for registry in found:
        if not _REGISTRY.fullmatch(registry) or (
                "." not in registry and ":" not in registry and registry != "localhost"):
            raise ImproperlyConfigured(
                f"{name} lists registries as image names start with them (gcr.io, "
                f"127.0.0.1:5000, docker.io), comma-separated; {registry!r} is not one")
    return found


def container_settings_from_env() -> ContainerSettings | None:
    """The container settings, or None when this machine runs no containers."""
    mode = env_choice("HPDASH_CONTAINERS", "auto", ("auto", "on", "off"))
    network = env_choice("HPDASH_CONTAINER_NETWORK", "none", ("none", "host"))
    pull_from = _registries("HPDASH_CONTAINER_PULL_FROM")
    insecure = _registries("HPDASH_CONTAINER_INSECURE_REGISTRIES")
    if stray := [r for r in insecure if r not in pull_from]:
        raise ImproperlyConfigured(
            f"HPDASH_CONTAINER_INSECURE_REGISTRIES names {', '.join(stray)}, which "
            "HPDASH_CONTAINER_PULL_FROM does not: hpdash pulls from no other registry")
    pull_timeout = env_float("HPDASH_CONTAINER_PULL_TIMEOUT", 600.0, minimum=1.0)
    if mode == "off":
        return None
    exe = shutil.which("podman")
    if exe is None:
        if mode == "on":
            raise ImproperlyConfigured(f"HPDASH_CONTAINERS=on, but podman is not installed "
                                       f"({INSTALL})")
        return None
    return ContainerSettings(podman=exe, network=network == "host", pull_from=pull_from,
                             insecure=insecure, pull_timeout=pull_timeout)


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


def machine_report(settings: ContainerSettings | None, layout: DataLayout, *,
                   known_good: bool = False) -> dict[str, Any]:
    """What this machine can run in containers: ``{"problem": why not or "", "images":
    [{"name", "id", "size"}, ...], "pull_from": [registries], "cdi_gpus": bool}`` (stored with
    the machine's row: :func:`hpdash.services.containers.container_host_register`; read at job
    create, by a worker lacking an image, and by ``hpdash images``).  ``known_good``: podman
    worked at the last report, so only its images are asked again (``podman info`` costs most
    of a second)."""
    report: dict[str, Any] = {"problem": "", "images": [], "cdi_gpus": cdi_has_gpus(),
                              "pull_from": list(settings.pull_from) if settings else []}
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
    report["problem"] = "" if known_good else podman.problem() or ""
    if not report["problem"]:
        try:
            report["images"] = podman.images()
        except (PodmanError, ValueError) as exc:
            report["problem"] = f"podman cannot list its images: {exc}"
    return report
