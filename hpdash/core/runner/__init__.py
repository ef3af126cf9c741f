"""Runs one trial of a user's trainer: argv and environment, packages, process, metrics, logs.

Plain Python, no Django: the worker (:mod:`hpdash.worker.trial_runner`) picks an executor
(:mod:`hpdash.core.runner.executors`), builds a :class:`TrialPlan`, drives the executor through
the attempt and stores what it reports.
"""

from .command import build_argv, build_env
from .executor import (
    Executor,
    ExecutorConfig,
    Handle,
    ImageNotHere,
    Leftover,
    PrepareError,
    PrepareStopped,
    Runtime,
)
from .metrics import HypertuneFollower, Measurement
from .packages import PackageError, stage_packages
from .plan import Placement, TrialPlan, plan_trial
from .process import ExitStatus, ProcessOutcome, RunAs

__all__ = [
    "Executor",
    "ExecutorConfig",
    "ExitStatus",
    "Handle",
    "HypertuneFollower",
    "ImageNotHere",
    "Leftover",
    "Measurement",
    "PackageError",
    "Placement",
    "PrepareError",
    "PrepareStopped",
    "ProcessOutcome",
    "RunAs",
    "Runtime",
    "TrialPlan",
    "build_argv",
    "build_env",
    "plan_trial",
    "stage_packages",
]
