from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hpdash.management.database import require_migrated_database
from hpdash.models import ApiToken, hash_token


class Command(BaseCommand):
    help = "Revoke an API token, given the token itself or its prefix (first 12 characters)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token_or_prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated_database()
        value = options["token_or_prefix"]
        rows = ApiToken.objects.filter(token_hash=hash_token(value), revoked=False)
        if not rows.exists():
            rows = ApiToken.objects.filter(prefix=value[:12], revoked=False)
        n = rows.update(revoked=True)
        if not n:
            raise CommandError("no active token matches")
        self.stdout.write(f"revoked {n} token(s)")
