"""The worker's executors: configured from the settings, picked by the job, set up once per
worker process (:mod:`hpdash.core.runner.executors` has the executors themselves)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from django.conf import settings

from hpdash.core.layout import DataLayout
from hpdash.core.runner.executor import Executor, ExecutorConfig
from hpdash.core.runner.executors import (
    EXECUTORS,
    ContainerExecutor,
    executor_for,
    get_executor,
)
from hpdash.core.spec import JobDefinition

log = logging.getLogger(__name__)


def executor_config() -> ExecutorConfig:
    return ExecutorConfig(
        layout=DataLayout(Path(settings.DATA_DIR)),
        python=sys.executable,
        user=settings.TRIAL_USER,
        log_cap_bytes=settings.HPDASH.trial_log_max_bytes,
        pythons=dict(settings.HPDASH.pythons),
        uv=settings.HPDASH.uv or None,
        box=settings.TRIAL_BOX,
        containers=settings.CONTAINERS,
    )


def executor_for_training(training: JobDefinition) -> Executor:
    """The executor that runs the trials of a job with this ``training``."""
    return get_executor(executor_for(training), executor_config())


def executors_start() -> None:
    """Once per worker process: each executor takes what it needs of the process, and ends
    what trials of workers that died on this machine left running."""
    config = executor_config()
    for name in EXECUTORS:
        executor = get_executor(name, config)
        executor.on_worker_start()
        _reap(executor)


def _reap(executor: Executor) -> None:
    for leftover in executor.leftovers():
        ended = executor.reap(leftover)
        log.warning("ended %d process(es) or container(s) left by %s of a dead worker (%s pid "
                    "%s)", ended, leftover.trial or leftover.marker, leftover.worker.host,
                    leftover.worker.pid)


def containers_reap() -> None:
    """Remove the containers of workers that died on this machine (``make run`` calls it every
    reconcile interval: a machine whose workers are not restarted still gets them removed)."""
    if settings.CONTAINERS is not None:
        _reap(get_executor(ContainerExecutor.name, executor_config()))
