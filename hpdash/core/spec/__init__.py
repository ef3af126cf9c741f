"""The one parser and validator of AI-Platform job specs (no Django in here)."""

from .config import load_config
from .parse import parse_hyperparameters, parse_job
from .types import (
    DEFAULT_METRIC_TAG,
    FieldViolation,
    HyperparameterSpec,
    JobSpec,
    ParameterSpec,
    ParamValue,
    SpecError,
    TrainingInput,
)

__all__ = [
    "DEFAULT_METRIC_TAG",
    "FieldViolation",
    "HyperparameterSpec",
    "JobSpec",
    "ParameterSpec",
    "ParamValue",
    "SpecError",
    "TrainingInput",
    "load_config",
    "parse_hyperparameters",
    "parse_job",
]
