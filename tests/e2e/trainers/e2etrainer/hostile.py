"""A hostile trainer: tries to reach what a sandboxed trainer must not, records what it
managed in <job-dir>/attempts.json, leaves a setsid() grandchild behind, and reports a metric
as an honest trainer would (so the job still succeeds)."""

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--job-dir", required=True)
p.add_argument("--x", type=float, default=0.0)
a = p.parse_args()
here = Path.cwd()  # <data>/sandbox/<project>/<job>/trials/<id>
data = here.parents[4]
managed: dict[str, bool] = {}


def attempt(name, action):
    try:
        action()
        managed[name] = True
    except Exception:  # noqa: BLE001 - any failure means it was kept out
        managed[name] = False


def read(path):
    return lambda: Path(path).read_bytes()


attempt("read the database", read(data / "hpdash.sqlite3"))
attempt("read the secret key", read(data / "secret_key"))
attempt("read the Redis password", read(data / "redis" / "password"))
attempt("read the Redis config", read(data / "redis" / "redis.conf"))
attempt("list the data dir", lambda: os.listdir(data))
attempt("list the jobs' logs", lambda: os.listdir(data / "jobs"))
attempt("list the uploads", lambda: os.listdir(data / "uploads"))
attempt("read another trial's log", read(data / "jobs" / "hostile" / "hostile_1" / "trials" / "1"
                                         / "trainer.log"))
attempt("write into the data dir", lambda: (data / "planted").write_text("x"))
attempt("read the worker's environment", read(f"/proc/{os.getppid()}/environ"))
attempt("signal the worker", lambda: os.kill(os.getppid(), 0))


def connect_redis():
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(data / "redis" / "redis.sock"))
    s.sendall(b"PING\r\n")
    if not s.recv(64).startswith(b"+PONG"):
        raise PermissionError("no PONG")


attempt("talk to Redis", connect_redis)
# Sanity: what the trainer must be able to do.
(here / "scratch.txt").write_text("mine")
leftover = subprocess.Popen([sys.executable, "-c", (
    "import os, sys, time\n"
    "if os.fork(): sys.exit(0)\n"  # orphaned at once, in a session of its own
    "os.setsid()\n"
    f"open({str(Path(a.job_dir) / 'grandchild.pid')!r}, 'w').write(str(os.getpid()))\n"
    "time.sleep(300)\n")])
leftover.wait()
Path(a.job_dir, "attempts.json").write_text(json.dumps({
    "managed": managed, "uid": os.getuid(), "home": os.environ.get("HOME"),
    "env_secrets": sorted(k for k in os.environ
                          if k in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")
                          or k.startswith("HPDASH_"))}))
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=a.x, global_step=1)
