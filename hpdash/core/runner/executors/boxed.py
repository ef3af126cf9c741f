"""Starting a process of a job in its box (:mod:`hpdash.core.runner.box`): a trainer, or a step
of its environment's build.  Both run untrusted code (a trainer, a ``setup.py``), so both get
the same box: namespaces of their own, a leased uid, cgroups with limits, the data dir hidden,
only the directories they write bound writable (by fds the worker opened), what they read
bound read-only.

A build (:func:`build_box`) differs from a trial in what it sees: its build directory
(``<data>/envs/.build-*``: the job's copied packages, the environment being made, uv's cache)
writable; ``uv``, the base interpreter, and the local paths of the server's package-index
settings (find-links directories, a ``file://`` index, certificate bundles) read-only; and the
network as the server's ``HPDASH_TRIAL_NETWORK`` says (the index is usually PyPI), never a
job's own wish for none, which is about its trainers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hpdash.core.runner.box import BoxSettings, box_argv, interpreter_roots, lease_uid, open_dir
from hpdash.core.runner.cgroups import CgroupSupport, TrialCgroup, rlimit_prefix
from hpdash.core.runner.envs import index_paths
from hpdash.core.runner.executors.jobenv import Launch
from hpdash.core.runner.limits import TrialLimits
from hpdash.core.runner.process import RunAs, Start, TrainerProcess
from hpdash.core.runner.sandbox import TRAINER_UMASK


@dataclass(frozen=True)
class Confined:
    """Who and within what a boxed process runs: the box's settings (``box.network`` as this
    process has it), the machine's cgroup support, the leased uid, its cgroups and limits."""

    box: BoxSettings
    cgroups: CgroupSupport
    uid: int
    cgroup: TrialCgroup | None
    limits: TrialLimits


def start_in_box(how: Confined, *, argv: Sequence[str], env: Mapping[str, str], cwd: Path,
                 log_path: str, log_cap_bytes: int, writable: Sequence[tuple[int, Path]],
                 readable: Sequence[str], hide: Sequence[Path]) -> TrainerProcess:
    """``argv`` in a box as ``how.uid``, in its cgroups; ``writable``: directory fds (opened by
    the worker with ``O_NOFOLLOW``; the caller closes them once this returns) and where each
    appears; ``readable`` and ``hide`` as :func:`~hpdash.core.runner.box.box_argv` has them."""
    prefix = [*rlimit_prefix(how.limits, how.cgroups),
              *box_argv(how.box, uid=how.uid, cwd=cwd, writable=writable, readable=readable,
                        hide=hide)]
    # No passwd entry has this uid: the names come from the environment.
    name = f"trial-{how.uid}"
    env = {**env, "USER": name, "LOGNAME": name, "TMPDIR": "/tmp"}  # noqa: S108 - the box's
    cgroup = how.cgroup
    # Started from inside the cgroups (this thread joins them for the start), and ended with
    # the worker by bwrap's --die-with-parent: no preexec_fn, so the worker is not forked.
    return TrainerProcess([*prefix, *argv], env, "/", log_path, log_cap_bytes=log_cap_bytes,
                          pass_fds=[fd for fd, _ in writable], umask=TRAINER_UMASK,
                          start=Start(spawn_in=cgroup.entered if cgroup is not None and
                                      cgroup.dirs else None, dies_with_parent=True),
                          stop_uid=how.uid)


@contextlib.contextmanager
def build_box(box: BoxSettings, cgroups: CgroupSupport, *, uid_dir: Path, data_dir: Path,
              python: str, index: Mapping[str, str], limits: TrialLimits,
              log_cap_bytes: int, seed: int) -> Iterator[tuple[Launch, RunAs]]:
    """A uid and cgroups for one environment build, and the launch that runs each of its
    steps in a box (``cwd`` is the build directory, bound writable); released on exit, after
    the steps ended (each step's end takes its whole PID namespace)."""
    lease = lease_uid(uid_dir, box.uids, seed)
    cgroup: TrialCgroup | None = None
    try:
        cgroup = TrialCgroup(cgroups, f"build-{secrets.token_hex(8)}", limits)
        how = Confined(box, cgroups, lease.uid, cgroup, limits)
        readable = [*interpreter_roots(python), *index_paths(index)]

        def launch(argv: Sequence[str], env: Mapping[str, str], cwd: str,
                   log_path: str) -> TrainerProcess:
            fd = open_dir(Path(cwd))
            try:
                return start_in_box(how, argv=argv, env=env, cwd=Path(cwd), log_path=log_path,
                                    log_cap_bytes=log_cap_bytes, writable=[(fd, Path(cwd))],
                                    readable=[argv[0], *readable], hide=[data_dir])
            finally:
                os.close(fd)

        yield launch, RunAs(lease.uid, lease.uid)
    finally:
        if cgroup is not None:
            cgroup.remove()
        lease.release()
