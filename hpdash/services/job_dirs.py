"""A ``jobDir`` belongs to the project that first used it (issue 19): the owner's later jobs
may reuse it (resume from its checkpoints), another project's job gets a 400 on ``jobDir``.
The folders inside and around a claimed jobDir count as the same: a jobDir ``/out/a`` of
project X keeps project Y from ``/out/a/1`` (trial 1's folder) and from ``/out``."""

from __future__ import annotations

import os

from django.db import IntegrityError, transaction
from django.db.models import Q

from hpdash.core.spec import FieldViolation, SpecError
from hpdash.models import JobDir


def _ancestors(path: str) -> list[str]:
    out = [path]
    while path not in ("/", ""):
        path = os.path.dirname(path)
        out.append(path)
    return out


def job_dir_claim(*, project: str, job_dir: str, field: str) -> None:
    """Claim ``job_dir`` for ``project`` (call inside the job's creating transaction).
    Raises :class:`SpecError` on ``field`` when another project holds it, or a folder inside
    or around it."""
    real = os.path.realpath(job_dir)
    held = JobDir.objects.filter(
        Q(path__in=_ancestors(real)) | Q(path__startswith=real.rstrip("/") + "/"),
    ).exclude(project_id=project)
    if held.exists():
        raise SpecError([FieldViolation(field, (
            f"{job_dir} is used by another project's jobs (a jobDir belongs to the project "
            "that first used it, with the folders inside and around it); choose another "
            "folder"))])
    try:
        with transaction.atomic():
            JobDir.objects.get_or_create(path=real, defaults={"project_id": project})
    except IntegrityError:  # another project claimed it this very moment
        raise SpecError([FieldViolation(field, f"{job_dir} is used by another project's "
                                               "jobs; choose another folder")]) from None
