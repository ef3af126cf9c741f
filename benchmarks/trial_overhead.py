"""Per-trial overhead of hpdash: a job whose trainer imports ``hypertune``, reports once and
exits, run through ``manage.py serve`` (embedded Redis, RQ workers, real subprocesses), next to
the time of a bare ``python -c "import hypertune"``.

    .venv/bin/python benchmarks/trial_overhead.py [--trials 40]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import running_stack, trainer_job, wait_for_state  # noqa: E402

HYPER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "algorithm": "RANDOM_SEARCH",
         "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


def bare_import_seconds(repeats: int = 15) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import hypertune"], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run_job(stack, job_id: str, trials: int, parallel: int) -> tuple[float, list[float]]:
    ml = stack.ml()
    body = trainer_job(job_id, "e2etrainer.noop",
                       {**HYPER, "maxTrials": trials, "maxParallelTrials": parallel})
    t = time.perf_counter()
    ml.projects().jobs().create(parent="projects/bench", body=body).execute()
    job = wait_for_state(ml, f"projects/bench/jobs/{job_id}", timeout=600)
    wall = time.perf_counter() - t
    assert job["state"] == "SUCCEEDED", job
    from datetime import datetime

    def ts(s: str) -> float:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

    spans = [ts(tr["endTime"]) - ts(tr["startTime"]) for tr in job["trainingOutput"]["trials"]]
    return wall, spans


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=40)
    a = ap.parse_args()
    bare = bare_import_seconds()
    rows = []
    with tempfile.TemporaryDirectory() as d, running_stack(Path(d), workers=2) as stack:
        run_job(stack, "warmup", 4, 1)
        for parallel in (1, 2):
            wall, spans = run_job(stack, f"noop_p{parallel}", a.trials, parallel)
            rows.append((parallel, wall, spans))
    print(f"bare `python -c 'import hypertune'`: {bare * 1000:.0f} ms (median of 15)\n")
    print("| maxParallelTrials | trials | wall s | trials/s | per trial, wall ms "
          "| trial start→end, median ms |")
    print("|---|---|---|---|---|---|")
    for parallel, wall, spans in rows:
        print(f"| {parallel} | {a.trials} | {wall:.2f} | {a.trials / wall:.1f} "
              f"| {wall / a.trials * 1000:.0f} | {statistics.median(spans) * 1000:.0f} |")


if __name__ == "__main__":
    main()
