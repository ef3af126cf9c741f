"""The trial sandbox: which OS user trainers run as, and whether they can.

A trainer is untrusted code.  When hpdash runs as root, trainers run as an unprivileged user,
``HPDASH_TRIAL_USER`` (default ``nobody``); a service that is not root may name a user it is
allowed to switch to.  Such a trainer reaches only its own trial directory (its cwd, HOME and
TMPDIR), its job's packages (read-only) and its ``<jobDir>/<trialId>``: not the database, the
secret key, the Redis socket or password, other trials' logs, or uploads (see
:func:`hpdash.ops.paths.secure_data_dir`), and it cannot signal the worker.

With ``HPDASH_TRIAL_USER`` empty (the default for a service that is not root), trainers run as
the service's own user and can read everything it can: ``make run`` says so at start.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from hpdash.core.runner.process import RunAs


@dataclass(frozen=True)
class TrialUser:
    name: str
    uid: int
    gid: int

    @property
    def run_as(self) -> RunAs:
        return RunAs(uid=self.uid, gid=self.gid)


def trial_user_from_env() -> TrialUser | None:
    """The configured trial user, or None when trainers run as the service's own user."""
    default = "nobody" if os.geteuid() == 0 else ""
    name = os.environ.get("HPDASH_TRIAL_USER", default).strip()
    if not name:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ImproperlyConfigured(
            f"HPDASH_TRIAL_USER names {name!r}, which is not a user of this machine") from None
    if entry.pw_uid == os.geteuid():
        return None  # the service's own user: no sandbox, and make run says so
    return TrialUser(name, entry.pw_uid, entry.pw_gid)


def sandbox_problem(user: TrialUser, python: str = sys.executable) -> str | None:
    """Why trainers cannot run as ``user`` here (None when they can): the user must be able to
    run this interpreter and import what a trainer imports (cloudml-hypertune, hpdash's trainer
    helpers).  The message says what to change."""
    code = "import hypertune, hpdash.trainer.summary"
    try:
        out = subprocess.run([python, "-c", code], user=user.uid, group=user.gid,
                             extra_groups=[], capture_output=True, text=True, timeout=60,
                             cwd="/", env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                             check=False)
    except PermissionError:
        return (f"hpdash cannot switch to the trial user {user.name!r} (HPDASH_TRIAL_USER): "
                "only root can run trainers as another user. Run hpdash as root, or set "
                "HPDASH_TRIAL_USER= (empty) to run trainers as your own user, which lets them "
                "read hpdash's data")
    except (OSError, subprocess.SubprocessError) as exc:
        why = str(exc)
    else:
        if out.returncode == 0:
            return None
        why = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
    real = os.path.realpath(python)
    blocked = blocked_at(Path(real), user)
    where = f": {blocked} is closed to it" if blocked else ""
    return (f"trainers would run as {user.name!r} (HPDASH_TRIAL_USER), which cannot run "
            f"{python} ({real}) and import cloudml-hypertune and hpdash{where} ({why}). Put "
            "hpdash where that user can read it (e.g. /opt/hpdash, not a 0700 home directory) "
            "and build its virtualenv from a Python that user can run (rm -rf .venv && make "
            "run PYTHON=/usr/bin/python3.11), or name a user who can in HPDASH_TRIAL_USER")


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
