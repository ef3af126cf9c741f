"""Example trainer: scikit-learn's MLPClassifier on the digits data bundled with scikit-learn.

Reads its hyperparameters as ``--name=value`` flags (exactly as AI Platform passed them),
trains for ``--epochs`` epochs and reports the validation accuracy after every epoch through
``cloudml-hypertune`` under the tag ``accuracy`` (the job's ``hyperparameterMetricTag``).
Run it by hand with ``python -m trainer.task --hidden-units=32`` from ``examples/mlp_digits``.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings

import hypertune
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--job-dir", default="")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--hidden-units", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--alpha", type=float, default=1e-4)
    p.add_argument("--activation", default="relu", choices=["relu", "tanh", "logistic"])
    return p.parse_args()


def main() -> None:
    args = parse_args()
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    model = MLPClassifier(
        hidden_layer_sizes=(args.hidden_units,), learning_rate_init=args.learning_rate,
        alpha=args.alpha, activation=args.activation, random_state=0, batch_size=64,
    )
    reporter = hypertune.HyperTune()
    classes = np.unique(y)
    accuracy = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(1, args.epochs + 1):
            model.partial_fit(x_train, y_train, classes=classes)
            accuracy = float(model.score(x_val, y_val))
            reporter.report_hyperparameter_tuning_metric(
                hyperparameter_metric_tag="accuracy", metric_value=accuracy, global_step=epoch)
            print(f"epoch {epoch}: accuracy={accuracy:.4f}", flush=True)
    if args.job_dir:
        os.makedirs(args.job_dir, exist_ok=True)
        with open(os.path.join(args.job_dir, "result.json"), "w") as f:
            json.dump({"accuracy": accuracy, **vars(args)}, f)


if __name__ == "__main__":
    main()
