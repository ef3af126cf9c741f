"""API token writes."""

from __future__ import annotations

from django.utils import timezone

from hpdash.models import ApiToken

# last_used is written at most this often (seconds) per token: a busy client would otherwise
# write a row on every request.
LAST_USED_EVERY = 60


def token_mark_used(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used is None or (now - token.last_used).total_seconds() > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
