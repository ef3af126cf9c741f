"""The list filter's vocabulary and tree: fields, comparators, and the nodes a parsed filter
is made of."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

COMPARATORS = ("<=", ">=", "!=", ":", "=", "<", ">")  # longest first, for the scanner


@dataclass(frozen=True)
class Catalogue:
    """The fields an API family's resource can be filtered on (each family has its own: ml v1's
    is :data:`hpdash.api.mlv1.serializers.JOB_FILTER`).  A field not named here is an error."""

    strings: tuple[str, ...]  # unset reads as "" (proto3)
    times: tuple[str, ...]  # compared as times
    # Maps filtered as NAME.KEY (labels.team) or NAME:KEY (a key is set).
    maps: tuple[str, ...] = ()
    # Objects filtered by their fields: {name: (tree of every field name below it, an
    # example)}; the tree comes from the family's parser, so a typo is reported.
    objects: Mapping[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)
    # The values of the string field ``state``, checked (a misspelt state is an error).
    states: tuple[str, ...] = ()
    resource: str = "resource"  # what the list holds, for messages ("is not a job state")
    example: str = "state=FAILED"

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.strings, *self.times, *self.maps, *self.objects)

_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_KEYWORDS = ("AND", "OR", "NOT")
# Parentheses and negations nest at most this deep (the parser, matches() and the database
# translation recurse once per level: a hostile filter must not hit Python's recursion limit).
MAX_NESTING = 50


class FilterError(ValueError):
    """A filter that cannot be parsed.  ``position`` is the 0-based offset in the filter text;
    ``str()`` gives the message and the (1-based) column."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} (at column {self.position + 1})"


@dataclass(frozen=True)
class Value:
    """A value as written: ``parts`` are the literal pieces between wildcards (one piece when
    there is no wildcard); ``time`` is set for times compared as times."""

    text: str
    parts: tuple[str, ...]
    position: int
    quoted: bool = False
    time: dt.datetime | None = None

    @property
    def is_wildcard(self) -> bool:
        return len(self.parts) > 1

    @property
    def is_presence(self) -> bool:
        """``field:*``: the field is set."""
        return not self.quoted and self.text == "*"

    @property
    def prefix(self) -> str | None:
        """``abc`` for ``abc*`` (the only wildcard a trailing one), else None."""
        if len(self.parts) == 2 and self.parts[1] == "":
            return self.parts[0]
        return None

    def pattern(self) -> re.Pattern[str]:
        return re.compile(".*".join(re.escape(p) for p in self.parts), re.DOTALL)


@dataclass(frozen=True)
class Restriction:
    field: tuple[str, ...]  # ("labels", "team"), ("trainingInput", "scaleTier"), ("jobId",)
    op: str
    value: Value
    position: int
    string: bool = False  # a string field of the catalogue: unset reads as ""

    @property
    def name(self) -> str:
        return ".".join(self.field)


@dataclass(frozen=True)
class And:
    children: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    child: Expr


Expr = Restriction | And | Or | Not


def parse_time(text: str) -> dt.datetime | None:
    """An RFC 3339 time (naive means UTC) or a date (midnight UTC); None if neither."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\d([Tt ][0-9:.,]+([Zz]|[+-]\d\d:?\d\d)?)?", text):
        return None
    try:
        when = dt.datetime.fromisoformat(text.upper().replace(",", "."))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
