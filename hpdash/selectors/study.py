"""A study: a job and the chain of jobs it resumes and that resume it (``resumePreviousJobId``),
read as one history.  The caller reached the job through :mod:`hpdash.selectors.jobs` (scoped
by user); a resumed job is always in its job's project, so the user may see the whole chain."""

from __future__ import annotations

from hpdash.models import Job

# Chains longer than this are cut (a chain is made by hand, one job at a time).
MAX_STUDY_JOBS = 200


def study_jobs(*, job: Job) -> list[Job]:
    """Every job of ``job``'s study, oldest first: up to the first job through
    ``previous_job``, then every job that resumes one of the study's, transitively."""
    root = job
    seen = {job.pk}
    while root.previous_job_id and root.previous_job_id not in seen and (
            len(seen) < MAX_STUDY_JOBS):
        seen.add(root.previous_job_id)
        root = Job.objects.get(pk=root.previous_job_id)
    study = [root]
    frontier = [root.pk]
    members = {root.pk}
    while frontier and len(study) < MAX_STUDY_JOBS:
        children = list(Job.objects.filter(previous_job_id__in=frontier)
                        .exclude(pk__in=members).order_by("create_time", "id"))
        children = children[:MAX_STUDY_JOBS - len(study)]
        study += children
        members.update(c.pk for c in children)
        frontier = [c.pk for c in children]
    return sorted(study, key=lambda j: (j.create_time, j.pk))


def jobs_resuming(*, job: Job) -> list[Job]:
    """The jobs that resume ``job`` directly, oldest first."""
    return list(Job.objects.filter(previous_job=job).order_by("create_time", "id"))
