"""A learning curve: value(t) = quality * (1 - exp(-t / 4)) for t = 1..steps."""

import argparse
import math
import time

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--quality", type=float, required=True)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--step-sleep", type=float, default=0.05)
a = p.parse_args()
h = hypertune.HyperTune()
for t in range(1, a.steps + 1):
    time.sleep(a.step_sleep)
    h.report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag="score", metric_value=a.quality * (1 - math.exp(-t / 4)),
        global_step=t)
