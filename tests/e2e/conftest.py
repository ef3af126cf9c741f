from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from harness import ROOT, Stack, _free_port, _wait_http


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("hpdash-e2e")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(HPDASH_DATA_DIR=str(data_dir), HPDASH_PORT=str(port), HPDASH_WORKERS="3",
               HPDASH_TRIAL_POLL_INTERVAL="0.2", HPDASH_TRIAL_STOP_GRACE="2",
               DJANGO_SETTINGS_MODULE="hpdash.settings")
    if os.environ.get("E2E_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["E2E_DATABASE_URL"]
    log = data_dir / "serve.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve"], env=env,
                                cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, proc, log)
        out = subprocess.run([sys.executable, str(ROOT / "manage.py"), "create_api_token",
                              "e2e"], env=env, capture_output=True, text=True, check=True,
                             cwd=ROOT)
        token = out.stdout.strip().splitlines()[-1]
        yield Stack(url=url, token=token, data_dir=data_dir, env=env, log=log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


