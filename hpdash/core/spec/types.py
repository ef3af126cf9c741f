"""Plain-data types of an AI-Platform training job as hpdash understands it.

These are produced only by :func:`hpdash.core.spec.parse_job` and are immutable.  Numbers are Python
``int``/``float``; enum fields hold the enum *name* exactly as in the ml v1 API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

# Value a hyperparameter takes in one trial: int for INTEGER, float for DOUBLE/DISCRETE,
# str for CATEGORICAL.
ParamValue = int | float | str

GOALS = ("MAXIMIZE", "MINIMIZE")
PARAM_TYPES = ("DOUBLE", "INTEGER", "CATEGORICAL", "DISCRETE")
SCALE_TYPES = ("NONE", "UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE")
ALGORITHMS = ("ALGORITHM_UNSPECIFIED", "GRID_SEARCH", "RANDOM_SEARCH")
DEFAULT_METRIC_TAG = "training/hptuning/metric"
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

    @property
    def is_log(self) -> bool:
        return self.scale_type == "UNIT_LOG_SCALE"

    @property
    def is_reverse_log(self) -> bool:
        return self.scale_type == "UNIT_REVERSE_LOG_SCALE"


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

    @property
    def maximize(self) -> bool:
        return self.goal == "MAXIMIZE"

    def param(self, name: str) -> ParameterSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class TrainingInput:
    """The parts of ``trainingInput`` that drive a run, plus the normalised original.

    ``raw`` is the validated ``trainingInput`` object in API (camelCase) form, which is what
    the API echoes back: machine fields such as ``scaleTier`` are only stored and shown.
    """

    hyperparameters: HyperparameterSpec
    python_module: str
    package_uris: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    job_dir: str | None = None
    # scheduling.maxRunningTime in seconds: the limit of each trial's wall time.
    max_running_seconds: float = DEFAULT_MAX_RUNNING_SECONDS
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def package_paths(self) -> tuple[str, ...]:
        """``package_uris`` as local filesystem paths (``file://`` URIs decoded)."""
        return tuple(local_path(u) for u in self.package_uris)

    @property
    def job_dir_path(self) -> str | None:
        """``job_dir`` as a local filesystem path, or None when no jobDir was given."""
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
class JobSpec:
    job_id: str | None
    training_input: TrainingInput
    labels: dict[str, str] = field(default_factory=dict)


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
