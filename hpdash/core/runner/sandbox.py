"""A sandboxed trial's directories on this machine: who the trial user is, and the directories
it may pass through (the sandbox gates), write (its own) or must reach (its jobDir).

Plain Python, no Django: the local executor (:mod:`hpdash.core.runner.executors.local`) uses it; the
service decides who the trial user is (:mod:`hpdash.ops.sandbox`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .process import RunAs


@dataclass(frozen=True)
class TrialUser:
    name: str
    uid: int
    gid: int

    @property
    def run_as(self) -> RunAs:
        return RunAs(uid=self.uid, gid=self.gid)


def blocked_at(path: Path, user: TrialUser) -> Path | None:
    """The first directory on the way to ``path`` that ``user`` may not enter, if any."""
    for parent in reversed(path.parents):
        try:
            st = parent.stat()
        except OSError:
            return parent
        bit = (0o100 if st.st_uid == user.uid else 0o010 if st.st_gid == user.gid else 0o001)
        if not st.st_mode & bit:
            return parent
    return None


class SandboxError(Exception):
    """A trial's directories cannot be set up for its user; the message says what to do."""


def gate(path: Path, root: Path, user: TrialUser | None) -> None:
    """``path`` and its parents up to ``root`` (the data dir's sandbox): 0710 with the trial
    user's group (traverse only), or 0700 without a trial user."""
    steps = [path, *path.parents]
    if root not in steps:
        raise ValueError(f"{path} is not inside the sandbox {root}")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for step in steps[:steps.index(root) + 1]:
        if user is None:
            step.chmod(0o700)
        else:
            os.chown(step, -1, user.gid)
            step.chmod(0o710)


def own_dir(path: Path, user: TrialUser | None) -> None:
    """A directory the trainer writes: created empty, owned by the trial user, 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if user is not None:
        os.chown(path, user.uid, user.gid)


def own_job_dir(path: Path, user: TrialUser | None) -> None:
    """``<jobDir>/<trialId>``: the parents hpdash creates are traversable (0711); the trial's
    own folder is the trial user's.  A parent the trial user cannot pass through is an error
    that names it, instead of a trainer failing on its first write."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing[1:]:
        created.chmod(0o711)
    if user is None:
        return
    blocked = blocked_at(path, user)
    if blocked is not None:
        st = blocked.stat()
        raise SandboxError(
            f"jobDir: the trial user {user.name!r} (HPDASH_TRIAL_USER) cannot enter {blocked} "
            f"(mode {stat.S_IMODE(st.st_mode):o}, owner uid {st.st_uid}); make it traversable "
            f"(chmod o+x {blocked}) or choose a jobDir outside it")
    os.chown(path, user.uid, user.gid)
    path.chmod(0o700)
