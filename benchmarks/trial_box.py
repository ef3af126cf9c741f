"""Trial start overhead of the box (issue 19): a trial started by the local executor in its box
(bubblewrap namespaces, a leased uid, cgroups with limits) against today's bare process (the
shared trial user, no namespaces), both through :class:`LocalExecutor` ``start`` -> exit, in
one run, rounds interleaved; the trainer is ``python -S -c pass`` (the interpreter's own start
is in both columns).  The target is < 50 ms of overhead per trial.

For reference, the bare tools on ``/bin/true``: ``bwrap`` with the same options, and
``unshare -m -p -i -u -f --mount-proc`` (which makes no read-only root, no private /tmp and
switches no user), the other candidate the issue names.

    .venv/bin/python benchmarks/trial_box.py [--quick] [--rounds N] [--worker-mb MB]

The benchmark's process is made as large as a worker (``--worker-mb``, default 180: the RSS
of a worker with Django, the suggesters and scikit-learn imported, 178 MB measured), because
what starting a trainer costs depends on it: a ``fork`` copies the page tables of the whole
worker, a ``vfork`` none.

Needs root and bubblewrap (``apt-get install bubblewrap``); elsewhere it says so and exits.
"""

from __future__ import annotations

import argparse
import math
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import report  # benchmarks/report.py: the scripts run with benchmarks/ on sys.path

from hpdash.core.layout import DataLayout
from hpdash.core.runner.box import BoxSettings
from hpdash.core.runner.cgroups import CgroupSupport
from hpdash.core.runner.executor import ExecutorConfig
from hpdash.core.runner.executors.local import LocalExecutor
from hpdash.core.runner.limits import GIB, TrialLimits
from hpdash.core.runner.plan import Placement, TrialPlan
from hpdash.core.runner.sandbox import TrialUser

TARGET_MS = 50.0
WORKER_MB = 180
# The trainer's interpreter: the one the checkout's venv was made from, which the trial user
# can run (hpdash/ops/venv_python.py), wherever the checkout lies; `python -S -c pass` needs
# nothing of the venv (CI clones into a 0700 directory the trial user cannot enter).
PYTHON: str = getattr(sys, "_base_executable", sys.executable)


def _plan(layout: DataLayout, n: int, user: TrialUser, limits: TrialLimits) -> TrialPlan:
    cwd = layout.sandbox_trial("bench", "box", n)
    return TrialPlan(
        argv=(PYTHON, "-S", "-c", "pass"), env={"PATH": "/usr/bin:/bin"}, cwd=cwd,
        log_path=layout.trial_log("bench", "box", n),
        metric_file=layout.trial_metric_file("bench", "box", n), metric_tag="score",
        job_dir=None, time_limit=60.0,
        placement=Placement(run_as=user.run_as, limits=limits))


def _timed_trial(executor: LocalExecutor, plan: TrialPlan) -> float:
    began = time.perf_counter()
    handle = executor.start(plan)
    status = executor.poll(handle, 30.0)
    took = time.perf_counter() - began
    if status is None or status.returncode != 0:
        raise RuntimeError(f"the trial did not end cleanly: {status}; log: "
                           f"{plan.log_path.read_text()[-2000:]}")
    return took * 1000


def _timed_cmd(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    return (time.perf_counter() - began) * 1000


def measure(rounds: int) -> dict[str, list[float]]:
    entry = pwd.getpwnam("nobody")
    user = TrialUser("nobody", entry.pw_uid, entry.pw_gid)
    limits = TrialLimits(memory_bytes=2 * GIB, cpus=2.0, processes=256)
    box = BoxSettings(bwrap=shutil.which("bwrap") or "bwrap", uids=range(240000, 240100),
                      share_gid=user.gid, defaults=limits)
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="hpdash-bench-box-") as tmp:
        layout = DataLayout(Path(tmp))
        bare = LocalExecutor(ExecutorConfig(layout=layout, python=PYTHON, user=user))
        boxed = LocalExecutor(ExecutorConfig(layout=layout, python=PYTHON, user=user,
                                             box=box))
        # The box with rlimits instead of cgroups (what a machine without usable cgroups
        # gets): no cgroup to join, but a prlimit process before bwrap.
        rlimited = LocalExecutor(ExecutorConfig(layout=layout, python=PYTHON,
                                                user=user, box=box))
        rlimited.cgroups = CgroupSupport()
        bwrap = [box.bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc",
                 "--unshare-uts", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                 "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--symlink",
                 "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64",
                 "/lib64", "--", "/usr/bin/true"]
        unshare = ["unshare", "-m", "-p", "-i", "-u", "-f", "--mount-proc", "--", "true"]
        cells: dict[str, Callable[[int], float]] = {
            "bare (today)": lambda n: _timed_trial(bare, _plan(layout, n, user, limits)),
            "boxed": lambda n: _timed_trial(boxed, _plan(layout, n, user, limits)),
            "boxed, rlimits (no cgroups)": lambda n: _timed_trial(
                rlimited, _plan(layout, n, user, limits)),
            "bwrap /bin/true": lambda n: _timed_cmd(bwrap),
            "unshare /bin/true": lambda n: _timed_cmd(unshare),
            "/bin/true": lambda n: _timed_cmd(["true"]),
        }
        for cell in cells.values():  # warm-up: caches, the cgroup probe
            cell(0)
        for n in range(1, rounds + 1):
            for name, cell in cells.items():
                times.setdefault(name, []).append(cell(n))
    return times


def median_interval(values: list[float]) -> tuple[float, float, float]:
    """The median and a distribution-free 95 % interval for it (order statistics: the
    binomial(n, 1/2) ranks that hold the median with probability >= 0.95)."""
    xs = sorted(values)
    n = len(xs)
    lo = 0
    while lo + 1 < n // 2 and _binom_tail(n, lo + 2) <= 0.025:
        lo += 1
    return statistics.median(xs), xs[lo], xs[n - 1 - lo]


def _binom_tail(n: int, k: int) -> float:
    """P(X < k) for X ~ binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k)) / float(2**n)


def overhead(times: dict[str, list[float]], cell: str) -> tuple[float, float, float]:
    """The median of the per-round differences ``cell`` - bare (rounds are interleaved, so
    each pair ran under the same load), with its 95 % interval."""
    return median_interval([b - a for a, b in zip(times["bare (today)"], times[cell],
                                                  strict=True)])


def render(times: dict[str, list[float]], seconds: float, load: tuple[float, float],
           worker_mb: int = 0) -> str:
    med = {name: statistics.median(values) for name, values in times.items()}
    rounds = len(times["boxed"])
    boxed, lo, hi = overhead(times, "boxed")
    rl, rl_lo, rl_hi = overhead(times, "boxed, rlimits (no cgroups)")
    verdict = "met" if hi < TARGET_MS else "missed" if lo >= TARGET_MS else "not settled"
    lines = ["## Trial box: start overhead", "",
             f"Median of {rounds} interleaved rounds, milliseconds, one run on this machine "
             "(`benchmarks/trial_box.py`): a trial through the local executor from `start` to "
             f"its exit, trainer `python -S -c pass`, from a process holding {worker_mb} MB "
             "(as a worker does); and the bare tools on `/bin/true`.", "",
             "| cell | median ms | min | max |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {med[name]:.1f} | {min(v):.1f} | {max(v):.1f} |"
              for name, v in times.items()]
    lines += ["", f"Overhead of the box per trial (median of the per-round differences, "
              f"95 % interval): **{boxed:.1f} ms [{lo:.1f}, {hi:.1f}]** (target < "
              f"{TARGET_MS:.0f} ms: **{verdict}**); with rlimits instead of cgroups "
              f"{rl:.1f} ms [{rl_lo:.1f}, {rl_hi:.1f}]. Load average (1 min) at the start "
              f"{load[0]:.1f}, at the end {load[1]:.1f}, on {os.cpu_count()} CPUs."]
    return "\n".join(lines) + "\n" + report.footer(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--worker-mb", type=int, default=WORKER_MB,
                        help="memory the benchmark's process holds, as a worker does")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("bwrap"):
        print("trial_box: needs root and bubblewrap; skipped")
        return report.SKIPPED
    ballast = bytearray(args.worker_mb * 2**20)
    for page in range(0, len(ballast), 4096):  # touched: its pages are mapped, as a worker's
        ballast[page] = 1
    began, load = time.monotonic(), os.getloadavg()[0]
    times = measure(3 if args.quick else args.rounds)
    text = render(times, time.monotonic() - began, (load, os.getloadavg()[0]), args.worker_mb)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "trial_box.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
