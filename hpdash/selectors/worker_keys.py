"""Worker machine credentials (reads)."""

from __future__ import annotations

from hpdash.models import WorkerKey, hash_token
from hpdash.selectors.tokens import MAX_TOKEN_CHARS


def worker_key_find(*, key: str) -> WorkerKey | None:
    """The live worker key row for this bearer key, else None (user API tokens are not)."""
    if not key.startswith("hpw_") or len(key) > MAX_TOKEN_CHARS:
        return None
    return WorkerKey.objects.filter(key_hash=hash_token(key), revoked=False).first()
