"""A Keras-style trainer that reports its metric only through TensorFlow summaries.

Like ``model.fit(..., callbacks=[tf.keras.callbacks.TensorBoard(job_dir)])``, it writes
``epoch_loss`` to ``<job-dir>/train`` and ``epoch_accuracy`` to ``<job-dir>/validation`` after
every epoch.  It never imports ``hypertune``: hpdash reads the event files (set
``hyperparameterMetricTag: epoch_accuracy``).  The model is scikit-learn's SGDClassifier on the
bundled digits data, trained epoch by epoch; TensorFlow is not needed.  ``--tf1`` writes the TF1
``simple_value`` form instead of TF2 tensors.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from hpdash.trainer.summary import ScalarWriter


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--job-dir", required=True)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--alpha", type=float, default=1e-4)
    p.add_argument("--tf1", action="store_true")
    a = p.parse_args()
    x, y = load_digits(return_X_y=True)
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_val = scaler.transform(x_tr), scaler.transform(x_val)
    model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=a.learning_rate,
                          alpha=a.alpha, random_state=0)
    train = ScalarWriter(os.path.join(a.job_dir, "train"), tf1=a.tf1)
    validation = ScalarWriter(os.path.join(a.job_dir, "validation"), tf1=a.tf1)
    classes = np.unique(y)
    for epoch in range(a.epochs):
        model.partial_fit(x_tr, y_tr, classes=classes)
        train.scalar("epoch_loss", float(log_loss(y_tr, model.predict_proba(x_tr))), epoch)
        validation.scalar("epoch_accuracy", float(model.score(x_val, y_val)), epoch)
    train.close()
    validation.close()


if __name__ == "__main__":
    main()
