"""Where hpdash keeps its files, shared by settings, the supervisor (`make run`) and tests.

Everything hpdash writes lives under ``$HPDASH_DATA_DIR`` (default ``./var`` beside
``manage.py``): the SQLite database, the generated secret key, the embedded Redis' socket and
data, and every trial's outputs and logs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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
    return f"unix://{redis_socket_path()}?db=0"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or embedded_redis_url()


def secret_key() -> str:
    """``SECRET_KEY`` from the environment, else generated once into the data dir (0600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = layout().secret_key
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
