"""Narrow a ``jobs.list`` filter down in the database before it is evaluated in Python.

:func:`to_q` returns a ``Q`` that every matching job satisfies (it may let through jobs that do
not match — SQLite's ``LIKE`` ignores case, for one — so the caller still evaluates the filter
on each row with :func:`hpdash.core.listfilter.matches`).  What cannot be translated (fields
without a column, such as ``trainingInput.*``; wildcards other than a trailing one; ordering on
strings) becomes "no constraint"; a negation is translated only when its operand translates
exactly.  Each API family gives its field catalogue: :class:`Columns`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact, StartsWith

from hpdash.api.common.errors import ApiError
from hpdash.core import listfilter
from hpdash.core.listfilter import And, Catalogue, Expr, Not, Or, Restriction


def list_filter(text: str, catalogue: Catalogue) -> Expr | None:
    """A list's ``filter`` parsed on ``catalogue``'s fields (None: everything), or
    INVALID_ARGUMENT naming ``filter``."""
    try:
        return listfilter.parse_filter(text, catalogue)
    except listfilter.FilterError as exc:
        raise ApiError("INVALID_ARGUMENT", f"Invalid filter: {exc}",
                       [("filter", str(exc))]) from None


@dataclass(frozen=True)
class Columns:
    """A family's filterable fields that are database columns: ``{field: column}`` for text,
    the same for times, and the field whose keys are the ``labels`` JSON column."""

    text: Mapping[str, str]
    times: Mapping[str, str]
    labels: str = "labels"


_TIME_LOOKUPS = {"=": "exact", ":": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def to_q(expr: Expr | None, columns: Columns) -> Q:
    """A database condition implied by the filter (``Q()`` when nothing translates)."""
    q, _ = _translate(expr, columns) if expr is not None else (None, True)
    return q if q is not None else Q()


def _translate(expr: Expr, columns: Columns) -> tuple[Q | None, bool]:
    """(condition or None for "no constraint", whether the condition is exact)."""
    if isinstance(expr, Restriction):
        return _restriction(expr, columns)
    if isinstance(expr, Not):
        q, exact = _translate(expr.child, columns)
        return (~q, True) if q is not None and exact else (None, False)
    parts = [_translate(c, columns) for c in expr.children]
    exact = all(e for _, e in parts)
    qs = [q for q, _ in parts if q is not None]
    if isinstance(expr, And):
        if not qs:
            return None, False
        out = qs[0]
        for q in qs[1:]:
            out &= q
        return out, exact
    assert isinstance(expr, Or)
    if len(qs) < len(parts):  # one alternative with no constraint: the whole OR has none
        return None, False
    out = qs[0]
    for q in qs[1:]:
        out |= q
    return out, exact


def _restriction(r: Restriction, columns: Columns) -> tuple[Q | None, bool]:
    top, v = r.field[0], r.value
    if v.is_presence:
        return None, False
    if top == columns.labels:
        return _label(r)
    column = columns.text.get(top) or columns.times.get(top)
    if column is None:  # no column: the filter decides alone
        return None, False
    if v.time is not None:
        lookup = "exact" if r.op == "!=" else _TIME_LOOKUPS[r.op]
        q = Q(**{f"{column}__{lookup}": v.time})
        # Nullable times: Django's negation keeps NULL rows, as "!=" does in Python.
        return (~q if r.op == "!=" else q), True
    if top in columns.times:  # a wildcard on a time's text
        return None, False
    if r.op in ("=", ":", "!="):
        if not v.is_wildcard:
            q = Q(**{column: v.text})
            return (~q if r.op == "!=" else q), True
        if v.prefix is not None and r.op != "!=":
            return Q(**{f"{column}__startswith": v.prefix}), False
    return None, False


def _label(r: Restriction) -> tuple[Q | None, bool]:
    v = r.value
    if len(r.field) == 1:  # labels:KEY
        return (Q(labels__has_key=v.text), False) if not v.is_wildcard else (None, False)
    # An expression, not labels__<key>, so that keys such as "contains" or "a__b" are keys.
    value = KeyTextTransform(r.field[1], "labels")
    if r.op in ("=", ":") and not v.is_wildcard:
        return Q(Exact(value, v.text)), False
    if r.op in ("=", ":") and v.prefix is not None:
        return Q(StartsWith(value, v.prefix)), False
    return None, False
