"""Helpers for the end-to-end tests: the running stack, Google's client, job bodies."""

from __future__ import annotations

import contextlib
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
TRAINERS = Path(__file__).resolve().parent / "trainers"

QUADRATIC = {
    "goal": "MAXIMIZE",
    "hyperparameterMetricTag": "score",
    "maxTrials": 6,
    "maxParallelTrials": 2,
    "params": [
        {"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1,
         "scaleType": "UNIT_LINEAR_SCALE"},
        {"parameterName": "y", "type": "DOUBLE", "minValue": 0.01, "maxValue": 1,
         "scaleType": "UNIT_LOG_SCALE"},
    ],
}


@dataclass
class Stack:
    url: str
    token: str
    data_dir: Path
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def out_dir(self) -> Path:
        """Where jobs write (their jobDir): beside the data dir, not in it.  hpdash keeps its
        data dir private (every `manage.py` command tightens it to 0700), so a jobDir inside
        it would stop being reachable by the trial user, as it would for a real user."""
        out = self.data_dir.parent / f"{self.data_dir.name}-out"
        out.mkdir(exist_ok=True)
        out.chmod(0o755)
        return out

    def log_mark(self) -> int:
        """Where the service log ends now: :meth:`log_since` reads what was logged after.  A
        module that shares one stack between its tests reads each test's own lines so."""
        return self.log.stat().st_size

    def log_since(self, mark: int) -> str:
        with open(self.log, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")

    def interrupt(self, again_after: float | None = None) -> int:
        """Ctrl-C in a terminal: SIGINT to the whole foreground process group of `make run`
        (the stack runs in a session of its own, as a terminal's job does), and once more
        ``again_after`` seconds later if given.  Returns the exit status once it has
        stopped."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGINT)
        if again_after is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return self.proc.wait(timeout=again_after)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout=60)

    def ml(self) -> Any:  # Google's own client, unchanged; its methods are built at run time
        import google.oauth2.credentials
        from googleapiclient import discovery

        return discovery.build(
            "ml", "v1", static_discovery=True,
            client_options={"api_endpoint": self.url},
            credentials=google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
                self.token),  # (google-auth leaves this constructor unannotated)
            cache_discovery=False,
        )

    def manage(self, *args: str) -> str:
        out = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=self.env,
                             capture_output=True, text=True, check=True, cwd=ROOT)
        return out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
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


@contextlib.contextmanager
def running_stack(data_dir: Path, workers: int = 3, **extra_env: str) -> Iterator[Stack]:
    """`manage.py serve` (what `make run` starts) in ``data_dir``, with an API token."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(HPDASH_DATA_DIR=str(data_dir), HPDASH_PORT=str(port), HPDASH_WORKERS=str(workers),
               HPDASH_TRIAL_POLL_INTERVAL="0.2", HPDASH_TRIAL_STOP_GRACE="2",
               DJANGO_SETTINGS_MODULE="hpdash.settings")
    env.update(extra_env)
    if os.environ.get("E2E_DATABASE_URL"):
        env["DATABASE_URL"] = postgres_database_for(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "serve.log"
    with open(log, "ab") as logf:
        proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve"], env=env,
                                cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, proc, log)
        out = subprocess.run([sys.executable, str(ROOT / "manage.py"), "create_api_token",
                              "e2e"], env=env, capture_output=True, text=True, check=True,
                             cwd=ROOT)
        token = out.stdout.strip().splitlines()[-1]
        yield Stack(url=url, token=token, data_dir=data_dir, env=env, log=log, proc=proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()




def postgres_database_for(data_dir: Path) -> str:
    """With ``E2E_DATABASE_URL`` (a PostgreSQL server URL whose role may create databases), each
    data dir gets its own database, created on first use, so stacks never share state."""
    import hashlib
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    admin = os.environ["E2E_DATABASE_URL"]
    name = "hpdash_e2e_" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    return urlunsplit(parts._replace(path="/" + name))


def wait_until_true(page: Page, expression: str, timeout: float = 30) -> None:
    """Polls a JavaScript expression in ``page`` until it is true.  Playwright's own
    wait_for_function compiles the expression with Function() inside the page, which the
    Content-Security-Policy (no 'unsafe-eval') refuses; evaluate() goes through the DevTools
    protocol, which the policy does not govern."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def _status_nspid(pid: str) -> list[int]:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(v) for v in line.split()[1:]]
    return [int(pid)]


def host_pids(trial_pids: list[int], trial_dir: Path) -> list[int]:
    """The host pids of processes of the trial whose ``<jobDir>/<trialId>`` is ``trial_dir``,
    given as that trial saw them: a boxed trial has a PID namespace of its own, so the pid a
    trainer writes down is its box's (unboxed, it is the host's).  A process is the trial's
    when its environment names the trial (``CLOUD_ML_TRIAL_ID``) and the jobDir (in
    ``TF_CONFIG``).  Processes already gone are left out."""
    wanted, found = set(trial_pids), {}
    trial_var = f"CLOUD_ML_TRIAL_ID={trial_dir.name}".encode()
    job_dir = str(trial_dir.parent).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            nspid = _status_nspid(entry)
            if nspid[-1] not in wanted:
                continue
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() == "bwrap":
                    continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if trial_var in environ and any(v.startswith(b"TF_CONFIG=") and job_dir in v
                                        for v in environ):
            found[nspid[-1]] = int(entry)
    return [found[p] for p in trial_pids if p in found]


def trainer_pids(job_dir: Path) -> list[int]:
    """The host pids of the trainers that wrote ``<job_dir>/<trialId>/pid.<pid>`` files
    (e2etrainer.quadratic does), still running."""
    pids = []
    for pid_file in sorted(job_dir.glob("*/pid.*")):
        pids += host_pids([int(pid_file.read_text())], pid_file.parent)
    return pids


def trainers_under(root: int, module: str) -> list[int]:
    """The trainers of ``module`` (``python -m module``, not their bwrap) among ``root``'s
    descendants: a stack's or a worker machine's running trials."""
    found, todo, needle = [], [root], module.encode()
    while todo:
        here = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{here}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in
                        Path(f"/proc/{here}/task/{task}/children").read_text().split()]
            except OSError:
                continue
            todo += kids
            for kid in kids:
                try:
                    argv = Path(f"/proc/{kid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if needle in argv and b"-m" in argv and argv[0] != b"bwrap":
                    found.append(kid)
    return found


def worker_of(pid: int) -> int:
    """The worker that runs trainer ``pid``: its parent, past a box's bubblewrap processes."""
    while True:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        pid = int(stat[stat.rfind(")") + 2:].split()[1])
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() != "bwrap":
                return pid


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # gone before the open (ENOENT) or between open and read (ESRCH)
        return False


def wait_for_state(ml: Any, name: str,
                   states: tuple[str, ...] = ("SUCCEEDED", "FAILED", "CANCELLED"),
                   timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = ml.projects().jobs().get(name=name).execute()
        if job["state"] in states:
            return job
        time.sleep(0.3)
    raise AssertionError(f"{name} stuck in {job.get('state')}: {job}")


def trainer_job(job_id: str, module: str, hyper: dict[str, Any], args: list[str] | None = None,
                job_dir: str | None = None) -> dict[str, Any]:
    ti: dict[str, Any] = {"pythonModule": module, "packageUris": [str(TRAINERS / "e2etrainer")],
                "args": args or [], "hyperparameters": hyper, "scaleTier": "BASIC",
                "region": "local"}
    if job_dir:
        ti["jobDir"] = job_dir
    return {"jobId": job_id, "trainingInput": ti}


# -- the browser tests' shared pieces ----------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def skip_without_chromium() -> None:
    """Call at a browser module's top: skip it where Chromium is missing (never in CI)."""
    import pytest

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"browser tests need {CHROMIUM} (apt-get install chromium)",
                    allow_module_level=True)


def create_superuser(stack: Stack, username: str, password: str) -> None:
    env = {**stack.env, "DJANGO_SUPERUSER_PASSWORD": password}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "createsuperuser", "--noinput",
                    "--username", username, "--email", f"{username}@example.com"],
                   env=env, check=True, capture_output=True, cwd=ROOT)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
