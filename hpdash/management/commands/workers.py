from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hpdash.ops.supervisor import Supervisor


class Command(BaseCommand):
    help = ("Run this machine's hpdash workers in the foreground against the main machine's "
            "PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): HPDASH_WORKERS RQ workers, "
            "restarted when they die. What `make worker` calls.")

    def handle(self, *args: Any, **options: Any) -> None:
        raise SystemExit(Supervisor(workers_only=True).run())
