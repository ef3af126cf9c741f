from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("hpdash-e2e")
    data.chmod(0o711)  # the trial user passes through to its sandbox
    # A workstation with two GPUs (declared: these machines have none), so that jobs pasted
    # with accelerator flags are accepted.
    with running_stack(data, workers=3, HPDASH_GPUS="0,1") as s:
        yield s
