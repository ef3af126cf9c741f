"""Bearer-token authentication for the REST API (tokens stored as SHA-256 only)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from hpdash.selectors.tokens import token_find
from hpdash.services.tokens import token_mark_used


def user_from_request(request: HttpRequest) -> AbstractBaseUser | None:
    """The active user owning the request's ``Authorization: Bearer`` token (or the standard
    ``access_token`` query parameter Google clients may use), else None."""
    header = request.headers.get("Authorization", "")
    token = ""
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
    elif "access_token" in request.GET:
        token = request.GET["access_token"].strip()
    row = token_find(token=token)
    if row is None:
        return None
    token_mark_used(token=row)
    return row.user
