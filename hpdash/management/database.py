"""What the management commands that need hpdash's tables check first."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def require_migrated_database() -> None:
    """Refuse, in one line, to run against a database hpdash has not set up: the usual cause
    is a second terminal without the ``HPDASH_DATA_DIR`` (or ``DATABASE_URL``) that ``make
    run`` uses, which opens an empty database in another data dir."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return
    where = (f"the data dir {settings.DATA_DIR}" if connection.vendor == "sqlite"
             else f"the {connection.vendor} database {connection.settings_dict.get('NAME')!r}")
    raise CommandError(
        f"{where} has no hpdash database yet: run this where `make run` runs, with the same "
        "HPDASH_DATA_DIR (or DATABASE_URL), or start hpdash once with `make run`")
