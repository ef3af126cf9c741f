"""Another project's trial, running while a hostile one looks for it: says it started (in its
job dir), waits there for the test's "release" file, then reports score 0.25."""

import argparse
import time
from pathlib import Path

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir", required=True)
p.add_argument("--x", type=float, default=0.0)
a = p.parse_args()
out = Path(a.job_dir)
(out / "started").write_text("yes")
deadline = time.monotonic() + 120
while not (out / "release").exists() and time.monotonic() < deadline:
    time.sleep(0.1)
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=0.25, global_step=1)
