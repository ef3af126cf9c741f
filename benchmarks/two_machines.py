"""Scale-out throughput (issue 20): the same job on one worker machine and on two, trials a
minute, no-op trainer (``tests/e2e/trainers/e2etrainer/noop.py``).

The main machine is ``manage.py serve`` (``make run``) on PostgreSQL and a password-protected
Redis with ``--workers`` workers.  The second machine is a network namespace of its own joined
by a veth pair, running ``make worker`` (``manage.py workers``) with the same number of
workers, its own data dir and nothing of the main machine's but its addresses
(``tests/e2e/netns.py``).  Each round runs the job once with the second machine stopped and
once with it up (in alternating order); a cell's rate is maxTrials over the job's own
``startTime`` to ``endTime``, so the machines' start-up is left out.  Both "machines" share
this machine's cores: the second one adds workers, not CPUs.

    E2E_DATABASE_URL=postgres://… .venv/bin/python benchmarks/two_machines.py [--quick]
        [--trials N] [--rounds R] [--workers W]

Needs root, ``ip netns`` and PostgreSQL (E2E_DATABASE_URL, as .ci/run sets it); says why and
writes nothing without them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import report  # benchmarks/report.py: the scripts run with benchmarks/ on sys.path

ROOT = Path(__file__).resolve().parents[1]
HYPER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "algorithm": "RANDOM_SEARCH",
         "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


def _rfc3339(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_job(stack: Any, job_id: str, trials: int, parallel: int) -> float:
    """Trials a minute of one no-op job, from its startTime to its endTime."""
    from harness import trainer_job, wait_for_state

    ml = stack.ml()
    body = trainer_job(job_id, "e2etrainer.noop", {**HYPER, "maxTrials": trials,
                                                  "maxParallelTrials": parallel})
    ml.projects().jobs().create(parent="projects/bench", body=body).execute()
    job = wait_for_state(ml, f"projects/bench/jobs/{job_id}", timeout=600)
    if job["state"] != "SUCCEEDED":
        raise RuntimeError(f"{job_id} ended {job['state']}: {job.get('errorMessage')}")
    seconds = _rfc3339(job["endTime"]) - _rfc3339(job["startTime"])
    return trials / seconds * 60


def measure(trials: int, rounds: int, workers: int) -> dict[str, list[float]]:
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from harness import running_stack
    from netns import Link, start_redis, worker_machine

    rates: dict[str, list[float]] = {"1 machine": [], "2 machines": []}
    root = Path(tempfile.mkdtemp(prefix="hpdash-two-bench-"))
    root.chmod(0o711)  # the trial user passes through to both machines' sandboxes
    link = Link.make()
    redis = None
    try:
        redis, port = start_redis(root, link)
        with running_stack(root / "main", workers=workers, HPDASH_HOST="0.0.0.0",
                           HPDASH_ALLOWED_HOSTS=f"127.0.0.1,localhost,{link.host}",
                           REDIS_URL=f"redis://:s3cret@127.0.0.1:{port}/0") as stack:
            run_job(stack, "warmup", 2 * workers, workers)
            for r in range(rounds):
                order = ["1 machine", "2 machines"][:: 1 if r % 2 == 0 else -1]
                for cell in order:
                    job_id = f"r{r}_{cell[0]}"
                    if cell == "1 machine":
                        rate = run_job(stack, job_id, trials, 2 * workers)
                    else:
                        with worker_machine(stack, link, root / "second", workers=workers,
                                            redis_url=f"redis://:s3cret@{link.host}:{port}/0"):
                            rate = run_job(stack, job_id, trials, 2 * workers)
                    rates[cell].append(rate)
                    print(f"round {r + 1}/{rounds} {cell}: {rate:.0f} trials/min", flush=True)
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)
        link.remove()
        shutil.rmtree(root, ignore_errors=True)
    return rates


def render(rates: dict[str, list[float]], trials: int, workers: int, seconds: float) -> str:
    med = {cell: statistics.median(v) for cell, v in rates.items()}
    rounds = len(rates["1 machine"])
    lines = ["## Scale-out: one machine and two", "",
             f"The same no-op job (`e2etrainer.noop`, {trials} trials, maxParallelTrials "
             f"{2 * workers}, `RANDOM_SEARCH`) through `manage.py serve` on PostgreSQL with "
             f"{workers} workers, then with a second machine's `make worker` ({workers} more) "
             "in a network namespace of its own (its own data dir; the package fetched from "
             "the server; `benchmarks/two_machines.py`). Trials a minute from the job's "
             f"startTime to its endTime, median of {rounds} interleaved rounds. Both machines "
             "share this machine's 2 cores.", "",
             "| cell | workers | trials/min (median) | min | max |",
             "|---|---:|---:|---:|---:|"]
    for cell, values in rates.items():
        n = workers * (2 if cell.startswith("2") else 1)
        lines.append(f"| {cell} | {n} | **{med[cell]:.0f}** | {min(values):.0f} | "
                     f"{max(values):.0f} |")
    lines += ["", f"Two machines ÷ one: **{med['2 machines'] / med['1 machine']:.2f}×** "
              "(issue 20's reference on its machine: 177 trials/min with 2 workers, 264–374 "
              "with 2 + 2 on two machines)."]
    return "\n".join(lines) + "\n" + report.footer(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 12 trials")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="per machine")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from netns import netns_problem

    why = netns_problem() or (None if os.environ.get("E2E_DATABASE_URL") else
                              "needs PostgreSQL: set E2E_DATABASE_URL")
    if why:
        print(f"two_machines: {why}; skipped")
        return report.SKIPPED
    began = time.monotonic()
    trials, rounds = (12, 1) if args.quick else (args.trials, args.rounds)
    rates = measure(trials, rounds, args.workers)
    text = render(rates, trials, args.workers, time.monotonic() - began)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "two_machines.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
