"""Tries to open a TCP connection to --host:--port (the service's web port) and reports 1.0 if
it could, 0.0 if not."""

import argparse
import socket

import hypertune

p = argparse.ArgumentParser()
p.add_argument("--host", required=True)
p.add_argument("--port", type=int, required=True)
p.add_argument("--x", type=float, default=0.0)
a, _ = p.parse_known_args()
try:
    socket.create_connection((a.host, a.port), timeout=5).close()
    reached = 1.0
except OSError as exc:
    print("cannot connect:", exc)
    reached = 0.0
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=reached, global_step=1)
