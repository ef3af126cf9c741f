"""Unit tests run on ``tests.settings`` (a temporary data dir) with pytest-django's test
database; end-to-end tests (``tests/e2e``) start the real thing."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_redis(monkeypatch):
    """Record nothing, enqueue nothing: API tests need no Redis."""
    from hpdash.worker import queue

    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)


@pytest.fixture
def auth(db, no_redis):
    """Headers of an API client whose user may create, relabel and cancel jobs."""
    from support import submitter

    from hpdash.models import ApiToken

    _, token = ApiToken.issue(submitter("alice"))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
