"""API token reads."""

from __future__ import annotations

from hpdash.models import ApiToken, hash_token

# Longer than any token hpdash issues: not worth hashing.
MAX_TOKEN_CHARS = 200


def token_find(*, token: str) -> ApiToken | None:
    """The live token row for this bearer token (its user active), else None."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    row = (ApiToken.objects.select_related("user")
           .filter(token_hash=hash_token(token), revoked=False).first())
    if row is None or not row.user.is_active:
        return None
    return row
