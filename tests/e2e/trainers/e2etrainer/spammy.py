"""Writes ~5 MB to stdout, then reports its metric."""

import sys

import hypertune

for i in range(50_000):
    sys.stdout.write(f"line {i} " + "x" * 90 + "\n")
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=1.0, global_step=1)
