"""Container reads: which worker machines run containers, with which images, and why a job
naming an image cannot run (read at job create)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from django.conf import settings

from hpdash.core.layout import DataLayout
from hpdash.core.runner.podman import image_candidates
from hpdash.models import GpuHost
from hpdash.ops.containers import machine_report


def container_hosts() -> dict[str, dict[str, Any]]:
    """Every worker machine's container report, as its workers last recorded it; this
    machine's is asked anew (an image loaded since its worker started counts), and stands in
    for the others before any worker has started (the embedded deployment)."""
    hosts = {h.name: dict(h.containers) for h in GpuHost.objects.all() if h.containers}
    hosts[socket.gethostname()] = machine_report(settings.CONTAINERS,
                                                 DataLayout(Path(settings.DATA_DIR)))
    return hosts


def image_problem(image: str) -> str | None:
    """Why no worker machine can run trials in ``image`` (hpdash never pulls one), or None."""
    hosts = container_hosts()
    able = {name: report for name, report in hosts.items() if not report.get("problem")}
    if not able:
        why = "; ".join(f"{name}: {report.get('problem')}" for name, report in sorted(
            hosts.items()))
        return f"no worker can run containers: {why}"
    names = set(image_candidates(image))
    if any(names & set(report.get("images") or ()) for report in able.values()):
        return None
    return (f"image {image} is on no worker machine ({', '.join(sorted(able))}), and hpdash "
            "does not pull images: load it there (podman load, podman pull) or give a local "
            "image that name (podman tag)")
