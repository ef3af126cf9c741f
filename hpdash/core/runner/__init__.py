"""Runs one trial of a user's trainer: argv and environment, packages, process, metrics, logs.

Plain Python, no Django: the worker (:mod:`hpdash.worker.trial_runner`) builds a
:class:`TrialPlan`, drives the process through callbacks and stores what it reports.
"""

from .command import build_argv, build_env
from .metrics import HypertuneFollower, Measurement
from .packages import PackageError, stage_packages
from .plan import Placement, TrialPlan, plan_trial
from .process import ProcessOptions, ProcessOutcome, RunAs, run_process

__all__ = [
    "HypertuneFollower",
    "Measurement",
    "PackageError",
    "Placement",
    "ProcessOptions",
    "ProcessOutcome",
    "RunAs",
    "TrialPlan",
    "build_argv",
    "build_env",
    "plan_trial",
    "run_process",
    "stage_packages",
]
