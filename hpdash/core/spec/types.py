"""The typed job: plain, immutable data that hpdash runs, whatever API family it came through.

A front door's parser (ml v1: :func:`hpdash.core.spec.parse_job`) builds a :class:`NewJob`; the
service stores its :class:`JobDefinition` (:mod:`hpdash.core.spec.stored`) beside the request as
it was sent, which only that family reads back.  Numbers are Python ``int``/``float``; the
hyperparameter enums (goal, type, scale, algorithm) hold AI Platform's names, hpdash's own
vocabulary for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

# Value a hyperparameter takes in one trial: int for INTEGER, float for DOUBLE/DISCRETE,
# str for CATEGORICAL.
ParamValue = int | float | str

GOALS = ("MAXIMIZE", "MINIMIZE")
PARAM_TYPES = ("DOUBLE", "INTEGER", "CATEGORICAL", "DISCRETE")
SCALE_TYPES = ("NONE", "UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE")
# The search algorithms, by AI Platform's names, and what the dashboard calls them; the one
# list (hpdash.core.suggest registers a suggester for each: a test checks).
ALGORITHMS: dict[str, str] = {
    "ALGORITHM_UNSPECIFIED": "Bayesian optimisation",
    "GRID_SEARCH": "Grid search",
    "RANDOM_SEARCH": "Random search",
}
DEFAULT_METRIC_TAG = "training/hptuning/metric"
MEASUREMENT_SELECTIONS = ("LAST", "BEST")
TRAINER_CONTRACTS = ("mlv1", "vertex", "vertex_custom")
# ml v1's scheduling.maxRunningTime default (7 days); hpdash applies it to each trial.
DEFAULT_MAX_RUNNING_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str  # one of PARAM_TYPES
    min_value: float | None = None  # DOUBLE / INTEGER only
    max_value: float | None = None
    categorical_values: tuple[str, ...] = ()
    discrete_values: tuple[float, ...] = ()
    scale_type: str = "NONE"  # one of SCALE_TYPES; NONE behaves as linear
    # Vertex's defaultValue (one of the parameter's values; ml v1 has none): when every
    # parameter has one, a study's first trial takes them (hpdash.core.suggest.with_defaults).
    default_value: ParamValue | None = None
    # Vertex's conditionalParameterSpecs: the parameter is active (suggested, and passed to the
    # trainer) only when its ``parent`` is active and takes one of ``parent_values``
    # (hpdash.core.spec.conditions).  None: always active.
    parent: str | None = None
    parent_values: tuple[ParamValue, ...] = ()

    @property
    def is_log(self) -> bool:
        return self.scale_type == "UNIT_LOG_SCALE"

    @property
    def is_reverse_log(self) -> bool:
        return self.scale_type == "UNIT_REVERSE_LOG_SCALE"


@dataclass(frozen=True)
class MetricSpec:
    """One objective: the tag the trainer reports it under, and which way is better."""

    tag: str
    goal: str = "MAXIMIZE"  # one of GOALS

    @property
    def maximize(self) -> bool:
        return self.goal == "MAXIMIZE"


@dataclass(frozen=True)
class StudyStopping:
    """Vertex's ``studyStoppingConfig``: when a study stops starting trials before
    ``max_trials`` (hpdash.core.study_stopping decides).  Times in seconds; end times RFC 3339."""

    min_trials: int | None = None  # minNumTrials: no stop before this many succeeded
    max_trials: int | None = None  # maxNumTrials
    max_trials_no_progress: int | None = None  # maxNumTrialsNoProgress
    max_seconds_no_progress: float | None = None  # maxDurationNoProgress
    min_runtime_seconds: float | None = None  # minimumRuntimeConstraint.maxDuration
    min_end_time: str | None = None  # minimumRuntimeConstraint.endTime
    max_runtime_seconds: float | None = None  # maximumRuntimeConstraint.maxDuration
    max_end_time: str | None = None  # maximumRuntimeConstraint.endTime
    stop_asap: bool = False  # shouldStopAsap: stop running trials too

    @property
    def has_deadline(self) -> bool:
        """Whether time alone can stop the study (checked while trials run)."""
        return (self.max_runtime_seconds is not None or self.max_end_time is not None
                or self.max_seconds_no_progress is not None)


@dataclass(frozen=True)
class HyperparameterSpec:
    params: tuple[ParameterSpec, ...]
    goal: str = "MAXIMIZE"
    metric_tag: str = DEFAULT_METRIC_TAG
    max_trials: int = 1
    max_parallel_trials: int = 1
    max_failed_trials: int = 0
    enable_early_stopping: bool = False
    resume_previous_job_id: str | None = None
    algorithm: str = "ALGORITHM_UNSPECIFIED"
    # Which measurement is a trial's final one: "LAST" (ml v1's rule) or "BEST" (in the goal's
    # direction; Vertex's measurementSelectionType, whose SDK asks for BEST by default).
    measurement_selection: str = "LAST"
    # The objectives after the first (``metric_tag``/``goal``): Vertex's several ``metrics``
    # make a multi-objective study (ml v1 has one).  A Measurement row names its objective by
    # position in :attr:`metrics` (0: the first).
    more_metrics: tuple[MetricSpec, ...] = ()
    study_stopping: StudyStopping | None = None
    # The fields above that the request set (a resumed job takes the others from the job it
    # resumes, and those it set must agree with it).
    given: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def maximize(self) -> bool:
        return self.goal == "MAXIMIZE"

    @property
    def metrics(self) -> tuple[MetricSpec, ...]:
        """Every objective, the first (``metric_tag``, ``goal``) first."""
        return (MetricSpec(self.metric_tag, self.goal), *self.more_metrics)

    @property
    def multi_objective(self) -> bool:
        return bool(self.more_metrics)

    def param(self, name: str) -> ParameterSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class GpuRequest:
    """The GPUs each trial of a job needs."""

    count: int = 0
    type: str = ""  # the accelerator type, shown only (never matched against a device)
    field: str = ""  # the request field it came from (for error messages)

    def describe(self) -> str:
        if not self.count:
            return "no GPU"
        kind = f" {self.type}" if self.type and self.type != "ACCELERATOR_TYPE_UNSPECIFIED" else ""
        return f"{self.count}{kind} GPU{'s' if self.count != 1 else ''}"


@dataclass(frozen=True)
class PythonPackage:
    """A trainer given as Python packages: ``python -m <module>`` with the packages importable."""

    module: str
    package_uris: tuple[str, ...] = ()
    # ``pythonVersion``: which of the server's interpreters (HPDASH_PYTHONS) builds the job's
    # environment; None: the server's default.
    python_version: str | None = None

    @property
    def package_paths(self) -> tuple[str, ...]:
        """``package_uris`` as local filesystem paths (``file://`` URIs decoded)."""
        return tuple(local_path(u) for u in self.package_uris)


@dataclass(frozen=True)
class ContainerImage:
    """A trainer given as a container image (ml v1 ``masterConfig.imageUri``): run with the
    image's own entrypoint, or ``command`` (``containerCommand``) instead, and ``args``
    (``containerArgs``) before the job's ``args``."""

    image_uri: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()


Trainer = PythonPackage | ContainerImage


@dataclass(frozen=True)
class JobDefinition:
    """What to run for each trial, and under which limits."""

    hyperparameters: HyperparameterSpec
    trainer: Trainer
    args: tuple[str, ...] = ()
    # The output location: each trial gets ``<job_dir>/<trialId>`` (``--job-dir``).
    job_dir: str | None = None
    # The limit of each trial's wall time.
    max_running_seconds: float = DEFAULT_MAX_RUNNING_SECONDS
    gpus: GpuRequest = GpuRequest()
    # The job as its trainers are told about it (``TF_CONFIG``'s ``job`` and ``CLOUD_ML_JOB``):
    # each API family describes a job in its own words, so its parser writes this.
    described: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # How a trial is told its parameters and outputs, one of TRAINER_CONTRACTS: "mlv1"
    # (``--job-dir <jobDir>/<trialId>`` before the parameters) or "vertex" (no ``--job-dir``;
    # ``AIP_MODEL_DIR``, ``AIP_CHECKPOINT_DIR`` and ``AIP_TENSORBOARD_LOG_DIR`` under
    # ``<job_dir>/<trialId>/``, ``CLUSTER_SPEC``) or "vertex_custom" (a Vertex CustomJob,
    # which is no trial: the same, with the AIP_* directories right under ``job_dir``).
    contract: str = "mlv1"
    # Environment variables the request gives every trial (Vertex's ``env``), in its order.
    env: tuple[tuple[str, str], ...] = ()

    @property
    def requires_metric(self) -> bool:
        """Whether a trial that reports no metric has failed: a tuning trial has; the one run
        of a Vertex CustomJob, which tunes nothing, has not."""
        return self.contract != "vertex_custom"

    @property
    def package(self) -> PythonPackage | None:
        """The trainer's Python packages, or None for a container image."""
        return self.trainer if isinstance(self.trainer, PythonPackage) else None

    @property
    def image(self) -> ContainerImage | None:
        """The trainer's container image, or None for Python packages."""
        return self.trainer if isinstance(self.trainer, ContainerImage) else None

    @property
    def job_dir_path(self) -> str | None:
        """``job_dir`` as a local filesystem path, or None when the job has none."""
        return local_path(self.job_dir) if self.job_dir is not None else None


def local_path(location: str) -> str:
    """The filesystem path of a validated ``packageUris``/``jobDir`` value: an absolute path is
    returned as is, a ``file://`` URI (``file:///srv/pkg.tar.gz``, ``file://localhost/...``,
    ``%``-escapes such as ``file:///srv/my%20pkg``) is decoded to its path.  The one decoder:
    validation, the allow-list, package staging and the trial's ``--job-dir`` all use it."""
    if location[:5].lower() == "file:":
        return unquote(urlsplit(location).path)
    return location


@dataclass(frozen=True)
class NewJob:
    """A job as a front door hands it to the service (``job_create``)."""

    job_id: str | None
    definition: JobDefinition
    labels: dict[str, str] = field(default_factory=dict)
    # The request as it was sent (validated, in the family's own shape), for that family to
    # echo; and the family's name (``mlv1``).
    request: Mapping[str, Any] = field(default_factory=dict, compare=False)
    family: str = "mlv1"
    # Where the typed fields were in the request, for errors the service finds
    # ({"job_dir": "trainingInput.jobDir", ...}); a field not listed is named as it is typed.
    paths: Mapping[str, str] = field(default_factory=dict, compare=False)

    def path(self, typed: str) -> str:
        """The request's name for a typed field (``trainer.package_uris``)."""
        return self.paths.get(typed, typed)


@dataclass(frozen=True)
class FieldViolation:
    """One validation error: ``field`` is a JSON path such as
    ``trainingInput.hyperparameters.params[0].minValue``."""

    field: str
    description: str


class SpecError(ValueError):
    """Raised by the parser with every violation found (never just the first)."""

    def __init__(self, violations: list[FieldViolation]):
        self.violations = violations
        super().__init__("; ".join(f"Field: {v.field} Error: {v.description}" for v in violations))
