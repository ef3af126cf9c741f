"""The one parser and validator of AI-Platform job specs (no Django in here)."""

from .config import load_config
from .parse import parse_hyperparameters, parse_job, parse_training_input
from .types import (
    DEFAULT_METRIC_TAG,
    FieldViolation,
    HyperparameterSpec,
    JobSpec,
    ParameterSpec,
    ParamValue,
    SpecError,
    TrainingInput,
    local_path,
)

__all__ = [
    "DEFAULT_METRIC_TAG",
    "FieldViolation",
    "HyperparameterSpec",
    "JobSpec",
    "ParamValue",
    "ParameterSpec",
    "SpecError",
    "TrainingInput",
    "load_config",
    "local_path",
    "parse_hyperparameters",
    "parse_job",
    "parse_training_input",
]
