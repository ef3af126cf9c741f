"""Unit tests run on ``tests.settings`` (a temporary data dir) with pytest-django's test
database; end-to-end tests (``tests/e2e``) start the real thing."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest


def traversable(path: Path, root: Path) -> Path:
    """Let the trial user (tests run as root, trainers as nobody) pass through ``path`` and
    its parents up to ``root``: pytest makes its temporary directories 0700."""
    for step in (path, *path.parents):
        step.chmod(step.stat().st_mode | 0o111)
        if step == root:
            break
    return path


def pytest_configure(config: pytest.Config) -> None:
    """Each session's temporary directories under a fresh, traversable /tmp/hpdash-pytest-*:
    pytest's own /tmp/pytest-of-<user> is reset to 0700 by every session, which would lock
    the trial user out of the job dirs of a session running beside it."""
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="hpdash-pytest-")
        config.stash[_OWN_BASETEMP] = Path(config.option.basetemp)


_OWN_BASETEMP = pytest.StashKey[Path]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A session that passed removes the directories it made (a full run leaves gigabytes:
    job dirs, environments, images); one that failed keeps them for a look, and says where.
    ``HPDASH_KEEP_TMP=1`` keeps them always."""
    own = session.config.stash.get(_OWN_BASETEMP, None)
    data = os.environ.get("HPDASH_TEST_DATA_DIR_MADE", "")  # by tests/settings.py
    dirs = [d for d in (own, Path(data) if data else None) if d is not None]
    if exitstatus == 0 and not os.environ.get("HPDASH_KEEP_TMP"):
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    elif dirs:
        print(f"\ntemporary directories kept: {' '.join(map(str, dirs))}")


@pytest.fixture(scope="session", autouse=True)
def _basetemp_traversable(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.getbasetemp()  # pytest (re)creates it 0700
    base.chmod(0o711)


@pytest.fixture
def tmp_path(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pytest's ``tmp_path``, traversable by the trial user (a job dir or data dir in it)."""
    return traversable(tmp_path, tmp_path_factory.getbasetemp())


@pytest.fixture
def no_redis(monkeypatch):
    """Record nothing, enqueue nothing: API tests need no Redis."""
    from hpdash.ops import queue

    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)


@pytest.fixture
def auth(db, no_redis):
    """Headers of an API client whose user may create, relabel and cancel jobs."""
    from support import submitter

    from hpdash.models import ApiToken

    _, token = ApiToken.issue(submitter("alice"))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
