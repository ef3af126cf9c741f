"""Shared test setup.

Unit tests use pytest-django's test database inside a throw-away data dir.  End-to-end tests
(``tests/e2e``) start the real thing — ``manage.py serve``, the command ``make run`` calls — with
its embedded Redis, real RQ worker processes and gunicorn, in a temporary data dir.
"""

from __future__ import annotations

import os
import tempfile

# Before Django reads its settings: never write into the developer's ./var during tests.
os.environ.setdefault("HPDASH_DATA_DIR", tempfile.mkdtemp(prefix="hpdash-test-"))
