"""The LCBench learning curves of ``../shared/data/lcbench/curves.csv.gz`` (YAHPO Gym's surrogate
of Zimmer et al. 2021): 8 OpenML tasks x 200 random configurations x 52 epochs of validation
accuracy (percent).  Read with the standard library only; see that folder's README.

The tasks are split once, before any rule was tuned, into a **tuning** half (the only curves
any constant of a stopping rule was chosen on) and a **held-out** half (reported, never tuned on).
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The shared data folder sits next to the repository (or its worktree) on this machine.
DEFAULT_DIR = Path("/work/shared/data/lcbench")
TUNING_TASKS = ("3945", "34539", "146212", "168330")
HELDOUT_TASKS = ("7593", "126025", "167104", "189906")
PARAMS = ("batch_size", "learning_rate", "momentum", "weight_decay", "num_layers", "max_units",
          "max_dropout")

# AI Platform ParameterSpecs of LCBench's search space (config_space.json), for the suggester.
SPEC_PARAMS: list[dict[str, Any]] = [
    {"parameterName": "batch_size", "type": "INTEGER", "minValue": 16, "maxValue": 512,
     "scaleType": "UNIT_LOG_SCALE"},
    {"parameterName": "learning_rate", "type": "DOUBLE", "minValue": 1e-4, "maxValue": 0.1,
     "scaleType": "UNIT_LOG_SCALE"},
    {"parameterName": "momentum", "type": "DOUBLE", "minValue": 0.1, "maxValue": 0.99,
     "scaleType": "UNIT_LINEAR_SCALE"},
    {"parameterName": "weight_decay", "type": "DOUBLE", "minValue": 1e-5, "maxValue": 0.1,
     "scaleType": "UNIT_LINEAR_SCALE"},
    {"parameterName": "num_layers", "type": "INTEGER", "minValue": 1, "maxValue": 5,
     "scaleType": "UNIT_LINEAR_SCALE"},
    {"parameterName": "max_units", "type": "INTEGER", "minValue": 64, "maxValue": 1024,
     "scaleType": "UNIT_LOG_SCALE"},
    {"parameterName": "max_dropout", "type": "DOUBLE", "minValue": 0.0, "maxValue": 1.0,
     "scaleType": "UNIT_LINEAR_SCALE"},
]


@dataclass(frozen=True)
class Task:
    task: str
    configs: list[dict[str, float]]  # config i's hyperparameters
    curves: list[list[float]]  # config i's validation accuracy (%) after epochs 1..52


def data_dir() -> Path:
    return Path(os.environ.get("HPDASH_LCBENCH_DIR", str(DEFAULT_DIR)))


def available() -> bool:
    return (data_dir() / "curves.csv.gz").exists()


@cache
def load() -> dict[str, Task]:
    """Every task's configurations and curves, by OpenML task id."""
    rows: dict[str, dict[int, tuple[dict[str, float], dict[int, float]]]] = {}
    with gzip.open(data_dir() / "curves.csv.gz", "rt", newline="") as f:
        for r in csv.DictReader(f):
            by_config = rows.setdefault(r["task"], {})
            _cfg, curve = by_config.setdefault(
                int(r["config"]), ({p: float(r[p]) for p in PARAMS}, {}))
            curve[int(r["epoch"])] = float(r["val_accuracy"])
    out = {}
    for task, by_config in rows.items():
        ids = sorted(by_config)
        out[task] = Task(task, [by_config[i][0] for i in ids],
                         [[c[e] for e in sorted(c)] for _, c in (by_config[i] for i in ids)])
    return out
