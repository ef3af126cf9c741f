"""Test trainer: reports -(x-0.3)^2 - (y-0.7)^2 a few times, records when it ran."""

import argparse
import json
import os
import time
import uuid

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir", default="")
p.add_argument("--x", type=float, default=0.0)
p.add_argument("--y", type=float, default=0.0)
p.add_argument("--sleep", type=float, default=0.0)
p.add_argument("--steps", type=int, default=3)
a = p.parse_args()
start = time.time()
if a.job_dir:
    os.makedirs(a.job_dir, exist_ok=True)
    # One file per attempt: a boxed trainer's pid is its box's, the same in every attempt.
    with open(os.path.join(a.job_dir, f"pid.{uuid.uuid4().hex[:12]}"), "w") as f:
        f.write(str(os.getpid()))
h = hypertune.HyperTune()
value = -((a.x - 0.3) ** 2) - (a.y - 0.7) ** 2
for step in range(1, a.steps + 1):
    time.sleep(a.sleep / a.steps)
    h.report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag="score", metric_value=value - 1.0 / step, global_step=step)
h.report_hyperparameter_tuning_metric(hyperparameter_metric_tag="score", metric_value=value,
                                      global_step=a.steps * 10)
print(f"quadratic: final value {value:.6f}", flush=True)
if a.job_dir:
    os.makedirs(a.job_dir, exist_ok=True)
    with open(os.path.join(a.job_dir, "run.json"), "w") as f:
        json.dump({"start": start, "end": time.time(), "worker_pid": os.getppid(),
                   "cwd": os.getcwd(), "env": {
            k: v for k, v in os.environ.items()
            if k.startswith(("CLOUD_ML", "TF_CONFIG", "CUDA_VISIBLE_DEVICES"))}}, f)
