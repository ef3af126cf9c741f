from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("hpdash-e2e"), workers=3) as s:
        yield s
