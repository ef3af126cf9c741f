"""Example trainer for the seed's configuration (hidden1, numRnnCells, rnnCellType → metric1).

There is no RNN here: scikit-learn's MLPClassifier on the bundled digits data stands in, with
``hidden1`` units per layer, ``numRnnCells`` layers, and the cell type choosing the activation.
It reports validation accuracy as ``metric1`` after every epoch with ``cloudml-hypertune``,
exactly as the seed's trainers do.
"""

from __future__ import annotations

import argparse
import warnings

import hypertune
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

ACTIVATION = {"BasicLSTMCell": "tanh", "BasicRNNCell": "tanh", "GRUCell": "logistic",
              "LSTMCell": "relu", "LayerNormBasicLSTMCell": "relu"}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--hidden1", type=int, default=100)
    p.add_argument("--numRnnCells", type=int, default=1)
    p.add_argument("--rnnCellType", default="LSTMCell", choices=sorted(ACTIVATION))
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--job-dir", default="")
    a = p.parse_args()
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=0.3, random_state=0)
    model = MLPClassifier(hidden_layer_sizes=(a.hidden1,) * a.numRnnCells,
                          activation=ACTIVATION[a.rnnCellType], random_state=0)
    reporter = hypertune.HyperTune()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(1, a.epochs + 1):
            model.partial_fit(x_tr, y_tr, classes=np.arange(10))
            reporter.report_hyperparameter_tuning_metric(
                hyperparameter_metric_tag="metric1", metric_value=model.score(x_val, y_val),
                global_step=epoch)


if __name__ == "__main__":
    main()
