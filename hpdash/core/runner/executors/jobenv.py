"""The local executor's half of a job's environment (:mod:`hpdash.core.runner.envs`): which
interpreter the job asked for, the environment's key (remembered per job in its sandbox, so
later trials of the job neither copy nor hash its packages again), and the build steps, run
through the launch the executor gives for the build (boxed as a trial is, as a uid leased for
the build: :mod:`.boxed`), their output going to the trial's log.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from hpdash.core.runner.envs import (
    EnvError,
    JobEnvs,
    Runner,
    Stopped,
    Tick,
    env_key,
    index_env,
    support_digest,
    support_files,
    tree_digest,
)
from hpdash.core.runner.process import RunAs, TrainerProcess
from hpdash.core.runner.safe_files import open_append

# A build step that runs longer than this fails the trial (seconds).
BUILD_TIMEOUT = 3600.0
TAIL_LINES = 12

Launch = Callable[[Sequence[str], Mapping[str, str], str, str], TrainerProcess]
# For one build: the launch of its steps and the user it runs as (a boxed build leases a uid
# and cgroups for its length: :func:`hpdash.core.runner.executors.boxed.build_box`).
BuildAs = Callable[[], contextlib.AbstractContextManager[tuple[Launch, "RunAs | None"]]]


def choose_python(pythons: Mapping[str, str], version: str | None) -> str:
    """The interpreter of ``version`` (a name of ``HPDASH_PYTHONS``), the first by default."""
    if version is None:
        return next(iter(pythons.values()))
    if version not in pythons:
        raise EnvError(f"pythonVersion {version!r} is not offered on this worker; it offers "
                       f"{', '.join(pythons)} (HPDASH_PYTHONS)")
    return pythons[version]


def note(log: Path | None, text: str) -> None:
    """hpdash's own line in the trial's log (never through a link, never into a FIFO)."""
    if log is not None:
        with os.fdopen(open_append(log), "a") as f:
            f.write(f"[hpdash] {text}\n")


def _tail(log: Path | None, since: int) -> str:
    if log is None:
        return ""
    with open(log, "rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    lines = [line for line in text.splitlines()
             if line.strip() and not line.startswith("Using Python")]
    return "\n".join(lines[-TAIL_LINES:])


def step_runner(launch: Launch, log: Path | None, *, orphans: bool,
                tick: Tick | None = None) -> Runner:
    """A :data:`~hpdash.core.runner.envs.Runner` that runs each step through ``launch`` (the
    executor's, which starts trainers), appending its output to ``log``, ticking about once a
    second; a reason from ``tick`` stops the step (:class:`Stopped`), as does BUILD_TIMEOUT.
    ``orphans``: the caller is the subreaper of its trainers' orphans (see TrainerProcess.end).
    """
    def run(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> tuple[int, str]:
        if log is not None:
            return _run_step(argv, env, cwd, log)
        # No trial log (the executor's own tests): a private file of the step's own, which
        # gives its failure tail too (a process's log is never a special file like /dev/null).
        fd, name = tempfile.mkstemp(prefix="hpdash-build-", suffix=".log")
        os.close(fd)
        try:
            return _run_step(argv, env, cwd, Path(name))
        finally:
            os.unlink(name)

    def _run_step(argv: Sequence[str], env: Mapping[str, str], cwd: str,
                  path: Path) -> tuple[int, str]:
        since = path.stat().st_size if path.exists() else 0
        process = launch(argv, env, cwd, str(path))
        began, reason = time.monotonic(), None
        while not process.wait(1.0):
            if time.monotonic() - began > BUILD_TIMEOUT:
                reason = f"it ran longer than {BUILD_TIMEOUT:.0f} s"
            elif tick is not None:
                reason = tick()
            if reason:
                process.stop(2.0)
                break
        status = process.end(orphans=orphans)
        if reason:
            raise Stopped(reason)
        code = status.returncode if status.returncode is not None else -(status.signal or 1)
        return code, _tail(path, since)
    return run


def job_python(*, envs: JobEnvs, memo: Path, python: str, installables: Sequence[str],
               build_as: BuildAs, log: Path | None, environ: Mapping[str, str],
               orphans: bool = False, tick: Tick | None = None) -> Path:
    """The interpreter of the job's environment, built now if it is not in the cache.
    ``memo`` (in the job's sandbox, the service's own) remembers the job's key.  The build's
    steps run through the launch ``build_as`` gives for the build's length, as its user."""
    if memo.exists():
        key = memo.read_text().strip()
        if envs.ready(key):
            note(log, f"Python environment {key} (cached)")
            return envs.python(key)
    index = index_env(environ)
    support = support_files()
    build, copies = envs.stage(installables)
    try:
        real = os.path.realpath(python)
        st = os.stat(real)
        key = env_key(python=real, python_id=f"{st.st_size}:{st.st_mtime_ns}",
                      inputs=[tree_digest(str(c)) for c in copies],
                      support=support_digest(support), index=index)
    except OSError as exc:
        envs.discard(build)
        raise EnvError(f"cannot read the interpreter {python} or the job's packages: {exc}"
                       ) from exc
    if envs.ready(key):
        envs.discard(build)
        note(log, f"Python environment {key} (cached)")
    else:
        began = time.monotonic()
        what = ", ".join(os.path.basename(p.rstrip("/")) for p in installables)
        note(log, f"building Python environment {key} from {python}: "
                  f"{f'installing {what}' if what else 'no packages to install'}")
        with build_as() as (launch, owner):
            built = envs.ensure(key=key, build=build, inputs=copies, python=python,
                                index=index, support=support,
                                run=step_runner(launch, log, orphans=orphans, tick=tick),
                                owner=(owner.uid, owner.gid) if owner else None, tick=tick)
        note(log, f"Python environment {key} "
                  f"{f'built in {time.monotonic() - began:.1f} s' if built else '(cached)'}")
    tmp = memo.with_name(f".{memo.name}.{os.getpid()}")
    tmp.write_text(key)
    tmp.rename(memo)
    return envs.python(key)
