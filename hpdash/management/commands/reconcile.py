from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hpdash.services.scheduling import queue_reconcile, trials_requeue_stale


class Command(BaseCommand):
    help = ("Settle RUNNING trials whose worker sent no heartbeat for --max-age seconds (re-queue "
            "them) and put back queued work Redis lost. `make run` does this every 10 s; run it "
            "by hand (or from cron) when workers are started without `make run`.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-age", type=float, default=60.0)

    def handle(self, *args: Any, **options: Any) -> None:
        for trial in trials_requeue_stale(options["max_age"]):
            self.stdout.write(f"re-queued {trial} (no heartbeat from {trial.worker})")
        for what in queue_reconcile(options["max_age"]):
            self.stdout.write(what)
