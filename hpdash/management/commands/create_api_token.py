from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandParser

from hpdash.management.database import require_migrated_database
from hpdash.models import ApiToken


class Command(BaseCommand):
    help = ("Create an API token for USERNAME (creating the user if missing) and print it as the "
            "last line. Only its hash is stored: copy it now.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a note to tell tokens apart")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated_database()
        User = get_user_model()
        user, created = User.objects.get_or_create(username=options["username"])
        if created:
            user.set_unusable_password()
            user.save()
            # A user made here is meant to submit jobs: let them create, relabel and cancel.
            user.user_permissions.add(*Permission.objects.filter(
                content_type__app_label="hpdash",
                codename__in=["add_job", "change_job", "cancel_job", "delete_job"]))
            self.stderr.write(f"Created user {user.get_username()!r} (no password; API only) "
                              "with permission to create, relabel, cancel and delete jobs.")
        _, token = ApiToken.issue(user, options["name"])
        self.stdout.write(token)
