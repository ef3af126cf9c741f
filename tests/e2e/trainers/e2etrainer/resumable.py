"""Test trainer that checkpoints: after each step it saves the step reached in
``<job-dir>/ckpt.json`` (written whole, then renamed), and on start resumes after it, as a
Keras ``BackupAndRestore`` callback does.  Reports ``score = x - 1/step`` each step."""

import argparse
import json
import os
import time
import uuid

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir", required=True)
p.add_argument("--x", type=float, default=0.0)
p.add_argument("--y", type=float, default=0.0)
p.add_argument("--steps", type=int, default=30)
p.add_argument("--step-time", type=float, default=0.3)
a = p.parse_args()
os.makedirs(a.job_dir, exist_ok=True)
ckpt = os.path.join(a.job_dir, "ckpt.json")
done = json.load(open(ckpt))["step"] if os.path.exists(ckpt) else 0
print(f"resumable: starting after step {done}", flush=True)
with open(os.path.join(a.job_dir, "starts.txt"), "a") as f:
    f.write(f"{done}\n")
# One file per attempt, as e2etrainer.quadratic writes (harness.trainer_pids reads them).
with open(os.path.join(a.job_dir, f"pid.{uuid.uuid4().hex[:12]}"), "w") as f:
    f.write(str(os.getpid()))
h = hypertune.HyperTune()
for step in range(done + 1, a.steps + 1):
    time.sleep(a.step_time)
    h.report_hyperparameter_tuning_metric(hyperparameter_metric_tag="score",
                                          metric_value=a.x - 1.0 / step, global_step=step)
    with open(ckpt + ".tmp", "w") as f:
        json.dump({"step": step}, f)
    os.replace(ckpt + ".tmp", ckpt)
