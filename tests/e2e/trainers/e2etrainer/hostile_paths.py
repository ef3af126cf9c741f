"""A hostile trainer that plants traps for the root worker in what it may write, then reports
a metric as an honest trainer would (unless its trap took the metric file's place):

- ``--mode plant --target DIR``: a link ``<job-dir>/1 -> DIR``, for a later job whose jobDir
  is this trial's own folder (its trial 1 would then be DIR);
- ``--mode fifo``: a FIFO where cloudml-hypertune writes the metric (CLOUD_ML_HP_METRIC_FILE);
- ``--mode metric-link --target FILE``: that file, a link to FILE (root-only, say);
- ``--mode probe-jobdir``: writes ``probe.txt`` into its job dir and a subfolder, to show who
  can read what a trial writes there."""

import argparse
import os
import time
from pathlib import Path

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir", required=True)
p.add_argument("--mode", required=True)
p.add_argument("--target", default="")
p.add_argument("--x", type=float, default=0.0)
a = p.parse_args()
metric_file = os.environ["CLOUD_ML_HP_METRIC_FILE"]
Path(metric_file).parent.mkdir(parents=True, exist_ok=True)

if a.mode == "plant":
    os.symlink(a.target, Path(a.job_dir, "1"))
elif a.mode == "fifo":
    os.mkfifo(metric_file)
    time.sleep(1)
    raise SystemExit(0)
elif a.mode == "metric-link":
    os.symlink(a.target, metric_file)
    time.sleep(1)
    raise SystemExit(0)
elif a.mode == "probe-jobdir":
    Path(a.job_dir, "probe.txt").write_text("checkpoint")
    Path(a.job_dir, "sub").mkdir()
    Path(a.job_dir, "sub", "model.bin").write_text("weights")

hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=a.x, global_step=1)
