"""Ignores SIGTERM, forks a child that ignores it too, records both pids, then sleeps."""

import argparse
import os
import signal
import subprocess
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--job-dir", required=True)
p.add_argument("--x", type=float, default=0)
p.add_argument("--y", type=float, default=0)
a = p.parse_args()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                          "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
os.makedirs(a.job_dir, exist_ok=True)
with open(os.path.join(a.job_dir, "pids"), "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
time.sleep(600)
