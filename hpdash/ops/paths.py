"""Where hpdash keeps its files, shared by settings, the supervisor (`make run`) and tests.

Everything hpdash writes lives under ``$HPDASH_DATA_DIR`` (default ``./var`` beside
``manage.py``): the SQLite database, the generated secret key, the embedded Redis' socket and
data, and every trial's outputs and logs.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from urllib.parse import quote

from hpdash.core.layout import DataLayout

BASE_DIR = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    path = Path(os.environ.get("HPDASH_DATA_DIR") or BASE_DIR / "var")
    return path.resolve()


def layout() -> DataLayout:
    return DataLayout(data_dir())


def redis_socket_path() -> Path:
    return layout().redis_socket


def embedded_redis_url() -> str:
    """The embedded Redis: a Unix socket only its owner may open (0700 dir), and a password."""
    password = quote(_generated_secret(layout().redis_password), safe="")
    return f"unix://{redis_socket_path()}?db=0&password={password}"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or embedded_redis_url()


def secret_key() -> str:
    """``SECRET_KEY`` from the environment, else generated once into the data dir (0600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    return _generated_secret(layout().secret_key)


def _generated_secret(path: Path) -> str:
    """The secret in ``path``, generated on first use into a 0600 file."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def secure_data_dir(root: Path, trial_gid: int | None) -> None:
    """Create the data dir and make it private: 0700 and files 0600, so no other user of the
    machine reads the database, the secret key or the queue.  With a trial user (sandboxed
    trainers), the data dir, its ``sandbox/`` and its ``envs/`` are 0710 with the trial user's
    group, so a trainer can pass through to its own trial directory and its job's environment,
    and can neither list nor open anything else.  Everything hpdash creates later follows the
    process umask, 077."""
    os.umask(0o077)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    _private(root, trial_gid)
    # The sandbox and the jobs' Python environments (envs/): passed through by trainers.
    shared = (DataLayout(root).sandbox, DataLayout(root).envs)
    if trial_gid is not None:
        for path in shared:
            path.mkdir(mode=0o700, exist_ok=True)
            _private(path, trial_gid)
    for entry in root.iterdir():  # a data dir from before this rule: tighten what is there
        if entry.is_symlink() or entry in shared:
            continue
        mode = stat.S_IMODE(entry.stat().st_mode)
        wanted = mode & (0o700 if entry.is_dir() else 0o600)
        if mode != wanted:
            entry.chmod(wanted)


def _private(path: Path, group: int | None) -> None:
    if group is None:
        path.chmod(0o700)
    else:
        os.chown(path, -1, group)
        path.chmod(0o710)
