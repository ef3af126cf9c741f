"""A trainer in the layout of Google's census sample (cloudml-samples/census), runnable here.

Same flags (``--first-layer-size``, ``--num-layers``, ``--scale-factor``, ``--train-steps``,
``--eval-steps``, ``--job-dir``) and the same reporting as the census Estimator: an ``accuracy``
scalar summary written at evaluation time under ``<job-dir>/eval_census-eval/``.  The census
data is not bundled with scikit-learn, so the bundled breast-cancer data set stands in (a binary
classification like census income); layer sizes shrink by ``scale-factor`` per layer, as in
the sample: ``max(2, int(first_layer_size * scale_factor**i))``.  The census config file is
``examples/census/hptuning_config.yaml``, verbatim from the sample.
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from hpdash.trainer.summary import ScalarWriter


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--job-dir", required=True)
    p.add_argument("--first-layer-size", type=int, default=100)
    p.add_argument("--num-layers", type=int, default=4)
    p.add_argument("--scale-factor", type=float, default=0.7)
    p.add_argument("--train-steps", type=int, default=10)
    p.add_argument("--eval-steps", type=int, default=2, help="evaluate every N train steps")
    a = p.parse_args()
    sizes = [max(2, int(a.first_layer_size * a.scale_factor ** i)) for i in range(a.num_layers)]
    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_ev, y_tr, y_ev = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_ev = scaler.transform(x_tr), scaler.transform(x_ev)
    model = MLPClassifier(hidden_layer_sizes=tuple(sizes), random_state=0)
    evaluation = ScalarWriter(os.path.join(a.job_dir, "eval_census-eval"), tf1=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for step in range(1, a.train_steps + 1):
            model.partial_fit(x_tr, y_tr, classes=np.array([0, 1]))
            if step % a.eval_steps == 0 or step == a.train_steps:
                evaluation.scalar("accuracy", float(model.score(x_ev, y_ev)), step)
    evaluation.close()


if __name__ == "__main__":
    main()
