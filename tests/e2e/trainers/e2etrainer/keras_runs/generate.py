"""Writes the event files in this folder with real TensorFlow and the stock Keras TensorBoard
callback: what ``model.fit(..., callbacks=[TensorBoard(job_dir)])`` leaves in a trial's job dir.

They are hpdash's evidence of what TF really writes: Keras 3 puts ``<job-dir>/train/`` and
``<job-dir>/validation/`` side by side, both with the tag ``epoch_accuracy`` (TF2 tensor
scalars, not ``simple_value``).  ``expected.json`` records the per-epoch values Keras reported
(``history``), which the tests compare with what hpdash reads back.

TensorFlow is *not* a dependency of hpdash, nor needed by its tests or CI: regenerate in a
throwaway virtualenv outside the repository, e.g.::

    /usr/bin/python3.11 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu tensorboard  # tf.summary needs tensorboard
    /tmp/tfvenv/bin/python tests/e2e/trainers/e2etrainer/keras_runs/generate.py

It replaces ``train/``, ``validation/`` and ``expected.json`` here (a few KB in all).  The
trainer ``e2etrainer.keras_replay`` copies them into a trial's job dir.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS = 4


def main() -> None:
    for run in ("train", "validation"):
        shutil.rmtree(os.path.join(HERE, run), ignore_errors=True)
    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")
    model = tf.keras.Sequential([tf.keras.Input(shape=(4,)),
                                 tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    board = tf.keras.callbacks.TensorBoard(HERE, histogram_freq=0, write_graph=False,
                                           update_freq="epoch")
    history = model.fit(x, y, epochs=EPOCHS, batch_size=32, validation_split=0.25, verbose=0,
                        callbacks=[board])
    expected = {
        "tensorflow": tf.__version__, "keras": tf.keras.__version__,
        "python": sys.version.split()[0],
        "train": {"epoch_accuracy": [float(v) for v in history.history["accuracy"]]},
        "validation": {"epoch_accuracy": [float(v) for v in history.history["val_accuracy"]]},
    }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    for root, _, files in os.walk(HERE):
        for name in files:
            print(os.path.relpath(os.path.join(root, name), HERE),
                  os.path.getsize(os.path.join(root, name)))


if __name__ == "__main__":
    main()
