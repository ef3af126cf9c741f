from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hpdash.ops.supervisor import Supervisor


class Command(BaseCommand):
    help = ("Run hpdash in the foreground: migrate, embedded Redis (unless REDIS_URL), "
            "HPDASH_WORKERS RQ workers and the web server. What `make run` calls.")

    def handle(self, *args: Any, **options: Any) -> None:
        raise SystemExit(Supervisor().run())
