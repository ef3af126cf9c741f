"""Which local paths a job may name (``packageUris``, ``jobDir``).  Pure functions, no Django:
the service checks a job with them when it is created, the worker again before it copies a
package (a path may have become a link meanwhile).

- Never inside ``/proc``, ``/sys`` or ``/dev`` (as given, or once links are resolved): they
  reach other processes' files (``/proc/1/root``), kernel knobs and devices.
- Never inside hpdash's data dir, where the database, the secret key, every project's logs
  and trials live; except a package uploaded through the new-job form, named exactly
  (``<data>/uploads/<random>/<file>``: its random folder name is known only to whoever
  uploaded it).
- Inside one of the allowed roots (``HPDASH_ALLOWED_PATHS``), links resolved, and without
  ``..`` steps.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import Enum

SYSTEM_ROOTS = ("/proc", "/sys", "/dev")
UPLOADS = "uploads"


class PathUse(Enum):
    PACKAGE = "package"
    JOB_DIR = "jobDir"


def _inside(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root.rstrip("/") + "/")


def _an_upload(real: str, data_dir: str) -> bool:
    parts = os.path.relpath(real, data_dir).split("/")
    return len(parts) == 3 and parts[0] == UPLOADS and os.path.isfile(real)


def path_refusal(path: str, *, use: PathUse, data_dir: str, allowed: Sequence[str]
                 ) -> str | None:
    """Why a job may not use the local ``path`` for ``use`` (None when it may), in words that
    say what to do instead."""
    if not os.path.isabs(path):
        return f"{path} is not an absolute path"
    if ".." in path.split("/"):
        return f"{path} contains '..': give the path without parent-directory steps"
    for root in SYSTEM_ROOTS:
        if _inside(path, root):
            return f"{path} is inside {root}, which no job may use"
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError) as exc:
        return f"{path} cannot be resolved on this server: {exc}"
    for root in SYSTEM_ROOTS:
        if _inside(real, root):
            return f"{path} is inside {root}, which no job may use"
    data = os.path.realpath(data_dir)
    if _inside(real, data) and not (use is PathUse.PACKAGE and _an_upload(real, data)):
        return (f"{path} is inside hpdash's data directory ({data}), which no job may use; "
                "give a folder of your own")
    if _inside(data, real) and use is PathUse.PACKAGE:
        return f"{path} contains hpdash's data directory ({data}), which no job may copy"
    if not any(_inside(real, root) for root in allowed):
        return (f"{path} is outside the directories this server allows "
                f"(HPDASH_ALLOWED_PATHS: {', '.join(allowed)})")
    return None
