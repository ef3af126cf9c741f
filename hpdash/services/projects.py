"""Project writes: the first user to create a job under a new name owns the project."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from hpdash.models import Project
from hpdash.selectors.access import sees_everything


def project_claim_for_create(*, user: Any, project: str) -> str | None:
    """Check that ``user`` may create a job in ``project`` (creating the project for them if it
    is new).  Returns why not, or None."""
    if not user.has_perm("hpdash.add_job"):
        return ("creating jobs needs the 'hpdash.add_job' permission (runs code on the "
                "workers); ask an administrator")
    if sees_everything(user):
        Project.objects.get_or_create(name=project)
        return None
    existing = Project.objects.filter(name=project).first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = Project.objects.create(name=project)
                existing.members.add(user)
            return None
        except IntegrityError:  # created concurrently by someone else
            existing = Project.objects.get(name=project)
    if existing.members.filter(pk=user.pk).exists():
        return None
    return (f"you are not a member of project {project!r}; ask an administrator to add you "
            "(Admin → Projects)")
