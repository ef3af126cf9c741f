"""``nextPageToken``s for ``jobs.list``: keyset pagination, newest first, so jobs created
meanwhile shift nothing; a token is tied to the filter it was issued for."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re

from django.db.models import Q

from hpdash.models import Job

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _filter_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def page_token(last: Job, filter_text: str) -> str:
    usec = (last.create_time - _EPOCH) // dt.timedelta(microseconds=1)
    raw = f"k:{usec}:{last.pk}:{_filter_key(filter_text)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def page_after(token: str, filter_text: str) -> Q | None:
    """The rows after the page a ``nextPageToken`` ended on (newest first: keyset pagination,
    so jobs created meanwhile shift nothing).  None for a token this server did not issue."""
    try:
        raw = base64.urlsafe_b64decode(token.encode() + b"==").decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    m = re.fullmatch(r"k:(-?\d+):(\d+):([0-9a-f]{8})", raw)
    if m is None or m.group(3) != _filter_key(filter_text):
        return None
    try:  # numbers no token of ours holds: out of datetime's or the database's range
        when = _EPOCH + dt.timedelta(microseconds=int(m.group(1)))
        pk = int(m.group(2))
    except (OverflowError, ValueError):
        return None
    if pk >= 2**63:
        return None
    return Q(create_time__lt=when) | Q(create_time=when, pk__lt=pk)
