"""Helpers shared by the unit tests (importable as ``support``)."""

from __future__ import annotations

from django.contrib.auth.models import Permission, User


def submitter(username: str, *, perms: tuple[str, ...] = ("add_job", "change_job", "cancel_job")
              ) -> User:
    """A user who may create, relabel and cancel jobs (what create_api_token makes)."""
    user = User.objects.create(username=username)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="hpdash", codename__in=perms))
    return User.objects.get(pk=user.pk)  # fresh: no stale permission cache
