"""Fixtures for the CLI's unit tests: a stub ml v1 server, and an environment that never
reads the user's own CLI config or ``HPDASH_*`` variables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_stub import StubServer, stub_server


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with stub_server() as s:
        yield s


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("HPDASH_URL", "HPDASH_TOKEN", "HPDASH_PROJECT", "HPDASH_DATA_DIR",
                "HPDASH_STAGING_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HPDASH_CONFIG", str(tmp_path / "cli-config.yaml"))
