"""A fork bomb, bounded so that it cannot take a machine without limits down: forks up to 400
sleeping children, counts how many it got, records that in <job-dir>/forks.txt and reports
the count as its metric."""

import argparse
import os
import time
from pathlib import Path

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir", required=True)
p.add_argument("--x", type=float, default=0.0)
a = p.parse_args()
forked = 0
for _ in range(400):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    forked += 1
Path(a.job_dir, "forks.txt").write_text(str(forked))
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=float(forked), global_step=1)
