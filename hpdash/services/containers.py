"""Container writes: what a worker machine can run in containers, recorded by its workers."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from hpdash.models import GpuHost


def container_host_register(*, host: str, report: dict[str, Any]) -> None:
    """Record ``host``'s container report (:func:`hpdash.ops.containers.machine_report`)."""
    row, created = GpuHost.objects.get_or_create(
        name=host, defaults={"containers": report, "seen_at": timezone.now()})
    if not created:
        GpuHost.objects.filter(pk=row.pk).update(containers=report)
