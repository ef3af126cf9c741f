"""Test trainer: prints a numbered line and reports the metric every --interval seconds."""

import argparse
import time

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--x", type=float, default=0.0)
p.add_argument("--y", type=float, default=0.0)
p.add_argument("--lines", type=int, default=40)
p.add_argument("--interval", type=float, default=0.5)
a = p.parse_args()
h = hypertune.HyperTune()
for i in range(1, a.lines + 1):
    print(f"chatty line {i}", flush=True)
    h.report_hyperparameter_tuning_metric(hyperparameter_metric_tag="score",
                                          metric_value=a.x + i / 1000, global_step=i)
    time.sleep(a.interval)
