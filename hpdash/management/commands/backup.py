from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = ("Write a consistent copy of the SQLite database to PATH while hpdash runs (SQLite's "
            "online backup). For PostgreSQL use pg_dump.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "sqlite":
            raise CommandError("the database is not SQLite: use pg_dump (see README Operations)")
        target = Path(options["path"])
        if target.exists():
            raise CommandError(f"{target} exists; choose a new file")
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(str(connection.settings_dict["NAME"]))
        try:
            with sqlite3.connect(str(target)) as dest:
                source.backup(dest)
        finally:
            source.close()
        self.stdout.write(f"backed up to {target}")
