from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("First run: if there are no users at all, create the superuser 'admin' with a "
            "generated password and print it once. Does nothing otherwise. `make run` calls it.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        bar = "=" * 64
        self.stdout.write(f"\n{bar}\n hpdash: first run, created the administrator account\n"
                          f"   username: admin\n   password: {password}\n"
                          f" Log in at /accounts/login/ and change it (Admin → Users).\n"
                          f" This password is not shown again.\n{bar}\n")
