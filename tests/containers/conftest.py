"""Container tests run real podman (root, runc) on the small host-Python image, built once per
machine by :mod:`hpdash.ops.host_python_image`, and pull from a real registry (Debian's
``docker-registry``, the CNCF distribution registry) on 127.0.0.1.  They skip where podman or
the registry is not installed, except under ``HPDASH_REQUIRE_PODMAN=1`` (``.ci/run`` sets it:
CI installs both, so there a missing one is a failure, not a skip)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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



@dataclass(frozen=True)
class Registry:
    """A registry on 127.0.0.1 (plain HTTP), and a port on which nothing listens."""

    host: str  # 127.0.0.1:PORT
    closed: str  # 127.0.0.1:PORT, refusing connections


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def registry(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Debian's docker-registry on a free port with a config of its own, storing under a
    temporary directory, stopped at the end."""
    exe = shutil.which("docker-registry")
    if exe is None:
        why = "pull tests need docker-registry (apt-get install docker-registry)"
        if os.environ.get("HPDASH_REQUIRE_PODMAN") == "1":
            pytest.fail(f"HPDASH_REQUIRE_PODMAN=1: {why}")
        pytest.skip(why)
    root = tmp_path_factory.mktemp("registry")
    host = f"127.0.0.1:{_free_port()}"
    (root / "config.yml").write_text(
        f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'store'}\nhttp:\n  addr: {host}\n")
    with open(root / "registry.log", "ab") as log:
        proc = subprocess.Popen([exe, "serve", str(root / "config.yml")], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{host}/v2/", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, (root / "registry.log").read_text()
                assert time.monotonic() < deadline, "docker-registry did not come up"
                time.sleep(0.2)
        yield Registry(host=host, closed=f"127.0.0.1:{_free_port()}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
