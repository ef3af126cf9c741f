"""Helpers shared by the unit tests (importable as ``support``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission, User

from hpdash.core.spec import parse_job
from hpdash.core.spec.stored import definition_to_json
from hpdash.models import Job, Project
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


def job_row(job_id: str, hyperparameters: dict[str, Any], *, project: str = "p",
            **columns: Any) -> Job:
    """A job row written directly (in a given state, with hand-made trials), its columns taken
    from the parsed ``hyperparameters`` unless given."""
    new = parse_job({"jobId": job_id, "trainingInput": {"pythonModule": "m",
                                                        "hyperparameters": hyperparameters}})
    hp = new.definition.hyperparameters
    fields: dict[str, Any] = {
        "goal": hp.goal, "metric_tag": hp.metric_tag, "algorithm": hp.algorithm,
        "max_trials": hp.max_trials, "max_parallel_trials": hp.max_parallel_trials,
        "max_failed_trials": hp.max_failed_trials, "seed": 1,
        "definition_json": definition_to_json(new.definition), "request": dict(new.request),
        **columns}
    Project.objects.get_or_create(name=project)
    return Job.objects.create(project_id=project, job_id=job_id, **fields)
