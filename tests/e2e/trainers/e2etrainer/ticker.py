"""Test trainer: one run reports one value, its own random number, at every step, so that
every measurement of a trial tells which trainer run wrote it."""

import argparse
import os
import random
import time

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir", default="")
p.add_argument("--x", type=float, default=0.0)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--sleep", type=float, default=0.5)  # per step
a = p.parse_args()
run = random.random()
h = hypertune.HyperTune()
print(f"ticker: run {run!r} pid {os.getpid()}", flush=True)
for step in range(1, a.steps + 1):
    time.sleep(a.sleep)
    h.report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag="score", metric_value=run, global_step=step)
print(f"ticker: run {run!r} done", flush=True)
