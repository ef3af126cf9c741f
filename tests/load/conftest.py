"""The load suite (``pytest -m load tests/load``): one ``manage.py serve`` stack with 2 workers,
what ``make run`` starts, shared by the load tests.  The drivers live in ``benchmarks/load.py``
(also runnable on its own); the stack harness is the end-to-end suite's."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "tests" / "e2e", ROOT / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from harness import Stack, running_stack  # noqa: E402
from load import WORKERS  # noqa: E402  (benchmarks/load.py)


@pytest.fixture(scope="session")
def load_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("hpdash-load")
    data.chmod(0o711)  # the trial user passes through to its sandbox
    with running_stack(data, workers=WORKERS) as s:
        yield s
