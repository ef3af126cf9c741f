"""Bearer-token authentication for the REST API (tokens stored as SHA-256 only)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from hpdash.models import ApiToken, hash_token


def user_from_request(request: HttpRequest) -> object | None:
    """The active user owning the request's ``Authorization: Bearer`` token (or the standard
    ``access_token`` query parameter Google clients may use), else None."""
    header = request.headers.get("Authorization", "")
    token = ""
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
    elif "access_token" in request.GET:
        token = request.GET["access_token"].strip()
    if not token or len(token) > 200:
        return None
    row = (ApiToken.objects.select_related("user")
           .filter(token_hash=hash_token(token), revoked=False).first())
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used is None or (now - row.last_used).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used=now)
    return row.user
