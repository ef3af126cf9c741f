"""A trainer that takes memory until something stops it (at most 4 GiB, touching every page),
then would report a metric."""

import argparse

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir")
p.add_argument("--x", type=float, default=0.0)
a = p.parse_args()
held = []
for _ in range(64):
    held.append(bytearray(64 * 2**20))  # zeroed: every page is touched
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=a.x, global_step=1)
