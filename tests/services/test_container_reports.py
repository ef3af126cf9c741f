"""A worker machine's container report: recorded with when it was made; a worker's start asks
podman everything, the periodic report only for the images while podman worked last time."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from hpdash.models import GpuHost
from hpdash.services import containers

pytestmark = pytest.mark.django_db


def test_the_periodic_report_asks_only_for_images_while_podman_worked(monkeypatch):
    asked: list[bool] = []

    def report(settings: Any, layout: Any, *, known_good: bool = False) -> dict[str, Any]:
        asked.append(known_good)
        return {"problem": "" if len(asked) < 3 else "podman does not work", "images": []}
    monkeypatch.setattr(containers, "machine_report", report)
    containers.container_host_report(full=True)  # a worker's start
    containers.container_host_report()  # the supervisor, a reconcile interval later
    containers.container_host_report()  # podman broke: recorded, so ...
    containers.container_host_report()  # ... the next report asks everything again
    assert asked == [False, True, True, False]
    row = GpuHost.objects.get(name=socket.gethostname())
    assert row.containers["problem"] == "podman does not work"
    assert row.containers["reported_at"].startswith("20")
