"""`make worker`'s checks: a worker machine refuses settings that would leave its workers on a
database or a queue of their own, and says which setting to change."""

from __future__ import annotations

import fakeredis
import pytest
import redis
from rq import Worker

from hpdash.ops import worker_machine
from hpdash.ops.worker_machine import address, database_problem, settings_problems


def test_it_names_both_settings_a_worker_machine_needs():
    problems = settings_problems({})
    assert len(problems) == 2
    assert problems[0].startswith("DATABASE_URL is not set")
    assert problems[1].startswith("REDIS_URL is not set")


def test_a_sqlite_database_is_refused_as_one_of_its_own():
    problems = settings_problems({"DATABASE_URL": "sqlite:///x.db", "REDIS_URL": "redis://h/0"})
    assert [p.split(" ")[0] for p in problems] == ["DATABASE_URL"]


def test_addresses_in_messages_never_show_the_password():
    assert address("redis://:s3cret@main:6379/0") == "main:6379"
    assert address("postgres://hpdash:s3cret@db/hpdash") == "db"


@pytest.mark.django_db
def test_a_migrated_database_of_this_version_has_no_problem():
    assert database_problem() is None


def test_only_this_machines_registered_workers_count(monkeypatch):
    server = fakeredis.FakeServer()
    conn = fakeredis.FakeStrictRedis(server=server)
    monkeypatch.setattr(redis.Redis, "from_url",
                        staticmethod(lambda url, **kw: fakeredis.FakeStrictRedis(server=server)))
    for name in ("gpu-2.101", "gpu-2.102", "gpu-1.7"):
        Worker(["default"], connection=conn, name=name).register_birth()
    assert worker_machine.workers_registered("redis://x", "gpu-2") == 2
    assert worker_machine.workers_registered("redis://x", "gpu-3") == 0
