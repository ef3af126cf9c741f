"""Load: many concurrent API clients, and many jobs at once on few workers, against
``manage.py serve`` (what ``make run`` starts: gunicorn, embedded Redis, RQ workers, SQLite).

    .venv/bin/python benchmarks/load.py [--quick] [--clients 50] [--seconds 60]

1. ``--clients`` API clients (threads, each with its own keep-alive HTTP connection to
   127.0.0.1) for ``--seconds``: each creates jobs (the ``noop`` trainer, 1 or 2 trials),
   polls its own jobs with ``get`` and lists the project (newest first, and filtered by its own
   job ids).  Then every created job must be found by ``get`` and ``list`` and reach SUCCEEDED
   with exactly its ``maxTrials`` trials.
2. 20 jobs created at once on 2 workers (the ``quadratic`` trainer, ``--sleep=0.4``): every job
   SUCCEEDED with exactly ``maxTrials`` trials, and never more than ``maxParallelTrials`` of a
   job running at once (from the trials' ``startTime``/``endTime`` in the API's answer).

Writes ``benchmarks/results/load.md`` (a ``## Load`` section).  ``tests/load/test_load.py`` runs
the same functions under ``pytest -m load`` and asserts on what they return.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import Stack, running_stack, trainer_job  # noqa: E402

PROJECT = "load"
WORKERS = 2  # the stack's RQ workers, here and in tests/load
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
HYPER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "algorithm": "RANDOM_SEARCH",
         "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1},
                    {"parameterName": "y", "type": "DOUBLE", "minValue": 0.01, "maxValue": 1}]}
OPERATIONS = ("create", "get", "list", "list_filter")


# ---------------------------------------------------------------------------------------------
# An API client: one keep-alive connection, JSON in and out, every call timed.


class ApiError(Exception):
    pass


class ApiClient:
    def __init__(self, url: str, token: str, timeout: float = 60) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.hostname != "127.0.0.1":
            raise ValueError(f"load is only ever sent to 127.0.0.1, not {parts.hostname}")
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        payload = None if body is None else json.dumps(body).encode()
        for attempt in range(2):
            fresh = self.conn is None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=payload, headers=self.headers)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                # The server may close a keep-alive connection that sat idle: the request never
                # reached a worker, so send it again once, on a new connection.
                if fresh or attempt:
                    raise
                self.reconnects += 1
                continue
            if resp.will_close:
                self.close()
            try:
                return resp.status, json.loads(data) if data else None
            except ValueError as exc:
                raise ApiError(f"{resp.status}: not JSON: {data[:200]!r}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Sample:
    op: str
    seconds: float
    status: int  # 0: no HTTP answer at all
    error: str = ""


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, op: str, api: ApiClient, method: str, path: str, body: Any = None
              ) -> tuple[int, Any]:
        t = time.perf_counter()
        try:
            status, body = api.call(method, path, body)
        except Exception as exc:
            sample = Sample(op, time.perf_counter() - t, 0, f"{type(exc).__name__}: {exc}")
            with self.lock:
                self.samples.append(sample)
            return 0, None
        error = "" if 200 <= status < 300 else json.dumps(body)[:300]
        with self.lock:
            self.samples.append(Sample(op, time.perf_counter() - t, status, error))
        return status, body


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        v = values[0] if values else float("nan")
        return v, v, v
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94], q[98]


# ---------------------------------------------------------------------------------------------
# 1. Concurrent clients


@dataclass
class ClientsResult:
    clients: int
    seconds: float
    samples: list[Sample]
    jobs: dict[str, int]  # jobId -> maxTrials, every job a create answered 200 for
    final: dict[str, dict[str, Any]]  # jobId -> the job as get returned it at the end
    listed: set[str]
    drain_seconds: float
    reconnects: int
    problems: list[str]
    load_average: float  # the machine's 1-minute load average when the clients started

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 0 or not 200 <= s.status < 300]


def _job_body(job_id: str, max_trials: int) -> dict[str, Any]:
    return trainer_job(job_id, "e2etrainer.noop",
                       {**HYPER, "maxTrials": max_trials, "maxParallelTrials": 2})


def _client(i: int, api: ApiClient, rec: Recorder, start: float, seconds: float,
            creates: int, think: float, jobs: dict[str, int], problems: list[str]) -> None:
    rng = random.Random(i)
    base = f"/v1/projects/{PROJECT}/jobs"
    # Creates spread over the first 60% of the run, staggered between clients.
    due = [start + (k + (i % 10) / 10) * (0.6 * seconds / creates) for k in range(creates)]
    mine: list[str] = []
    try:
        while time.monotonic() < start + seconds:
            if due and time.monotonic() >= due[0]:
                due.pop(0)
                job_id = f"c{i:02d}_{len(mine)}"
                max_trials = 1 + (i + len(mine)) % 2
                status, body = rec.timed("create", api, "POST", base,
                                         _job_body(job_id, max_trials))
                if status == 200:
                    jobs[job_id] = max_trials
                    mine.append(job_id)
                    if body.get("jobId") != job_id:
                        problems.append(f"create {job_id} answered {body.get('jobId')}")
            else:
                r = rng.random()
                if mine and r < 0.6:
                    job_id = rng.choice(mine)
                    status, body = rec.timed("get", api, "GET", f"{base}/{job_id}")
                    if status == 200 and body.get("jobId") != job_id:
                        problems.append(f"get {job_id} answered {body.get('jobId')}")
                elif r < 0.85:
                    rec.timed("list", api, "GET", f"{base}?pageSize=20")
                else:
                    query = urllib.parse.urlencode({"filter": f"jobId:c{i:02d}_*",
                                                    "pageSize": "20"})
                    status, body = rec.timed("list_filter", api, "GET", f"{base}?{query}")
                    if status == 200:
                        got = {j["jobId"] for j in (body or {}).get("jobs", [])}
                        if not set(mine) <= got:
                            problems.append(f"client {i}: list_filter misses "
                                            f"{sorted(set(mine) - got)}")
            time.sleep(think * rng.uniform(0.5, 1.5))
    finally:
        api.close()


def list_all(api: ApiClient) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    token = ""
    while True:
        query = urllib.parse.urlencode({"pageSize": "100", **({"pageToken": token} if token
                                                              else {})})
        status, body = api.call("GET", f"/v1/projects/{PROJECT}/jobs?{query}")
        if status != 200:
            raise ApiError(f"list answered {status}: {body}")
        for job in (body or {}).get("jobs", []):
            found[job["jobId"]] = job
        token = (body or {}).get("nextPageToken", "")
        if not token:
            return found


def run_clients(stack: Stack, clients: int = 50, seconds: float = 60, creates: int = 2,
                think: float = 0.1, drain_timeout: float = 150) -> ClientsResult:
    """``clients`` API clients for ``seconds``, then wait for every created job to finish."""
    load_average = os.getloadavg()[0]
    rec = Recorder()
    jobs: dict[str, int] = {}
    problems: list[str] = []
    apis = [ApiClient(stack.url, stack.token) for _ in range(clients)]
    start = time.monotonic() + 0.5
    threads = [threading.Thread(target=_client, args=(i, apis[i], rec, start, seconds, creates,
                                                      think, jobs, problems), daemon=True)
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
        if t.is_alive():
            problems.append("a client thread did not stop")

    checker = ApiClient(stack.url, stack.token)
    drain_start = time.monotonic()
    listed: dict[str, dict[str, Any]] = {}
    while time.monotonic() - drain_start < drain_timeout:
        listed = list_all(checker)
        if all(listed.get(j, {}).get("state") in FINAL for j in jobs):
            break
        time.sleep(1)
    drain = time.monotonic() - drain_start
    final = {}
    for job_id in jobs:
        status, body = checker.call("GET", f"/v1/projects/{PROJECT}/jobs/{job_id}")
        if status == 200:
            final[job_id] = body
        else:
            problems.append(f"get {job_id} after the run answered {status}")
    checker.close()
    return ClientsResult(clients=clients, seconds=seconds, samples=rec.samples, jobs=jobs,
                         final=final, listed=set(listed), drain_seconds=drain,
                         reconnects=sum(a.reconnects for a in apis), problems=problems,
                         load_average=load_average)


def lost_or_wrong_jobs(result: ClientsResult) -> list[str]:
    """Every created job found by get and list, SUCCEEDED, with exactly its maxTrials trials."""
    bad = []
    for job_id, max_trials in sorted(result.jobs.items()):
        job = result.final.get(job_id)
        trials = (job or {}).get("trainingOutput", {}).get("trials", [])
        ids = sorted(int(t["trialId"]) for t in trials)
        if job is None:
            bad.append(f"{job_id}: not found by get")
        elif job_id not in result.listed:
            bad.append(f"{job_id}: not found by list")
        elif job["state"] != "SUCCEEDED":
            bad.append(f"{job_id}: {job['state']} {job.get('errorMessage', '')}")
        elif ids != list(range(1, max_trials + 1)):
            bad.append(f"{job_id}: trials {ids}, expected exactly {max_trials}")
        elif any(t["state"] != "SUCCEEDED" for t in trials):
            bad.append(f"{job_id}: trial states {[t['state'] for t in trials]}")
    return bad


# ---------------------------------------------------------------------------------------------
# 2. Many jobs at once on few workers


@dataclass
class JobsResult:
    jobs: dict[str, dict[str, Any]]  # jobId -> final job
    spec: dict[str, tuple[int, int]]  # jobId -> (maxTrials, maxParallelTrials)
    seconds: float
    workers: int
    problems: list[str]

    @property
    def trials(self) -> int:
        return sum(len(j.get("trainingOutput", {}).get("trials", []))
                   for j in self.jobs.values())


def _ts(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def peak_running(trials: list[dict[str, Any]]) -> int:
    """Most trials running at the same moment (an end at the very instant of a start frees its
    slot first, as the worker finishes one trial before the job starts the next)."""
    events = sorted([(_ts(t["startTime"]), 1) for t in trials if "startTime" in t]
                    + [(_ts(t["endTime"]), -1) for t in trials if "startTime" in t])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def run_many_jobs(stack: Stack, jobs: int = 20, workers: int = WORKERS, timeout: float = 150
                  ) -> JobsResult:
    spec = {f"many_{i:02d}": (2 + i % 3, 1 + i % 2) for i in range(jobs)}
    problems: list[str] = []
    start = time.monotonic()

    def create(job_id: str) -> None:
        api = ApiClient(stack.url, stack.token)
        max_trials, parallel = spec[job_id]
        body = trainer_job(job_id, "e2etrainer.quadratic",
                           {**HYPER, "maxTrials": max_trials, "maxParallelTrials": parallel},
                           args=["--sleep=0.4"])
        status, answer = api.call("POST", f"/v1/projects/{PROJECT}/jobs", body)
        if status != 200:
            problems.append(f"create {job_id} answered {status}: {answer}")
        api.close()

    threads = [threading.Thread(target=create, args=(j,)) for j in spec]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    api = ApiClient(stack.url, stack.token)
    final: dict[str, dict[str, Any]] = {}
    while time.monotonic() - start < timeout:
        listed = list_all(api)
        final = {j: listed[j] for j in spec if j in listed}
        if len(final) == len(spec) and all(j["state"] in FINAL for j in final.values()):
            break
        time.sleep(1)
    seconds = time.monotonic() - start
    api.close()
    return JobsResult(jobs=final, spec=spec, seconds=seconds, workers=workers,
                      problems=problems)


def wrong_many_jobs(result: JobsResult) -> list[str]:
    bad = list(result.problems)
    everything: list[dict[str, Any]] = []
    for job_id, (max_trials, parallel) in sorted(result.spec.items()):
        job = result.jobs.get(job_id)
        if job is None:
            bad.append(f"{job_id}: lost")
            continue
        trials = job.get("trainingOutput", {}).get("trials", [])
        everything += trials
        ids = sorted(int(t["trialId"]) for t in trials)
        if job["state"] != "SUCCEEDED":
            bad.append(f"{job_id}: {job['state']} {job.get('errorMessage', '')}")
        if ids != list(range(1, max_trials + 1)):
            bad.append(f"{job_id}: trials {ids}, expected exactly {max_trials}")
        if peak_running(trials) > parallel:
            bad.append(f"{job_id}: {peak_running(trials)} trials ran at once, "
                       f"maxParallelTrials is {parallel}")
    if everything and peak_running(everything) > result.workers:
        bad.append(f"{peak_running(everything)} trials ran at once on {result.workers} workers")
    return bad


# ---------------------------------------------------------------------------------------------
# Report


def markdown(clients: ClientsResult | None, many: JobsResult | None) -> str:
    lines = ["## Load", ""]
    lines.append(f"Against `manage.py serve` (what `make run` starts: gunicorn "
                 f"{os.environ.get('HPDASH_WEB_PROCESSES', '2')} processes × "
                 f"{os.environ.get('HPDASH_WEB_THREADS', '4')} threads, embedded Redis, RQ "
                 f"workers, SQLite) on {os.cpu_count()} cores ({platform.machine()}), "
                 f"traffic only to 127.0.0.1.")
    lines.append("")
    if clients is not None:
        total = len(clients.samples)
        lines.append(
            f"**{clients.clients} concurrent API clients for {clients.seconds:.0f} s** (threads, "
            "each with its own keep-alive connection, ~0.1 s between calls): each creates "
            "jobs (the `noop` trainer, 1 or 2 trials, 2 workers running them meanwhile), polls "
            "its jobs with `get`, lists the project newest first (`list`, pageSize 20) and "
            "filtered by its own job ids (`list_filter`).  The machine's load average was "
            f"{clients.load_average:.1f} when they started (other work shares these cores).")
        lines.append("")
        lines.append("| operation | requests | errors | p50 ms | p95 ms | p99 ms | max ms |")
        lines.append("|---|---|---|---|---|---|---|")
        for op in (*OPERATIONS, "all"):
            rows = [s for s in clients.samples if op in ("all", s.op)]
            if not rows:
                continue
            secs = [s.seconds * 1000 for s in rows]
            p50, p95, p99 = percentiles(secs)
            errs = sum(1 for s in rows if s.status == 0 or not 200 <= s.status < 300)
            lines.append(f"| {op} | {len(rows)} | {errs} | {p50:.0f} | {p95:.0f} | {p99:.0f} "
                         f"| {max(secs):.0f} |")
        lines.append("")
        bad = lost_or_wrong_jobs(clients)
        trials = sum(clients.jobs.values())
        drained = ("all of them before the clients stopped" if clients.drain_seconds < 1 else
                   f"the last {clients.drain_seconds:.0f} s after the clients stopped")
        lines.append(
            f"{total} requests ({total / clients.seconds:.0f}/s), {len(clients.errors)} errors "
            f"(non-2xx or no answer), {clients.reconnects} idle keep-alive reconnects. "
            f"{len(clients.jobs)} jobs created ({trials} trials): "
            + ("every one found by `get` and `list` and SUCCEEDED with exactly its maxTrials "
               f"trials, {drained}."
               if not bad and not clients.problems else
               f"**{len(bad) + len(clients.problems)} problems**: "
               + "; ".join((bad + clients.problems)[:5])))
        lines.append("")
    if many is not None:
        bad = wrong_many_jobs(many)
        peaks = {j: peak_running(job.get("trainingOutput", {}).get("trials", []))
                 for j, job in many.jobs.items()}
        reached = sum(1 for j, (_, par) in many.spec.items() if par == 2 and peaks.get(j) == 2)
        two = sum(1 for _, par in many.spec.values() if par == 2)
        lines.append(
            f"**{len(many.spec)} jobs at once on {many.workers} workers** (the `quadratic` "
            f"trainer, 0.4 s a trial; maxTrials 2–4, maxParallelTrials 1 or 2): {many.trials} "
            f"trials in {many.seconds:.0f} s ({many.trials / many.seconds:.1f} trials/s). "
            + ("Every job SUCCEEDED with exactly its maxTrials trials, no job ever ran more "
               f"trials at once than its maxParallelTrials ({reached} of the {two} jobs allowed "
               "2 did run 2 at once) and never more than "
               f"{many.workers} trials ran in all." if not bad else
               f"**{len(bad)} problems**: " + "; ".join(bad[:5])))
        lines.append("")
    return "\n".join(lines)


def write_report(clients: ClientsResult | None, many: JobsResult | None) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "load.md"
    out.write_text(markdown(clients, many))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20 clients for 15 s, 10 jobs")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--jobs", type=int, default=20)
    a = ap.parse_args()
    if a.quick:
        a.clients, a.seconds, a.jobs = 20, 15, 10
    with tempfile.TemporaryDirectory() as d, running_stack(Path(d), workers=WORKERS) as stack:
        clients = run_clients(stack, clients=a.clients, seconds=a.seconds)
        many = run_many_jobs(stack, jobs=a.jobs)
    path = write_report(clients, many)
    print(path.read_text())
    bad = lost_or_wrong_jobs(clients) + clients.problems + wrong_many_jobs(many)
    sys.exit(1 if bad or clients.errors else 0)


if __name__ == "__main__":
    main()
