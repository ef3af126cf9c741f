"""Job workflows: create (validate, resume, check paths), cancel, relabel.  Views, the API,
admin actions and the CLI's server side call these; nothing else changes a job's state."""

from __future__ import annotations

import base64
import dataclasses
import errno
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hpdash.core.layout import DataLayout
from hpdash.core.path_policy import PathUse, path_refusal
from hpdash.core.runner.safe_files import dir_fd, remove_tree
from hpdash.core.spec import (
    FieldViolation,
    HyperparameterSpec,
    JobDefinition,
    NewJob,
    SpecError,
    local_path,
)
from hpdash.core.spec.parse import parse_labels
from hpdash.core.spec.stored import definition_to_json
from hpdash.core.states import JobState, StopReason, TrialState
from hpdash.models import Job, Project
from hpdash.ops import queue
from hpdash.selectors.containers import container_hosts, image_problem
from hpdash.selectors.gpus import gpu_request_problem
from hpdash.services.containers import container_host_report
from hpdash.services.job_dirs import job_dir_claim
from hpdash.services.packages import job_packages_record, packages_prune, packages_store
from hpdash.services.projects import project_claim_for_create
from hpdash.services.scheduling import cancel_queued_trials, finish_job

log = logging.getLogger(__name__)


class AlreadyExists(Exception):
    pass


class FailedPrecondition(Exception):
    pass


class PermissionDenied(SpecError):
    """The owner may not create jobs in this project.  A :class:`SpecError` on the field
    ``project``, so that forms show it like any other error; the API answers 403."""

    def __init__(self, reason: str) -> None:
        super().__init__([FieldViolation("project", reason)])
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _new_etag() -> str:
    return base64.b64encode(secrets.token_bytes(8)).decode()


def _outside_allowed(uri: str, use: PathUse) -> str | None:
    """Why a local path may not be used (None if it may): see :mod:`hpdash.core.path_policy`."""
    try:
        path = local_path(uri)
    except (ValueError, OSError) as exc:
        return f"{uri} is not a usable local path: {exc}"
    return path_refusal(path, use=use, data_dir=str(settings.DATA_DIR),
                        allowed=settings.HPDASH.allowed_paths)


def _check_gpus(definition: JobDefinition) -> list[FieldViolation]:
    """A GPU request no worker machine can ever meet is refused now, not left waiting."""
    request = definition.gpus
    problem = gpu_request_problem(request)
    return [FieldViolation(request.field, problem)] if problem else []


def _check_image(spec: NewJob) -> list[FieldViolation]:
    """A container image some worker machine has or pulls, as the machines last reported.
    Before any has (the first seconds of ``make run``, its workers still starting), this
    machine reports, once."""
    image = spec.definition.image
    if image and not container_hosts():
        container_host_report()
    problem = image_problem(image.image_uri) if image else None
    return [FieldViolation(spec.path("trainer.image_uri"), problem)] if problem else []


def _check_local_paths(spec: NewJob) -> list[FieldViolation]:
    definition = spec.definition
    violations = []
    package = definition.package
    for i, uri in enumerate(package.package_uris if package else ()):
        field = f"{spec.path('trainer.package_uris')}[{i}]"
        why = _outside_allowed(uri, PathUse.PACKAGE)
        if why:
            violations.append(FieldViolation(field, why))
        elif not os.path.exists(local_path(uri)):
            violations.append(FieldViolation(field, f"package {uri} does not exist"))
    if definition.job_dir:
        why = _outside_allowed(definition.job_dir, PathUse.JOB_DIR)
        if why:
            violations.append(FieldViolation(spec.path("job_dir"), why))
    return violations


def _check_python(spec: NewJob) -> list[FieldViolation]:
    """``pythonVersion`` names one of the interpreters this server offers (HPDASH_PYTHONS).
    ``runtimeVersion`` is accepted and ignored: on AI Platform it named a stack of packages,
    here a job's packages declare their own dependencies."""
    package = spec.definition.package
    version = package.python_version if package else None
    offered = [name for name, _path in settings.HPDASH.pythons]
    if version is None or version in offered:
        return []
    return [FieldViolation(spec.path("trainer.python_version"),
                           f"pythonVersion {version!r} is not offered by this server; it "
                           f"offers {', '.join(offered)}")]


# What a resumed job takes from the job it resumes.
_RESUMED = ("goal", "metric_tag", "params", "algorithm")


def _resume_from(project: str, spec: NewJob) -> tuple[Job, HyperparameterSpec]:
    """The job being resumed (seed: "Resuming a completed job"), and this job's hyperparameter
    spec with goal, params, metric tag and algorithm taken from it.  The previous job may have
    SUCCEEDED, FAILED or been CANCELLED; it must be finished.  Fields the user gave must agree
    with it."""
    mine = spec.definition.hyperparameters
    prev_id = mine.resume_previous_job_id
    field = spec.path("hyperparameters.resume_previous_job_id")
    prev = Job.objects.filter(project__name=project, job_id=prev_id).first()
    if prev is None:
        raise SpecError([FieldViolation(field, f"no job {prev_id!r} in project {project!r}")])
    if not prev.is_terminal:
        raise SpecError([FieldViolation(
            field, f"job {prev_id!r} is {prev.state}: only a finished job can be resumed")])
    theirs = prev.spec
    contradictions = []
    for attr in _RESUMED:
        if attr in mine.given and getattr(mine, attr) != getattr(theirs, attr):
            path = spec.path(f"hyperparameters.{attr}")
            key = path.rsplit(".", 1)[-1]
            contradictions.append(FieldViolation(
                path, f"{key} differs from job {prev_id!r}, which this job resumes: a resumed "
                      f"job reuses the previous job's {key} (leave it out)"))
    if contradictions:
        raise SpecError(contradictions)
    merged = dataclasses.replace(mine, goal=theirs.goal, metric_tag=theirs.metric_tag,
                                 params=theirs.params, algorithm=theirs.algorithm)
    return prev, merged


def job_create(*, project: str, spec: NewJob, owner: Any = None) -> Job:
    """Store a job its front door has parsed (:class:`~hpdash.core.spec.types.NewJob`) QUEUED,
    after the checks that need this server: its paths, its GPUs, the job it resumes.  With an
    ``owner``, checks that they may create jobs in ``project`` (see
    :func:`hpdash.services.projects.project_claim_for_create`).

    Raises :class:`SpecError` (with every violation) or :class:`AlreadyExists`."""
    if owner is not None:
        denied = project_claim_for_create(user=owner, project=project)
        if denied:
            raise PermissionDenied(denied)
    else:  # the system itself (tests, management commands): a project without members
        Project.objects.get_or_create(name=project)
    definition = spec.definition
    violations = (_check_local_paths(spec) + _check_gpus(definition) + _check_python(spec)
                  + _check_image(spec))
    if violations:
        raise SpecError(violations)
    stored = packages_store(spec)
    previous = None
    if definition.hyperparameters.resume_previous_job_id:
        previous, hps = _resume_from(project, spec)
        definition = dataclasses.replace(definition, hyperparameters=hps)
    hps = definition.hyperparameters
    assert spec.job_id is not None
    try:
        with transaction.atomic():
            if Job.objects.filter(project__name=project, job_id=spec.job_id).exists():
                raise AlreadyExists(spec.job_id)
            if definition.job_dir:
                job_dir_claim(project=project, job_dir=local_path(definition.job_dir),
                              field=spec.path("job_dir"))
            job = Job.objects.create(
                project_id=project,  # the Project row exists: claimed above or resumed in
                job_id=spec.job_id,
                owner=owner,
                labels=spec.labels,
                definition_json=definition_to_json(definition),
                family=spec.family,
                request=dict(spec.request),
                goal=hps.goal,
                metric_tag=hps.metric_tag,
                algorithm=hps.algorithm,
                max_trials=hps.max_trials,
                max_parallel_trials=hps.max_parallel_trials,
                max_failed_trials=hps.max_failed_trials,
                seed=secrets.randbits(31),
                etag=_new_etag(),
                previous_job=previous,
            )
            job_packages_record(job=job, spec=spec, stored=stored)
            transaction.on_commit(lambda: queue.enqueue_advance(job.pk))
    except IntegrityError as exc:  # lost a race with an identical create
        raise AlreadyExists(spec.job_id) from exc
    log.info("created %s", job)
    return job


def job_cancel(*, job: Job, by: str = "") -> Job:
    """Cancel a job: QUEUED work is dropped, running trials are stopped by their workers
    (SIGTERM to the trial's process group, SIGKILL after a grace period) within a poll
    interval; the job goes CANCELLING → CANCELLED.  Raises :class:`FailedPrecondition` for a
    finished job."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.is_terminal:
            raise FailedPrecondition(
                f"Job {job.job_id} is already {job.state} and cannot be cancelled.")
        if job.state != JobState.CANCELLING:
            who = f" by {by}" if by else ""
            job.state = JobState.CANCELLING
            job.error_message = (
                f"Job cancelled{who} at {timezone.now().strftime('%Y-%m-%dT%H:%M:%SZ')}.")
            job.save(update_fields=["state", "error_message", "update_time"])
        cancel_queued_trials(job=job, reason=StopReason.CANCELLED, cause="job cancelled")
        if not job.trials.filter(state=TrialState.RUNNING).exists():
            finish_job(job=job, state=JobState.CANCELLED)
    return job


class EtagMismatch(Exception):
    """``jobs.patch`` with an etag that is not the job's current one (ABORTED)."""


def job_update_labels(*, job: Job, labels: Any, etag: str | None = None) -> Job:
    """Replace a job's labels (``jobs.patch``) and give it a new etag.

    ``labels`` is validated with the one spec parser (raises :class:`SpecError` naming
    ``labels.KEY``).  With ``etag`` given, it must equal the job's current etag, checked under
    the job's row lock, else :class:`EtagMismatch` is raised and nothing changes."""
    clean = parse_labels(labels)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if etag is not None and etag != locked.etag:
            raise EtagMismatch(
                f"The etag {etag!r} does not match the current etag of job {locked.job_id}: "
                "it was changed since you read it; fetch the job again and retry.")
        locked.labels = clean
        locked.etag = _new_etag()
        locked.save(update_fields=["labels", "etag", "update_time"])
    log.info("updated the labels of %s", locked)
    return locked


def job_delete(*, job: Job) -> None:
    """Delete a finished job with its trials and measurements (Vertex's delete; ml v1 has
    none), then the files hpdash kept for it on this machine (:func:`_job_files_remove`).
    Raises :class:`FailedPrecondition` for a job that has not finished: cancel it first."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if not locked.is_terminal:
            raise FailedPrecondition(
                f"Job {locked.job_id} is {locked.state}: only a finished job can be deleted "
                "(cancel it first).")
        project, job_id = locked.project.name, locked.job_id
        locked.delete()
    log.info("deleted %s", job)
    _job_files_remove(project, job_id)


def _job_files_remove(project: str, job_id: str) -> None:
    """What hpdash itself kept for a deleted job: its trials' logs and metric files, its
    trials' working dirs and staged packages, and its packages in the store when no other job
    uses them.  What the trainers wrote as outputs stays: the job's jobDir (or Vertex's
    ``baseOutputDirectory``) is the user's, and so are the ``AIP_*`` outputs hpdash keeps under
    ``<data>/sandbox/<project>/<job>/outputs`` for a job that named none.  A stale trainer that
    still writes to an open file writes to a removed one.  Removal is fd-relative and never
    follows a link a trainer could have planted; an error is logged, not raised (the job is
    deleted either way)."""
    layout = DataLayout(Path(settings.DATA_DIR))
    jobs = layout.job_dir(project, job_id).parent.parent
    for anchor, rel, names in ((jobs, project, (job_id,)),
                               (layout.sandbox, f"{project}/{job_id}", ("trials", "packages"))):
        try:
            with dir_fd(anchor, rel) as fd:
                for name in names:
                    remove_tree(fd, name)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                log.warning("could not remove the files of deleted job %s/%s in %s: %s",
                            project, job_id, anchor / rel, exc)
    try:
        packages_prune()
    except OSError as exc:
        log.warning("could not prune the package store: %s", exc)
