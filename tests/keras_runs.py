"""The real-TF fixture (``tests/e2e/trainers/e2etrainer/keras_runs``, made by its
``generate.py`` with TensorFlow's Keras TensorBoard callback), importable as ``keras_runs``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

KERAS_RUNS = Path(__file__).resolve().parent / "e2e" / "trainers" / "e2etrainer" / "keras_runs"


def keras_expected(run: str) -> list[tuple[int, float]]:
    """(epoch, epoch_accuracy) as Keras reported them for ``run``, rounded to the float32 that
    TF stores (hpdash reads float32 as its shortest decimal)."""
    values = json.loads((KERAS_RUNS / "expected.json").read_text())[run]["epoch_accuracy"]
    return [(step, float(str(np.float32(v)))) for step, v in enumerate(values)]
