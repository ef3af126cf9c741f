"""Container reads: which worker machines run containers, with which images, from which
registries they pull, and why a job naming an image cannot run.  Each machine's report is the
one its workers and its supervisor last recorded (:mod:`hpdash.services.containers`: at each
worker's start and every reconcile interval): nothing here calls podman."""

from __future__ import annotations

from typing import Any

from hpdash.core.runner.podman import image_candidates, registry_of
from hpdash.models import GpuHost
from hpdash.ops import queue

NOT_REPORTED = ("no worker machine has said yet whether it runs containers (each worker records "
                "it when it starts: make run, make worker)")


def container_hosts() -> dict[str, dict[str, Any]]:
    """Every worker machine's container report, as it was last recorded (machines that never
    recorded one are left out)."""
    return {h.name: dict(h.containers) for h in GpuHost.objects.all() if h.containers}


def report_images(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A report's images as ``{"name", "id", "size"}`` (a report recorded before ids and
    sizes were has names only)."""
    found = []
    for entry in report.get("images") or ():
        if isinstance(entry, str):
            found.append({"name": entry, "id": "", "size": None})
        elif isinstance(entry, dict) and entry.get("name"):
            found.append({"name": str(entry["name"]), "id": str(entry.get("id") or ""),
                          "size": entry.get("size")})
    return found


def can_run_image(report: dict[str, Any], image: str) -> bool:
    """Whether a machine with this report can run trials in ``image``: it runs containers and
    has the image, or pulls from the image's registry."""
    if not report or report.get("problem"):
        return False
    if registry_of(image) in (report.get("pull_from") or ()):
        return True
    names = set(image_candidates(image))
    return any(entry["name"] in names for entry in report_images(report))


def image_problem(image: str) -> str | None:
    """Why no worker machine can run trials in ``image`` (it has the image, or pulls from its
    registry), or None."""
    hosts = container_hosts()
    if not hosts:
        return f"no worker can run containers: {NOT_REPORTED}"
    able = {name: report for name, report in hosts.items() if not report.get("problem")}
    if not able:
        why = "; ".join(f"{name}: {report.get('problem')}" for name, report in sorted(
            hosts.items()))
        return f"no worker can run containers: {why}"
    if any(can_run_image(report, image) for report in able.values()):
        return None
    return (f"image {image} is on no worker machine ({', '.join(sorted(able))}), as their "
            f"workers last reported, and none pulls from {registry_of(image)} "
            "(HPDASH_CONTAINER_PULL_FROM): load it there (podman load, podman pull) or give a "
            "local image that name (podman tag)")


def image_hosts_elsewhere(image: str, here: str) -> list[str]:
    """The other worker machines with a live worker (RQ's registry) that can run trials in
    ``image``, as they last reported.  When Redis cannot be asked, every machine that
    reported counts as live."""
    live = queue.live_worker_hosts()
    return sorted(name for name, report in container_hosts().items()
                  if name != here and (live is None or name in live)
                  and can_run_image(report, image))


def container_machines() -> list[dict[str, Any]]:
    """Every worker machine that reported, for ``hpdash images``: ``{"name", "live"
    (a worker of it is registered with the queue; None: Redis cannot be asked),
    "runsContainers", "problem", "pullFrom", "reportTime", "images": [{"name", "id",
    "size"}]}``, by name."""
    live = queue.live_worker_hosts()
    return [{"name": name, "live": None if live is None else name in live,
             "runsContainers": not report.get("problem"), "problem": report.get("problem", ""),
             "pullFrom": list(report.get("pull_from") or ()),
             "reportTime": report.get("reported_at", ""), "images": report_images(report)}
            for name, report in sorted(container_hosts().items())]
