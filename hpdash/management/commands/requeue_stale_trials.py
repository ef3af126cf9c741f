from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hpdash import services


class Command(BaseCommand):
    help = ("Re-queue RUNNING trials whose worker has sent no heartbeat for --max-age seconds "
            "(the worker died). `make run` runs this every 15 s.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-age", type=float, default=60.0)

    def handle(self, *args: Any, **options: Any) -> None:
        for trial in services.trials_requeue_stale(options["max_age"]):
            self.stdout.write(f"re-queued {trial} (no heartbeat from {trial.worker})")
