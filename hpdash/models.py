"""Jobs, their trials and the measurements trials report.  The database is the truth; Redis only
carries work."""

from __future__ import annotations

import hashlib
import secrets
from functools import cached_property

from django.conf import settings
from django.db import models
from django.utils import timezone

from hpdash.core.spec import HyperparameterSpec, JobDefinition
from hpdash.core.spec.stored import definition_from_json
from hpdash.core.spec.types import ALGORITHMS
from hpdash.core.states import FINAL_JOB_STATES, JobState, StopReason, TrialState

JOB_STATE_CHOICES = [(s.value, s.value) for s in JobState]
TRIAL_STATE_CHOICES = [(s.value, s.value) for s in TrialState]
STOP_REASON_CHOICES = [(r.value, r.value) for r in StopReason]


class Project(models.Model):
    """A namespace of jobs (``projects/<name>``) and who may use it (see selectors.access)."""

    name = models.CharField(max_length=128, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                     related_name="hpdash_projects")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JobDir(models.Model):
    """A ``jobDir`` (resolved, links followed) and the project that first used it: another
    project's job may not use it, nor a folder inside it or around it (its trials would write
    into, and delete, the owner's checkpoints).  A row, not a marker file, because a trainer
    can forge a file in a folder it writes."""

    path = models.CharField(max_length=1024, unique=True)
    project = models.ForeignKey(Project, to_field="name", db_column="project",
                                on_delete=models.CASCADE, related_name="job_dirs")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.path} ({self.project_id})"


class Job(models.Model):
    # A job always belongs to a Project row, by name (``project_id`` is the project's name);
    # a project that still has jobs cannot be deleted.
    project = models.ForeignKey(Project, to_field="name", db_column="project",
                                on_delete=models.PROTECT, related_name="jobs")
    job_id = models.CharField(max_length=128)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="hpdash_jobs",
    )
    labels = models.JSONField(default=dict, blank=True)
    # What people wrote about the job on its page (free text; not part of any API).
    note = models.TextField(blank=True)
    # The typed job (hpdash.core.spec.stored): what every trial runs with.
    definition_json = models.JSONField()
    # The request as it was sent, validated, in its API family's shape (ml v1:
    # {"trainingInput": …}): read only by that family, to echo it.
    family = models.CharField(max_length=16, default="mlv1")
    request = models.JSONField()
    # Denormalised from the definition's hyperparameters for listing and filtering.
    goal = models.CharField(max_length=16)
    metric_tag = models.CharField(max_length=256)
    algorithm = models.CharField(max_length=32)
    max_trials = models.PositiveIntegerField()
    max_parallel_trials = models.PositiveIntegerField()
    max_failed_trials = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=JOB_STATE_CHOICES,
                             default=JobState.QUEUED.value)
    error_message = models.TextField(blank=True)
    # Seeds the suggesters so a job's suggestions are reproducible.
    seed = models.BigIntegerField()
    etag = models.CharField(max_length=32, default="")
    previous_job = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resumed_by"
    )
    create_time = models.DateTimeField(auto_now_add=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    update_time = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "job_id"], name="job_unique_in_project")
        ]
        indexes = [models.Index(fields=["project", "-create_time"])]
        ordering = ["-create_time", "-id"]
        permissions = [("cancel_job", "Can cancel jobs")]

    def __str__(self) -> str:
        return f"projects/{self.project_id}/jobs/{self.job_id}"

    @cached_property
    def definition(self) -> JobDefinition:
        return definition_from_json(self.definition_json)

    @property
    def spec(self) -> HyperparameterSpec:
        return self.definition.hyperparameters

    @property
    def algorithm_label(self) -> str:
        """What people call the algorithm ("Bayesian optimisation" for ALGORITHM_UNSPECIFIED)."""
        return ALGORITHMS.get(self.algorithm, self.algorithm)

    @property
    def is_terminal(self) -> bool:
        return self.state in FINAL_JOB_STATES

    @property
    def maximize(self) -> bool:
        return self.goal != "MINIMIZE"


class TrialQuerySet(models.QuerySet["Trial"]):
    def running_attempt(self, pk: int, attempt: int) -> TrialQuerySet:
        """The trial, only while this attempt of it runs: every write a worker makes goes
        through here, so a superseded attempt (its trial re-queued) writes nothing."""
        return self.filter(pk=pk, attempt=attempt, state=TrialState.RUNNING)


class Trial(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="trials")
    trial_id = models.PositiveIntegerField()  # "1", "2", … within the job
    state = models.CharField(max_length=16, choices=TRIAL_STATE_CHOICES,
                             default=TrialState.QUEUED.value)
    params = models.JSONField()  # {parameterName: int | float | str}
    final_value = models.FloatField(null=True, blank=True)
    final_step = models.BigIntegerField(null=True, blank=True)
    is_stopped_early = models.BooleanField(default=False)
    # Why hpdash ended the trial before its trainer did ("" when the trainer ended by itself).
    stop_reason = models.CharField(max_length=32, choices=STOP_REASON_CHOICES, blank=True)
    failure_reason = models.TextField(blank=True)
    attempt = models.PositiveIntegerField(default=0)  # bumped when a trial is re-queued
    worker = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    create_time = models.DateTimeField(auto_now_add=True)
    queued_time = models.DateTimeField(default=timezone.now)  # when this attempt was queued
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    heartbeat_time = models.DateTimeField(null=True, blank=True)
    # The GPUs this attempt runs on (``CUDA_VISIBLE_DEVICES``) on machine ``gpu_host``.  While
    # the trial is RUNNING this is its lease: no other running trial on that machine gets them.
    # A trial that is not RUNNING holds nothing, so a trial that ends, is re-queued or whose
    # worker is lost frees its GPUs with the same write.  Kept afterwards as the record.
    gpu_host = models.CharField(max_length=255, blank=True)
    gpus = models.JSONField(default=list, blank=True)
    # Why a QUEUED trial has not started (it waits for free GPUs); "" when it does not wait.
    waiting = models.CharField(max_length=500, blank=True)
    # What people wrote about the trial on its page (free text; not part of any API).
    note = models.TextField(blank=True)

    objects = TrialQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "trial_id"], name="trial_unique_in_job")
        ]
        indexes = [
            models.Index(fields=["job", "state"]),
            models.Index(fields=["job", "final_value"]),
            models.Index(fields=["job", "final_step"]),
        ]
        ordering = ["job", "trial_id"]

    def __str__(self) -> str:
        return f"{self.job} trial {self.trial_id}"

    @property
    def attempt_number(self) -> int:
        """The attempt as people count it, from 1 (``attempt`` counts re-queues from 0): the
        trial page and the trial's log both say this number."""
        return self.attempt + 1

    @property
    def duration_seconds(self) -> float | None:
        if self.start_time and self.end_time:
            return (self.end_time - self.start_time).total_seconds()
        return None


class GpuHost(models.Model):
    """A worker machine and its GPUs (``HPDASH_GPUS`` or ``nvidia-smi -L``), written by each
    worker when it starts.  Its row is also the lock that serialises GPU leases on it."""

    name = models.CharField(max_length=255, unique=True)  # socket.gethostname()
    devices = models.JSONField(default=list, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)  # the last worker start there
    # What it can run in containers, as its last worker found at start (or its reconcile):
    # {"problem": why not or "", "images": [names], "cdi_gpus": bool}; {}: never said.
    containers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "GPU host"

    def __str__(self) -> str:
        return f"{self.name} ({len(self.devices)} GPUs)"


class Measurement(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="measurements")
    step = models.BigIntegerField()
    value = models.FloatField()
    reported_at = models.DateTimeField()
    # "hypertune", or "tfevents:<run>" for a TensorBoard run (the folder under the job dir).
    source = models.CharField(max_length=255, default="hypertune")
    # The trial's attempt that reported it: a re-run's measurements replace an earlier
    # attempt's from the step the re-run starts at (it may resume from a checkpoint).
    attempt = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["trial", "step"])]
        ordering = ["trial", "id"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Credential(models.Model):
    """What API tokens and worker keys share: only the secret's SHA-256 is stored, with its
    first characters to tell secrets apart; the secret itself is shown once, when issued."""

    prefix = models.CharField(max_length=12)  # first characters, to tell secrets apart
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        abstract = True

    @staticmethod
    def new_secret(kind: str) -> tuple[str, str, str]:
        """A fresh secret starting with ``kind`` (``hpd_``, ``hpw_``): (secret, prefix, hash)."""
        secret = kind + secrets.token_urlsafe(32)
        return secret, secret[:12], hash_token(secret)


class WorkerKey(Credential):
    """The credential a worker machine (``make worker``) sends the server: it may send trial
    logs (and, later, fetch packages), nothing else; no user API accepts it.  Shown once
    (``manage.py create_worker_key``)."""

    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name: str) -> tuple[WorkerKey, str]:
        key, prefix, digest = cls.new_secret("hpw_")
        return cls.objects.create(name=name, prefix=prefix, key_hash=digest), key


class TrialLogShipment(models.Model):
    """How many bytes of one attempt's log a worker machine has sent (the server appends them
    to the trial's log in its own data dir).  Offsets make a resent chunk harmless."""

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="log_shipments")
    attempt = models.PositiveIntegerField()
    received = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trial", "attempt"],
                                               name="one_shipment_per_attempt")]


class ApiToken(Credential):
    """A bearer token for the REST API (a :class:`Credential`)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="hpdash_tokens")
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: object, name: str = "") -> tuple[ApiToken, str]:
        token, prefix, digest = cls.new_secret("hpd_")
        return cls.objects.create(user=user, name=name, prefix=prefix, token_hash=digest), token
