"""Fails with exit code 3 when --x < 0.5, else reports x."""

import argparse
import sys

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--x", type=float, required=True)
a = p.parse_args()
if a.x < 0.5:
    print(f"x={a.x} is too small", file=sys.stderr)
    sys.exit(3)
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=a.x, global_step=1)
