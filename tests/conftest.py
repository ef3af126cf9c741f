"""Unit tests run on ``tests.settings`` (a temporary data dir) with pytest-django's test
database; end-to-end tests (``tests/e2e``) start the real thing."""
