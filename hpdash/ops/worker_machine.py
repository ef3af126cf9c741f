"""``make worker``: what a second machine needs before its workers may take trials.

A worker machine shares the main machine's PostgreSQL and Redis and nothing else on disk.  Each
problem found is one sentence that names the setting or the address and says what to change;
:class:`hpdash.ops.supervisor.Supervisor` refuses to start workers while there is one, instead
of workers that would take trials from a queue of their own or write into a database nobody
reads.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from urllib.parse import urlsplit

import redis
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from rq import Worker


def address(url: str) -> str:
    """``host:port`` of a URL, never its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or ''}".rstrip(":")


def settings_problems(env: dict[str, str]) -> list[str]:
    """What is missing from the environment (no connection is tried)."""
    problems = []
    database = env.get("DATABASE_URL", "")
    if not database or database.startswith("sqlite"):
        problems.append(
            "DATABASE_URL is not set to the main machine's PostgreSQL (for example "
            "DATABASE_URL=postgres://hpdash:PASSWORD@main:5432/hpdash): workers on a database "
            "of their own would never see a job")
    if not env.get("REDIS_URL"):
        problems.append(
            "REDIS_URL is not set to the main machine's Redis (for example "
            "REDIS_URL=redis://:PASSWORD@main:6379/0): workers with a queue of their own would "
            "never get a trial")
    return problems


def database_problem() -> str | None:
    """The database cannot be reached, or its schema is not this checkout's."""
    where = address(os.environ.get("DATABASE_URL", ""))
    try:
        executor = MigrationExecutor(connection)
        missing = executor.migration_plan(executor.loader.graph.leaf_nodes())
        applied = set(MigrationRecorder(connection).applied_migrations())
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot reach the database at {where}: {first}"
    finally:
        connection.close()
    known = set(executor.loader.disk_migrations)
    unknown = sorted(f"{app}.{name}" for app, name in applied - known)
    if unknown:
        return (f"the database at {where} has migrations this checkout does not know "
                f"({', '.join(unknown[:3])}): the main machine runs a newer hpdash; check out "
                "the same version here (git pull) and run make worker again")
    if missing:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in missing[:3])
        return (f"the database at {where} is not migrated to this hpdash version (missing "
                f"{names}): start the main machine's make run with this version first, or "
                "check out the main machine's version here")
    return None


def redis_problem(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.exceptions.AuthenticationError:
        return f"Redis at {address(url)} refused the password in REDIS_URL"
    except (redis.exceptions.RedisError, OSError) as exc:
        return f"cannot reach Redis at {address(url)}: {exc}"
    return None


def workers_registered(url: str, host: str) -> int:
    """How many RQ workers of machine ``host`` the queue knows (they are named ``host.pid``,
    :class:`hpdash.worker.worker.Worker`)."""
    try:
        names = [w.name for w in Worker.all(connection=redis.Redis.from_url(url))]
    except (redis.exceptions.RedisError, OSError):
        return 0
    return sum(name.rsplit(".", 1)[0] == host for name in names)


def server_problem(url: str, key: str) -> str | None:
    """The server at ``url`` does not take this machine's trial logs with ``key``."""
    if not key:
        return ("HPDASH_SERVER_URL is set but HPDASH_WORKER_KEY is not: create one on the main "
                "machine (.venv/bin/python manage.py create_worker_key MACHINE)")
    probe = urllib.request.Request(  # noqa: S310  # http(s), checked by the settings
        f"{url}/workers/v1/trials/0/log", data=b"", method="POST",
        headers={"Authorization": f"Bearer {key}", "X-Hpdash-Attempt": "0",
                 "X-Hpdash-Offset": "0"})
    try:
        with urllib.request.urlopen(probe, timeout=10):  # noqa: S310
            return None
    except urllib.error.HTTPError as exc:
        if exc.code == 409:  # "no trial 0": the key was accepted
            return None
        if exc.code == 401:
            return (f"the server at {url} does not accept HPDASH_WORKER_KEY (revoked, or made "
                    "on another server): create one with manage.py create_worker_key there")
        if exc.code == 400:  # Django's answer to a Host it does not serve
            host = urllib.parse.urlsplit(url).hostname
            return (f"the server at {url} answered HTTP 400 to a worker machine: add {host} "
                    "to HPDASH_ALLOWED_HOSTS on the main machine")
        return f"the server at {url} answered HTTP {exc.code} to a worker machine"
    except OSError as exc:
        return f"cannot reach the server at {url} (HPDASH_SERVER_URL): {exc}"


def worker_machine_problems(env: dict[str, str], server_url: str = "",
                            worker_key: str = "") -> list[str]:
    """Everything that stops this machine's workers from taking the main machine's trials
    (and, with ``server_url``, from sending their logs there)."""
    problems = settings_problems(env)
    if problems:
        return problems
    checks = [database_problem(), redis_problem(env["REDIS_URL"])]
    if server_url:
        checks.append(server_problem(server_url, worker_key))
    return [p for p in checks if p]
