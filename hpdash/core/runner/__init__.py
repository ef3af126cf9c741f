"""Runs one trial of a user's trainer: argv and environment, packages, process, metrics, logs.

Plain Python, no Django: the worker-side service (:mod:`hpdash.services`) drives it through
callbacks and stores what it reports.
"""

from .command import build_argv, build_env
from .metrics import HypertuneFollower, Measurement
from .packages import PackageError, stage_packages
from .process import ProcessOutcome, run_process

__all__ = [
    "HypertuneFollower",
    "Measurement",
    "PackageError",
    "ProcessOutcome",
    "build_argv",
    "build_env",
    "run_process",
    "stage_packages",
]
