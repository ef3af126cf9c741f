"""Fixtures of the API tests: a token whose user may create, cancel and delete jobs (Vertex's
delete needs the last), and a package file to name in ``packageUris``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def vauth(db, no_redis) -> dict[str, str]:
    from support import submitter

    from hpdash.models import ApiToken

    perms = ("add_job", "change_job", "cancel_job", "delete_job")
    _, token = ApiToken.issue(submitter("vera", perms=perms))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def package(tmp_path: Path) -> str:
    path = tmp_path / "trainer-0.1.tar.gz"
    path.write_bytes(b"not really an sdist")
    return str(path)
