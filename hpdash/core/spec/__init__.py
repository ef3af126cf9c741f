"""The typed job and the one parser and validator of AI-Platform job specs (no Django in here)."""

from .config import load_config
from .parse import parse_hyperparameters, parse_job
from .types import (
    DEFAULT_METRIC_TAG,
    ContainerImage,
    FieldViolation,
    GpuRequest,
    HyperparameterSpec,
    JobDefinition,
    MetricSpec,
    NewJob,
    ParameterSpec,
    ParamValue,
    PythonPackage,
    SpecError,
    local_path,
)

__all__ = [
    "DEFAULT_METRIC_TAG",
    "ContainerImage",
    "FieldViolation",
    "GpuRequest",
    "HyperparameterSpec",
    "JobDefinition",
    "MetricSpec",
    "NewJob",
    "ParamValue",
    "ParameterSpec",
    "PythonPackage",
    "SpecError",
    "load_config",
    "local_path",
    "parse_hyperparameters",
    "parse_job",
]
