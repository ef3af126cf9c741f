"""A job's packages, stored by content hash when the job is created
(:mod:`hpdash.core.runner.package_store`), so that any worker, on this machine or another,
stages exactly what was submitted: a later edit of the original changes no job, and a worker
machine fetches what it lacks from the server (``/workers/v1/packages/<sha256>``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings

from hpdash.core.layout import DataLayout
from hpdash.core.runner.package_store import StoredPackage, prune, store_package
from hpdash.core.runner.packages import PackageError
from hpdash.core.spec import FieldViolation, SpecError
from hpdash.core.spec.types import NewJob, local_path
from hpdash.models import Job, JobPackage

log = logging.getLogger(__name__)


def packages_store(spec: NewJob) -> list[StoredPackage]:
    """Store each of the job's (checked) ``packageUris``; a package that cannot be stored is
    a :class:`SpecError` naming its field."""
    store = DataLayout(Path(settings.DATA_DIR)).package_store
    stored, violations = [], []
    for i, uri in enumerate(_package_uris(spec)):
        try:
            stored.append(store_package(local_path(uri), store))
        except PackageError as exc:
            violations.append(FieldViolation(
                f"{spec.path('trainer.package_uris')}[{i}]", str(exc)))
    if violations:
        raise SpecError(violations)
    return stored


def job_packages_record(*, job: Job, spec: NewJob, stored: list[StoredPackage]) -> None:
    """Which stored package each of the job's ``packageUris`` is (in the job's transaction)."""
    JobPackage.objects.bulk_create(
        JobPackage(job=job, position=i, uri=uri, sha256=p.sha256, name=p.name, size=p.size)
        for i, (uri, p) in enumerate(zip(_package_uris(spec), stored, strict=True)))


def _package_uris(spec: NewJob) -> tuple[str, ...]:
    package = spec.definition.package
    return package.package_uris if package else ()


def packages_prune() -> list[str]:
    """Remove from the server's store the packages no job records any more (after a job is
    deleted); a worker machine's own copies stay until that machine's data dir is cleared."""
    store = DataLayout(Path(settings.DATA_DIR)).package_store
    keep = set(JobPackage.objects.values_list("sha256", flat=True))
    removed = prune(store, keep, now=time.time())
    if removed:
        log.info("removed %d package(s) no job uses any more", len(removed))
    return removed
