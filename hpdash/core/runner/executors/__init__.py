"""The executors, registered by name, and which one runs a job's trials.

A new way of running trials (a container, a per-job environment, another machine) is a module
here implementing :class:`hpdash.core.runner.executor.Executor`, one entry in
:data:`EXECUTORS`, and, for a new kind of trainer, one in :data:`EXECUTOR_FOR_TRAINER`.
"""

from __future__ import annotations

from collections.abc import Callable

from hpdash.core.runner.executor import Executor, ExecutorConfig
from hpdash.core.spec import ContainerImage, JobDefinition, PythonPackage

from .container import ContainerExecutor
from .local import LocalExecutor

EXECUTORS: dict[str, Callable[[ExecutorConfig], Executor]] = {
    LocalExecutor.name: LocalExecutor,
    ContainerExecutor.name: ContainerExecutor,
}

TRAINER_KINDS: dict[type, str] = {PythonPackage: "package", ContainerImage: "image"}
# Which executor runs which kind of trainer (see trainer_kind).
EXECUTOR_FOR_TRAINER: dict[str, str] = {"package": LocalExecutor.name,
                                        "image": ContainerExecutor.name}


def get_executor(name: str, config: ExecutorConfig) -> Executor:
    """The executor registered as ``name`` (KeyError if unknown), configured."""
    try:
        factory = EXECUTORS[name]
    except KeyError:
        raise KeyError(f"unknown executor {name!r}; known: {sorted(EXECUTORS)}") from None
    return factory(config)


def trainer_kind(training: JobDefinition) -> str:
    """What kind of trainer a job runs: "package" (Python packages) or "image" (a container
    image)."""
    return TRAINER_KINDS[type(training.trainer)]


def executor_for(training: JobDefinition) -> str:
    """The name of the executor that runs ``training``'s trials."""
    return EXECUTOR_FOR_TRAINER[trainer_kind(training)]


__all__ = [
    "EXECUTORS",
    "EXECUTOR_FOR_TRAINER",
    "ContainerExecutor",
    "LocalExecutor",
    "executor_for",
    "get_executor",
    "trainer_kind",
]
