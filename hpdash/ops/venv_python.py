"""Which Python the Makefile builds ``.venv`` from: run by any ``python3`` before hpdash is
installed (standard library only; prints one path).

A sandboxed trainer (hpdash run as root: trainers run as ``HPDASH_TRIAL_USER``, default
``nobody``) runs in its job's own environment under the data dir, built from the interpreter
``.venv`` was made from (the default of ``HPDASH_PYTHONS``): never from the checkout, which may
sit in a 0700 home directory.  That base interpreter must be one the trial user may execute and
read.  A pyenv Python under root's 0700 home is not: then this picks the system's Python 3.11+
when the trial user can run it.  Otherwise it prints the ``python3`` that runs it.  ``make
run`` still checks at start and names the closed path, its owner and mode if the trial user
cannot run the interpreter (see hpdash/ops/sandbox.py).
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys

CHECK = "import sys, venv; sys.exit(0 if sys.version_info >= (3, 11) else 1)"


def _runs_as(python: str, user: str) -> bool:
    try:
        gid = pwd.getpwnam(user).pw_gid
        return subprocess.run([python, "-c", CHECK], user=user, group=gid, extra_groups=[],
                              capture_output=True, timeout=60, cwd="/",
                              check=False).returncode == 0
    except (OSError, subprocess.SubprocessError, KeyError):
        return False


def main() -> None:
    mine = os.path.realpath(sys.executable)
    user = os.environ.get("HPDASH_TRIAL_USER", "nobody").strip()
    if os.geteuid() != 0 or not user:
        print(mine)
        return
    for candidate in (mine, "/usr/bin/python3.11", "/usr/bin/python3"):
        if os.path.exists(candidate) and _runs_as(candidate, user):
            print(candidate)
            return
    print(mine)


if __name__ == "__main__":
    main()
