"""Job reads, scoped by the user who asks: a job this user may not see is not found (the
dashboard answers 404, the API ``NOT_FOUND``/``PERMISSION_DENIED``), in every page, API call,
export, log, form prefill and resume list."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Max, Min, Q, QuerySet, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact

from hpdash.core.states import FINAL_JOB_STATES, TrialState
from hpdash.models import Job
from hpdash.selectors.access import visible_jobs
from hpdash.selectors.trial_counts import jobs_with_trial_counts

RESUME_CHOICES_LIMIT = 500


def job_get(*, user: Any, project: str, job_id: str) -> Job | None:
    """The job, if ``user`` may see its project; else None."""
    return (visible_jobs(user).select_related("owner")
            .filter(project__name=project, job_id=job_id).first())


def jobs_overview(*, user: Any, state: str = "", search: str = "",
                  label: tuple[str, str | None] | None = None) -> QuerySet[Job]:
    """The jobs ``user`` may see, newest first, as the job list shows them: only those in
    ``state``, whose id contains ``search`` and that carry ``label`` (``(key, value)``, or
    ``(key, None)`` for any value) when given, each with its trial counts (read with
    :func:`hpdash.selectors.trial_counts.trial_counts`) and ``best_value``, the best final
    metric of its succeeded trials in its goal's direction (None before the first)."""
    succeeded = Q(trials__state=TrialState.SUCCEEDED)
    jobs = jobs_with_trial_counts(visible_jobs(user).select_related("owner")).annotate(
        best_value=Case(When(goal="MINIMIZE", then=Min("trials__final_value", filter=succeeded)),
                        default=Max("trials__final_value", filter=succeeded)),
    ).order_by("-create_time", "-id")  # Meta.ordering is not applied to GROUP BY queries
    if state:
        jobs = jobs.filter(state=state)
    if search:
        jobs = jobs.filter(job_id__icontains=search)
    if label is not None:
        key, value = label
        # An expression, not labels__<key>: keys such as "contains" are keys, not lookups.
        jobs = (jobs.filter(labels__has_key=key) if value is None
                else jobs.filter(Exact(KeyTextTransform(key, "labels"), value)))
    return jobs


def jobs_in_project(*, user: Any, project: str) -> QuerySet[Job]:
    """The project's jobs, newest first (empty if ``user`` may not see the project), each with
    the job it resumes (an API family shows what a resumed job took from it)."""
    return visible_jobs(user).filter(project__name=project).select_related("previous_job")


def jobs_resumable(*, user: Any) -> list[tuple[str, str, str, str, str]]:
    """Finished jobs ``user`` may see, newest first, as (project, jobId, goal, metric tag,
    algorithm): the choices of the new-job form's "continue a job" (ml v1 jobs: the form is
    ml v1's)."""
    rows = (visible_jobs(user).filter(state__in=FINAL_JOB_STATES, family="mlv1")
            .order_by("-create_time", "-id"))
    return list(rows.values_list("project__name", "job_id", "goal", "metric_tag", "algorithm")[
        :RESUME_CHOICES_LIMIT])


def job_ids_with_prefix(*, project: str, prefix: str) -> set[str]:
    """Job ids taken in ``project`` that start with ``prefix``, whoever may see them: a new
    job's suggested id must not collide with any (only ids are read, nothing is shown)."""
    return set(Job.objects.filter(project__name=project, job_id__startswith=prefix)
               .values_list("job_id", flat=True))
