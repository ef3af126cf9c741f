from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hpdash.management.database import require_migrated_database
from hpdash.models import WorkerKey


class Command(BaseCommand):
    help = ("Create a worker key for a worker machine (make worker's HPDASH_WORKER_KEY) and "
            "print it as the last line. It may send trial logs, nothing else; only its hash is "
            "stored: copy it now. Revoke it in the admin (Worker keys).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the machine it is for, to tell keys apart")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated_database()
        _, key = WorkerKey.issue(options["name"])
        self.stdout.write(key)
