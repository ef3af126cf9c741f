"""Worker machine credentials (writes)."""

from __future__ import annotations

from django.utils import timezone

from hpdash.models import WorkerKey
from hpdash.services.tokens import LAST_USED_EVERY


def worker_key_mark_used(*, key: WorkerKey) -> None:
    now = timezone.now()
    if key.last_used is None or (now - key.last_used).total_seconds() > LAST_USED_EVERY:
        WorkerKey.objects.filter(pk=key.pk).update(last_used=now)
