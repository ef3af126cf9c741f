"""``pageSize`` and ``nextPageToken``s for list methods: keyset pagination, newest first, so
jobs created meanwhile shift nothing; a token is tied to the filter it was issued for."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re

from django.db.models import Q

from hpdash.api.common.errors import ApiError
from hpdash.models import Job

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_size(text: str) -> int:
    """``pageSize`` as given: unset or 0 is the default; more than the maximum is the
    maximum; anything else is INVALID_ARGUMENT naming the field."""
    try:
        size = int(text or DEFAULT_PAGE_SIZE)
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", "pageSize must be an integer.",
                       [("pageSize", "must be an integer")]) from None
    if size < 0:
        raise ApiError("INVALID_ARGUMENT", "pageSize must not be negative.",
                       [("pageSize", "must not be negative")])
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _filter_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def page_token(last: Job, filter_text: str) -> str:
    usec = (last.create_time - _EPOCH) // dt.timedelta(microseconds=1)
    raw = f"k:{usec}:{last.pk}:{_filter_key(filter_text)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def rows_after(token: str, filter_text: str) -> Q:
    """:func:`page_after`, or INVALID_ARGUMENT naming ``pageToken`` for a token this server
    did not issue (for this filter): what every family's list answers."""
    after = page_after(token, filter_text)
    if after is None:
        raise ApiError("INVALID_ARGUMENT", "Invalid pageToken.", [(
            "pageToken", "not a nextPageToken of this list (with the same filter)")])
    return after


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
