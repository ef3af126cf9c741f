"""Helpers shared by the unit tests (importable as ``support``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission, User

from hpdash.core.spec import parse_job
from hpdash.core.spec.stored import definition_to_json
from hpdash.models import Job
from hpdash.services.jobs import job_create


def submitter(username: str, *, perms: tuple[str, ...] = ("add_job", "change_job", "cancel_job")
              ) -> User:
    """A user who may create, relabel and cancel jobs (what create_api_token makes)."""
    user = User.objects.create(username=username)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="hpdash", codename__in=perms))
    return User.objects.get(pk=user.pk)  # fresh: no stale permission cache


def submit_ml_job(*, project: str, data: Any, owner: User | None = None) -> Job:
    """``job_create`` with an ml v1 ``Job`` body, parsed as the ml v1 front door does."""
    return job_create(project=project, spec=parse_job(data), owner=owner)


def ml_job_fields(training_input: dict[str, Any]) -> dict[str, Any]:
    """The ``Job`` columns that hold an ml v1 ``trainingInput``, for tests that write job rows
    directly (a job in a given state, bulk rows)."""
    new = parse_job({"jobId": "row", "trainingInput": training_input})
    return {"definition_json": definition_to_json(new.definition), "request": dict(new.request)}
