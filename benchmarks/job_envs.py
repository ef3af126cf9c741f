"""Job environments: how long a job waits for its Python environment, built with uv (hpdash's
choice) against pip, cold and cached.

    python benchmarks/job_envs.py [--quick] [--requirements "numpy scikit-learn"]

- **cold**: a new virtualenv from the base interpreter and the requirements installed into it
  from the index, nothing in any download cache (uv: ``uv venv`` + ``uv pip install`` with an
  empty ``UV_CACHE_DIR``, as each hpdash build does; pip: ``python -m venv`` + ``pip install
  --no-cache-dir``).
- **cached**: a second job with the same packages: hpdash's own path
  (:func:`hpdash.core.runner.executors.jobenv.job_python`) copies and hashes the job's package,
  finds the environment by its key and builds nothing; and a later trial of the same job, which
  reads the job's remembered key.

The index is whatever the machine's settings give (PIP_INDEX_URL, PIP_FIND_LINKS, ... passed
on as hpdash does).  Medians of ``--repeats`` runs (3; 1 with --quick).  Writes
``benchmarks/results/job_envs.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from hpdash.core.runner.envs import JobEnvs, index_env
from hpdash.core.runner.executors.jobenv import job_python
from hpdash.core.runner.process import TrainerProcess
from hpdash.ops.config import base_python, uv_binary

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def _run(argv: Sequence[str], env: Mapping[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(list(argv), env=dict(env), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def cold_uv(work: Path, requirements: Sequence[str], base: Mapping[str, str]) -> float:
    uv = uv_binary()
    env = {**base, "UV_CACHE_DIR": str(work / "cache"), "UV_LINK_MODE": "copy"}
    return (_run([uv, "venv", "-q", "--python", base_python(), str(work / "env")], env)
            + _run([uv, "pip", "install", "-q", "--python", str(work / "env" / "bin" / "python"),
                    *requirements], env))


def cold_pip(work: Path, requirements: Sequence[str], base: Mapping[str, str]) -> float:
    return (_run([base_python(), "-m", "venv", str(work / "env")], base)
            + _run([str(work / "env" / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--no-cache-dir", *requirements], base))


def _launch(argv: Sequence[str], env: Mapping[str, str], cwd: str, log: str) -> TrainerProcess:
    return TrainerProcess(argv, env, cwd, log)


def cached(work: Path, requirements: Sequence[str]) -> tuple[float, float, float]:
    """(first build, a second job's start, a later trial's start) through hpdash's code."""
    pkg = work / "trainer"
    (pkg / "benchtrainer").mkdir(parents=True)
    (pkg / "benchtrainer" / "__init__.py").write_text("")
    (pkg / "pyproject.toml").write_text(
        "[build-system]\nrequires = ['setuptools>=61']\nbuild-backend = "
        "'setuptools.build_meta'\n[project]\nname = 'benchtrainer'\nversion = '1'\n"
        f"dependencies = {list(requirements)!r}\n[tool.setuptools]\n"
        "packages = ['benchtrainer']\n")
    envs = JobEnvs(work / "envs", uv=uv_binary(), group=None)
    times = []
    for memo in ("job1", "job2", "job2"):
        began = time.perf_counter()
        job_python(envs=envs, memo=work / memo, python=base_python(), installables=[str(pkg)],
                   build_as=lambda: contextlib.nullcontext((_launch, None)), log=None,
                   environ=os.environ)
        times.append(time.perf_counter() - began)
    return times[0], times[1], times[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=0)
    parser.add_argument("--requirements", default="numpy scikit-learn")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    requirements = args.requirements.split()
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **index_env(os.environ)}
    rows: dict[str, list[float]] = {k: [] for k in ("uv cold", "pip cold", "hpdash first build",
                                                    "second job (cached)",
                                                    "later trial (cached)")}
    for _ in range(repeats):
        for name, fn in (("uv cold", cold_uv), ("pip cold", cold_pip)):
            work = Path(tempfile.mkdtemp(prefix="hpdash-bench-env-"))
            try:
                rows[name].append(fn(work, requirements, base))
            finally:
                shutil.rmtree(work, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="hpdash-bench-env-"))
        try:
            first, second, later = cached(work, requirements)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rows["hpdash first build"].append(first)
        rows["second job (cached)"].append(second)
        rows["later trial (cached)"].append(later)
    lines = ["## Job environments", "",
             f"Requirements `{' '.join(requirements)}` from this machine's index settings, "
             f"base interpreter {base_python()} (Python {sys.version.split()[0]} runs the "
             f"benchmark); median of {repeats} run(s), seconds.", "",
             "| what | median s | runs |", "|---|---:|---|"]
    for name, values in rows.items():
        shown = ", ".join(f"{v:.3f}" for v in values)
        lines.append(f"| {name} | {statistics.median(values):.3f} | {shown} |")
    uv, pip = statistics.median(rows["uv cold"]), statistics.median(rows["pip cold"])
    lines += ["", f"uv builds the cold environment {pip / uv:.1f}x faster than pip: hpdash "
              "builds with uv.  \"hpdash first build\" is uv through hpdash's own path (the "
              "job's package is built from source too); a second job with the same packages "
              "copies and hashes them and builds nothing; a later trial of a job reads its "
              "remembered key.", ""]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "job_envs.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
