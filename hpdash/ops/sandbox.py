"""The trial sandbox: which OS user trainers run as, and whether they can.

A trainer is untrusted code.  When hpdash runs as root, trainers run as an unprivileged user,
``HPDASH_TRIAL_USER`` (default ``nobody``); a service that is not root may name a user it is
allowed to switch to.  Such a trainer reaches only its own trial directory (its cwd, HOME and
TMPDIR), its job's packages (read-only) and its ``<jobDir>/<trialId>``: not the database, the
secret key, the Redis socket or password, other trials' logs, or uploads (see
:func:`hpdash.ops.paths.secure_data_dir`), and it cannot signal the worker.

With ``HPDASH_TRIAL_USER`` empty (the default for a service that is not root), trainers run as
the service's own user and can read everything it can: ``make run`` says so at start.

The trial's directories are set up by the local executor (:mod:`hpdash.core.runner.sandbox`);
its Python is its job's own environment under the data dir, built from an interpreter of
``HPDASH_PYTHONS`` (:mod:`hpdash.core.runner.envs`): nothing of hpdash's checkout.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from hpdash.core.runner.sandbox import TrialUser, blocked_at


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


def _closed_at(path: Path, user: TrialUser) -> Path | None:
    """The first step of ``path`` that ``user`` may not pass (a directory it cannot enter,
    or the file itself if it cannot read and run it), if any."""
    blocked = blocked_at(path, user)
    if blocked is not None:
        return blocked
    try:
        st = path.stat()
    except OSError:
        return path
    shift = 6 if st.st_uid == user.uid else 3 if st.st_gid == user.gid else 0
    return None if (st.st_mode >> shift) & 0o5 == 0o5 else path


def _describe(path: Path) -> str:
    try:
        st = path.stat()
    except OSError as exc:
        return f"{path} ({exc.strerror})"
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = f"uid {st.st_uid}"
    return f"{path} (owner {owner}, mode {stat.S_IMODE(st.st_mode):o})"


def sandbox_problem(user: TrialUser, pythons: Sequence[str]) -> str | None:
    """Why trainers cannot run as ``user`` here (None when they can): the user must be able to
    run each interpreter jobs' environments are built from (HPDASH_PYTHONS).  hpdash's own
    checkout and virtualenv need not be reachable: each job's environment lives in the data
    dir.  The message names the path, its owner and mode, and what to change."""
    for python in pythons:
        problem = _python_problem(user, python)
        if problem:
            return problem
    return None


def _python_problem(user: TrialUser, python: str) -> str | None:
    real = Path(os.path.realpath(python))
    closed = _closed_at(real, user)
    if closed is not None:
        fix = (f"chmod o+rx {closed}" if closed == real else f"chmod o+x {closed}")
        return (f"trainers run as {user.name!r} (HPDASH_TRIAL_USER), who cannot run the "
                f"interpreter {python}{f' ({real})' if str(real) != python else ''}: "
                f"{_describe(closed)} is closed to it. Open it ({fix}), or name an "
                "interpreter that user can run in HPDASH_PYTHONS (e.g. /usr/bin/python3), or "
                "another user in HPDASH_TRIAL_USER")
    try:
        out = subprocess.run([str(real), "-I", "-c", "import venv"], user=user.uid,
                             group=user.gid, extra_groups=[], capture_output=True, text=True,
                             timeout=60, cwd="/", env={"PATH": "/usr/bin:/bin"}, check=False)
    except PermissionError as exc:
        if os.geteuid() == 0:
            return (f"trainers run as {user.name!r} (HPDASH_TRIAL_USER), who cannot run "
                    f"{_describe(real)}: {exc.strerror}")
        return (f"hpdash runs as uid {os.geteuid()}, which may not switch to the trial user "
                f"{user.name!r} (HPDASH_TRIAL_USER); only root can run trainers as another "
                "user. Set HPDASH_TRIAL_USER= (empty) to run trainers as your own user, which "
                "lets them read hpdash's data")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the trial user {user.name!r} cannot run {python}: {exc}"
    if out.returncode != 0:
        why = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        return (f"the trial user {user.name!r} (HPDASH_TRIAL_USER) cannot run {python} "
                f"with its standard library ({why}); name another interpreter in "
                "HPDASH_PYTHONS")
    return None
