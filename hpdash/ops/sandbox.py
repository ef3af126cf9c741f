"""The trial sandbox: which OS user trainers run as, and whether they can.

A trainer is untrusted code.  When hpdash runs as root, trainers run as an unprivileged user,
``HPDASH_TRIAL_USER`` (default ``nobody``); a service that is not root may name a user it is
allowed to switch to.  Such a trainer reaches only its own trial directory (its cwd, HOME and
TMPDIR), its job's packages (read-only) and its ``<jobDir>/<trialId>``: not the database, the
secret key, the Redis socket or password, other trials' logs, or uploads (see
:func:`hpdash.ops.paths.secure_data_dir`), and it cannot signal the worker.

With ``HPDASH_TRIAL_USER`` empty (the default for a service that is not root), trainers run as
the service's own user and can read everything it can: ``make run`` says so at start.

The trial's directories are set up by the local executor (:mod:`hpdash.core.runner.sandbox`).
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
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
