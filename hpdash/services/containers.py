"""Container writes: what a worker machine can run in containers, recorded by its workers at
start and by its supervisor (``make run``, ``make worker``) every reconcile interval, so that
job create, a worker lacking an image and ``hpdash images`` read the record instead of asking
podman (:mod:`hpdash.selectors.containers`)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from hpdash.core.layout import DataLayout
from hpdash.models import GpuHost
from hpdash.ops.containers import machine_report


def container_host_register(*, host: str, report: dict[str, Any]) -> None:
    """Record ``host``'s container report (:func:`hpdash.ops.containers.machine_report`), with
    when it was made (``reported_at``, ISO 8601)."""
    report = {**report, "reported_at": timezone.now().isoformat()}
    row, created = GpuHost.objects.get_or_create(
        name=host, defaults={"containers": report, "seen_at": timezone.now()})
    if not created:
        GpuHost.objects.filter(pk=row.pk).update(containers=report)


def container_host_report(*, full: bool = False) -> dict[str, Any]:
    """Ask this machine's podman again and record the answer; the report.  Unless ``full``
    (a worker's start), a machine whose podman worked at its last report is asked only for its
    images (``podman images``, ~0.2 s; ``podman info`` costs most of a second)."""
    host = socket.gethostname()
    last = GpuHost.objects.filter(name=host).values_list("containers", flat=True).first()
    known_good = not full and isinstance(last, dict) and bool(last) and not last.get("problem")
    report = machine_report(settings.CONTAINERS, DataLayout(Path(settings.DATA_DIR)),
                            known_good=known_good)
    container_host_register(host=host, report=report)
    return report
