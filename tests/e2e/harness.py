"""Helpers for the end-to-end tests: the running stack, Google's client, job bodies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINERS = Path(__file__).resolve().parent / "trainers"


@dataclass
class Stack:
    url: str
    token: str
    data_dir: Path
    env: dict[str, str]
    log: Path

    def ml(self):  # Google's own client, unchanged
        import google.oauth2.credentials
        from googleapiclient import discovery

        return discovery.build(
            "ml", "v1", static_discovery=True,
            client_options={"api_endpoint": self.url},
            credentials=google.oauth2.credentials.Credentials(self.token),
            cache_discovery=False,
        )

    def manage(self, *args: str) -> str:
        out = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=self.env,
                             capture_output=True, text=True, check=True, cwd=ROOT)
        return out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hpdash exited early:\n{log.read_text()[-4000:]}")
        try:
            urllib.request.urlopen(url + "/accounts/login/", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"hpdash did not come up:\n{log.read_text()[-4000:]}")


def wait_for_state(ml, name: str, states: tuple[str, ...] = ("SUCCEEDED", "FAILED", "CANCELLED"),
                   timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    job: dict = {}
    while time.monotonic() < deadline:
        job = ml.projects().jobs().get(name=name).execute()
        if job["state"] in states:
            return job
        time.sleep(0.3)
    raise AssertionError(f"{name} stuck in {job.get('state')}: {job}")


def trainer_job(job_id: str, module: str, hyper: dict, args: list[str] | None = None,
                job_dir: str | None = None) -> dict:
    ti: dict = {"pythonModule": module, "packageUris": [str(TRAINERS / "e2etrainer")],
                "args": args or [], "hyperparameters": hyper, "scaleTier": "BASIC",
                "region": "local"}
    if job_dir:
        ti["jobDir"] = job_dir
    return {"jobId": job_id, "trainingInput": ti}
