"""Container tests run real podman (root, runc) on the small host-Python image, built once per
machine by :mod:`hpdash.ops.host_python_image`.  They skip where podman is not installed,
except under ``HPDASH_REQUIRE_PODMAN=1`` (``.ci/run`` sets it: CI installs podman, so there a
missing podman is a failure, not a skip)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from hpdash.core.runner.podman import Podman
from hpdash.ops.host_python_image import DEFAULT_TAG, build

# The end-to-end container tests start the stack with the e2e tests' harness.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    required = os.environ.get("HPDASH_REQUIRE_PODMAN") == "1"
    found = Podman.here(tmp_path_factory.mktemp("podman-conf"))
    if found is None or os.geteuid() != 0 or not shutil.which("catatonit"):
        why = "container tests need root, podman and catatonit (apt-get install podman runc " \
              "catatonit busybox-static)"
        if required:
            pytest.fail(f"HPDASH_REQUIRE_PODMAN=1: {why}")
        pytest.skip(why)
    return found


@pytest.fixture(scope="session")
def image(podman: Podman) -> str:
    """The host-Python image (built if missing: ~15 s the first time on a machine)."""
    build(DEFAULT_TAG, podman=podman)
    return DEFAULT_TAG

