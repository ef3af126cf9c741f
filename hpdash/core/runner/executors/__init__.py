"""The executors, registered by name, and which one runs a job's trials.

A new way of running trials (a container, a per-job environment, another machine) is a module
here implementing :class:`hpdash.core.runner.executor.Executor`, one entry in
:data:`EXECUTORS`, and, for a new kind of trainer, one in :data:`EXECUTOR_FOR_TRAINER`.
"""

from __future__ import annotations

from collections.abc import Callable

from hpdash.core.runner.executor import Executor, ExecutorConfig
from hpdash.core.spec import JobDefinition, PythonPackage

from .local import LocalExecutor

EXECUTORS: dict[str, Callable[[ExecutorConfig], Executor]] = {
    LocalExecutor.name: LocalExecutor,
}

TRAINER_KINDS: dict[type, str] = {PythonPackage: "package"}
# Which executor runs which kind of trainer (see trainer_kind).  An image trainer
# (masterConfig.imageUri) will map to the container executor.
EXECUTOR_FOR_TRAINER: dict[str, str] = {"package": LocalExecutor.name}


def get_executor(name: str, config: ExecutorConfig) -> Executor:
    """The executor registered as ``name`` (KeyError if unknown), configured."""
    try:
        factory = EXECUTORS[name]
    except KeyError:
        raise KeyError(f"unknown executor {name!r}; known: {sorted(EXECUTORS)}") from None
    return factory(config)


def trainer_kind(training: JobDefinition) -> str:
    """What kind of trainer a job runs: the typed job's trainer (today every trainer is a
    Python package; a container image will say "image")."""
    return TRAINER_KINDS[type(training.trainer)]


def executor_for(training: JobDefinition) -> str:
    """The name of the executor that runs ``training``'s trials."""
    return EXECUTOR_FOR_TRAINER[trainer_kind(training)]


__all__ = [
    "EXECUTORS",
    "EXECUTOR_FOR_TRAINER",
    "LocalExecutor",
    "executor_for",
    "get_executor",
    "trainer_kind",
]
