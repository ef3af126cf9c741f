"""Per-trial overhead of the container executor (issue 21) against the package executor: a no-op
trial from ``start`` to its exit through each executor, in one run, rounds interleaved.  The
package trial is ``python -S -c pass`` in the box (bubblewrap, a leased uid, limits) and bare;
the container trial is ``python3 -S -c pass`` in the host-Python image
(:mod:`hpdash.ops.host_python_image`) with everything a trial gets (``--init``, a leased uid,
read-only root, private /tmp, no network, no capabilities, limits, the trial dir bound twice):
``podman create``, ``podman start --attach``, ``podman inspect`` and ``podman rm``.

    .venv/bin/python benchmarks/container_overhead.py [--quick] [--rounds N]

Needs root, podman, runc, catatonit and bubblewrap; elsewhere it says so and exits.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import report  # benchmarks/report.py: the scripts run with benchmarks/ on sys.path

from hpdash.core.layout import DataLayout
from hpdash.core.runner.box import BoxSettings
from hpdash.core.runner.executor import ExecutorConfig
from hpdash.core.runner.executors.container import ContainerExecutor
from hpdash.core.runner.executors.local import LocalExecutor
from hpdash.core.runner.limits import GIB, TrialLimits
from hpdash.core.runner.plan import Placement, TrialPlan
from hpdash.core.runner.podman import ContainerSettings, Podman
from hpdash.core.runner.sandbox import TrialUser
from hpdash.ops.host_python_image import DEFAULT_TAG, build

PYTHON: str = getattr(sys, "_base_executable", sys.executable)
CELLS = ("package, bare", "package, boxed", "container")


def _plan(layout: DataLayout, n: int, user: TrialUser, limits: TrialLimits, *,
          container: bool) -> TrialPlan:
    job = "container" if container else "package"
    argv = (DEFAULT_TAG,) if container else (PYTHON, "-S", "-c", "pass")
    return TrialPlan(
        argv=argv, env={"PATH": "/usr/bin:/bin"}, cwd=layout.sandbox_trial("bench", job, n),
        log_path=layout.trial_log("bench", job, n),
        metric_file=layout.trial_metric_file("bench", job, n), metric_tag="score",
        job_dir=None, time_limit=60.0, placement=Placement(run_as=user.run_as, limits=limits),
        entrypoint=("python3", "-S", "-c", "pass") if container else (), container=container)


def _timed_trial(executor: LocalExecutor | ContainerExecutor, plan: TrialPlan) -> float:
    began = time.perf_counter()
    handle = executor.start(plan)
    status = executor.poll(handle, 60.0)
    took = time.perf_counter() - began
    if status is None or status.returncode != 0:
        raise RuntimeError(f"the trial did not end cleanly: {status}; log: "
                           f"{plan.log_path.read_text()[-2000:]}")
    return took * 1000


def measure(rounds: int) -> dict[str, list[float]]:
    entry = pwd.getpwnam("nobody")
    user = TrialUser("nobody", entry.pw_uid, entry.pw_gid)
    limits = TrialLimits(memory_bytes=2 * GIB, cpus=1.0, processes=256)
    box = BoxSettings(bwrap=shutil.which("bwrap") or "bwrap", uids=range(241000, 241100),
                      share_gid=user.gid, defaults=limits)
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="hpdash-bench-containers-") as tmp:
        layout = DataLayout(Path(tmp))
        podman = Podman.here(layout.podman)
        assert podman is not None
        build(DEFAULT_TAG, podman=podman)
        bare = LocalExecutor(ExecutorConfig(layout=layout, python=PYTHON, user=user))
        boxed = LocalExecutor(ExecutorConfig(layout=layout, python=PYTHON, user=user,
                                             box=box))
        contained = ContainerExecutor(ExecutorConfig(
            layout=layout, python=PYTHON, user=user, box=box,
            containers=ContainerSettings(podman=podman.exe)))
        cells: dict[str, Callable[[int], float]] = {
            "package, bare": lambda n: _timed_trial(
                bare, _plan(layout, n, user, limits, container=False)),
            "package, boxed": lambda n: _timed_trial(
                boxed, _plan(layout, n, user, limits, container=False)),
            "container": lambda n: _timed_trial(
                contained, _plan(layout, n, user, limits, container=True)),
        }
        for cell in cells.values():  # warm-up: caches, the cgroup probe, the image's layers
            cell(0)
        for n in range(1, rounds + 1):
            for name, cell in cells.items():
                times.setdefault(name, []).append(cell(n))
    return times


def render(times: dict[str, list[float]], seconds: float) -> str:
    med = {name: statistics.median(values) for name, values in times.items()}
    rounds = len(times["container"])
    lines = ["## Custom containers: per-trial overhead", "",
             f"Median of {rounds} interleaved rounds, milliseconds, one run on this machine "
             "(`benchmarks/container_overhead.py`): a no-op trial through its executor from "
             "`start` to its exit; the package trial `python -S -c pass`, the container trial "
             "`python3 -S -c pass` in the host-Python image, with every flag a trial gets.", "",
             "| cell | median ms | min | max |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {med[name]:.1f} | {min(v):.1f} | {max(v):.1f} |"
              for name, v in times.items()]
    over_boxed = med["container"] - med["package, boxed"]
    over_bare = med["container"] - med["package, bare"]
    lines += ["", f"Overhead of a container per trial: **{over_boxed:.0f} ms** over a boxed "
              f"package trial ({over_bare:.0f} ms over a bare one)."]
    return "\n".join(lines) + "\n" + report.footer(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    missing = [tool for tool in ("podman", "catatonit", "bwrap") if not shutil.which(tool)]
    if os.geteuid() != 0 or missing:
        print(f"container_overhead: needs root and {', '.join(missing) or 'podman'}; skipped")
        return report.SKIPPED
    began = time.monotonic()
    times = measure(3 if args.quick else args.rounds)
    text = render(times, time.monotonic() - began)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "container_overhead.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
