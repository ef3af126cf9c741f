"""The ``filter`` of ``jobs.list``: Google's list-filter language (a subset of AIP-160), parsed
into a small tree and evaluated against the ml v1 ``Job`` resource (a plain dict, as
:func:`hpdash.api.serializers.job_resource` returns it).  No Django in here; ``listfilter_db``
translates what it can into a database query.

Grammar (AIP-160; keywords are upper case)::

    filter      = [expression]
    expression  = sequence {"AND" sequence}
    sequence    = factor {factor}                  # adjacent terms: implicit AND
    factor      = term {"OR" term}
    term        = ["NOT" | "-"] simple
    simple      = restriction | "(" expression ")"
    restriction = field comparator value           # comparator: : = != < <= > >=

So, as AIP-160 specifies (and unlike most programming languages), ``OR`` binds tighter than
``AND``: ``a AND b OR c`` means ``a AND (b OR c)``; ``NOT``/``-`` binds tightest.

Semantics (hpdash's choices where AIP-160 leaves room):

- Fields: ``jobId``, ``state``, ``errorMessage``, ``createTime``, ``startTime``, ``endTime``,
  ``labels.KEY``, ``labels`` (``labels:KEY`` tests that a key is present) and
  ``trainingInput.<path>`` (``trainingInput.hyperparameters.goal``); any other field is an
  error.  A path through a list (``trainingInput.args``,
  ``trainingInput.hyperparameters.params.parameterName``) matches if any element does.
- ``:`` and ``=`` are case-sensitive equality; a ``*`` in the value is a wildcard for any run
  of characters (``jobId:census*``), also inside quotes unless escaped as ``\\*``.
  ``field:*`` alone tests that the field is set (``field!=*``: unset).  ``!=`` is exactly
  ``NOT field=value``, so it matches jobs where the field is unset.  Booleans are ``true`` /
  ``false`` in any case.
- ``<``, ``<=``, ``>``, ``>=``: times (``createTime``, ``startTime``, ``endTime``, and ``=`` on
  them too) compare as times — the value is an RFC 3339 time (``2024-05-01T12:00:00Z``; without
  an offset it is UTC) or a date (``2024-05-01``, midnight UTC); an unset time matches only
  ``!=``.  Numbers in ``trainingInput`` compare as numbers; strings compare as numbers when both
  sides are decimal numbers, otherwise lexicographically.
- ``state`` values are checked against the state enum, so ``state=FAILD`` is an error rather
  than a filter that matches nothing.
- Values are unquoted (up to the next space or parenthesis, so ``createTime>2024-05-01T12:00:00Z``
  needs no quotes) or quoted with ``"..."`` or ``'...'`` and backslash escapes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hpdash.core.spec.parse import training_input_fields
from hpdash.core.spec.space import format_number
from hpdash.core.states import FILTER_STATES

__all__ = ["And", "Expr", "FilterError", "Not", "Or", "Restriction", "Value", "matches",
           "parse_filter"]

STATES = FILTER_STATES
STRING_FIELDS = ("jobId", "state", "errorMessage")
TIME_FIELDS = ("createTime", "startTime", "endTime")
FIELDS = (*STRING_FIELDS, *TIME_FIELDS, "labels", "trainingInput")
COMPARATORS = ("<=", ">=", "!=", ":", "=", "<", ">")  # longest first, for the scanner

# Every name below trainingInput, from the parser's own schema, so that a typo such as
# trainingInput.scaletier is reported instead of silently matching nothing.
TRAINING_INPUT = training_input_fields()

_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_KEYWORDS = ("AND", "OR", "NOT")
_EXAMPLE = "jobId:census* AND state=FAILED"
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


def parse_filter(text: str) -> Expr | None:
    """Parse a filter; ``None`` for an empty one (everything matches).

    Raises :class:`FilterError` saying what is wrong and where."""
    return _Parser(text).parse()


def matches(expr: Expr | None, resource: dict[str, Any]) -> bool:
    """Whether a ``Job`` resource dict satisfies the filter."""
    if expr is None:
        return True
    if isinstance(expr, And):
        return all(matches(c, resource) for c in expr.children)
    if isinstance(expr, Or):
        return any(matches(c, resource) for c in expr.children)
    if isinstance(expr, Not):
        return not matches(expr.child, resource)
    return _restriction_matches(expr, resource)


# ---------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.depth = 0

    def parse(self) -> Expr | None:
        self._ws()
        if self._end():
            return None
        expr = self._expression()
        self._ws()
        if not self._end():
            if self.s[self.i] == ")":
                raise FilterError("unexpected ')' without a matching '('", self.i)
            raise FilterError(f"unexpected {self._show_here()}", self.i)  # pragma: no cover
        return expr

    # -- scanning helpers

    def _end(self) -> bool:
        return self.i >= len(self.s)

    def _ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def _keyword(self, kw: str) -> bool:
        """At keyword ``kw`` followed by a space or a parenthesis."""
        if not self.s.startswith(kw, self.i):
            return False
        after = self.i + len(kw)
        return after < len(self.s) and (self.s[after].isspace() or self.s[after] in "()")

    def _keyword_at_end(self) -> str | None:
        for kw in _KEYWORDS:
            if self.s.startswith(kw, self.i) and self.i + len(kw) == len(self.s):
                return kw
        return None

    def _show_here(self) -> str:
        word = re.match(r"\S{1,30}", self.s[self.i:])
        return repr(word.group(0)) if word else "end of filter"

    def _nested(self, parse: Callable[[], Expr]) -> Expr:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise FilterError(f"the filter nests parentheses and negations more than "
                              f"{MAX_NESTING} deep", self.i)
        try:
            return parse()
        finally:
            self.depth -= 1

    # -- grammar

    def _expression(self) -> Expr:
        seqs = [self._sequence()]
        while True:
            self._ws()
            if not self._keyword("AND"):
                break
            self.i += 3
            seqs.append(self._sequence())
        return seqs[0] if len(seqs) == 1 else And(tuple(seqs))

    def _sequence(self) -> Expr:
        factors = [self._factor()]
        while True:
            self._ws()
            if self._end() or self.s[self.i] == ")" or self._keyword("AND"):
                break
            factors.append(self._factor())
        return factors[0] if len(factors) == 1 else And(tuple(factors))

    def _factor(self) -> Expr:
        terms = [self._term()]
        while True:
            self._ws()
            if not self._keyword("OR"):
                break
            self.i += 2
            terms.append(self._term())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def _term(self) -> Expr:
        self._ws()
        if not self._end() and self.s[self.i] == "-":
            self.i += 1
            if self._end() or self.s[self.i].isspace():
                raise FilterError("'-' (negation) must be followed directly by a term, as in "
                                  "-state=FAILED", self.i - 1)
            return Not(self._nested(self._term))
        if self._keyword("NOT"):
            self.i += 3
            return Not(self._nested(self._term))
        return self._simple()

    def _simple(self) -> Expr:
        self._ws()
        if self._end():
            raise FilterError(f"the filter ends where a restriction was expected, such as "
                              f"{_EXAMPLE}", self.i)
        start = self.i
        ch = self.s[start]
        if ch == "(":
            self.i += 1
            self._ws()
            if not self._end() and self.s[self.i] == ")":
                raise FilterError("empty parentheses", start)
            expr = self._nested(self._expression)
            self._ws()
            if self._end() or self.s[self.i] != ")":
                raise FilterError("missing ')' to close this '('", start)
            self.i += 1
            return expr
        if ch == ")":
            raise FilterError("unexpected ')': a restriction was expected here", start)
        if self._keyword_at_end() == "NOT":
            raise FilterError("NOT needs a restriction after it, as in NOT state=FAILED", start)
        for kw in ("AND", "OR"):
            if self._keyword(kw) or self._keyword_at_end() == kw:
                raise FilterError(f"{kw} needs a restriction on each side, as in {_EXAMPLE}",
                                  start)
        return self._restriction()

    def _restriction(self) -> Restriction:
        start = self.i
        m = _FIELD_RE.match(self.s, self.i)
        if m is None:
            if self.s[self.i] in "\"'":
                raise FilterError("a value needs a field and a comparator in front of it, as in "
                                  "jobId:\"census_1\"", start)
            raise FilterError(f"expected a field name, found {self._show_here()}", start)
        name = m.group(0)
        self.i = m.end()
        self._ws()
        op = next((c for c in COMPARATORS if self.s.startswith(c, self.i)), None)
        if op is None:
            hint = ""
            if name.upper() in _KEYWORDS:
                hint = f" ({name.upper()} is an operator only in upper case)"
            found = self._show_here() if not self._end() else "nothing"
            raise FilterError(
                f"expected a comparator (: = != < <= > >=) after {name!r}, found {found}{hint}; "
                f"write field:value, as in {_EXAMPLE}", self.i)
        self.i += len(op)
        field = _check_field(name, start)
        value = self._value(op)
        return _check_restriction(Restriction(field, op, value, start))

    def _value(self, op: str) -> Value:
        self._ws()
        start = self.i
        if self._end() or self.s[self.i] in "()":
            raise FilterError(f"expected a value after {op!r}", start)
        quote = self.s[self.i]
        if quote in "\"'":
            return self._quoted(quote)
        while self.i < len(self.s) and not (self.s[self.i].isspace() or self.s[self.i] in "()"):
            self.i += 1
        text = self.s[start:self.i]
        return Value(text, tuple(text.split("*")), start)

    def _quoted(self, quote: str) -> Value:
        start = self.i
        self.i += 1
        parts: list[str] = []
        cur: list[str] = []
        while True:
            if self._end():
                raise FilterError(f"unterminated string: no closing {quote}", start)
            ch = self.s[self.i]
            self.i += 1
            if ch == quote:
                break
            if ch == "\\":
                if self._end():
                    raise FilterError(f"unterminated string: no closing {quote}", start)
                esc = self.s[self.i]
                self.i += 1
                cur.append(_ESCAPES.get(esc, esc))
            elif ch == "*":
                parts.append("".join(cur))
                cur = []
            else:
                cur.append(ch)
        parts.append("".join(cur))
        return Value(self.s[start + 1:self.i - 1], tuple(parts), start, quoted=True)


# ---------------------------------------------------------------------------------------------
# Checks done while parsing (so that mistakes are errors, not empty results)


def _check_field(name: str, position: int) -> tuple[str, ...]:
    path = tuple(name.split("."))
    if any(not p for p in path):
        raise FilterError(f"field {name!r} has an empty part", position)
    top = path[0]
    if top not in FIELDS:
        raise FilterError(f"unknown field {top!r}{_suggest(top, FIELDS)}; filterable fields: "
                          f"{', '.join(FIELDS[:-2])}, labels.KEY, trainingInput.<field>",
                          position)
    if top == "labels":
        if len(path) > 2:
            raise FilterError(f"{name!r}: labels are labels.KEY (label keys contain no '.')",
                              position)
        return path
    if top == "trainingInput":
        if len(path) == 1:
            raise FilterError("trainingInput is an object: filter on one of its fields, as in "
                              "trainingInput.scaleTier=BASIC", position)
        known: dict[str, Any] | None = TRAINING_INPUT
        for i, part in enumerate(path[1:], start=1):
            if known is None:
                raise FilterError(f"unknown field {name!r}: {'.'.join(path[:i])} has no fields",
                                  position)
            if part not in known:
                where = ".".join(path[:i])
                raise FilterError(f"unknown field {part!r} in {where}"
                                  f"{_suggest(part, tuple(known))}", position)
            known = known[part]
        return path
    if len(path) > 1:
        raise FilterError(f"unknown field {name!r}: {top} has no fields", position)
    return path


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    for c in choices:
        if c.lower() == word.lower():
            return f" (did you mean {c}? field names are case-sensitive)"
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_restriction(r: Restriction) -> Restriction:
    v, top = r.value, r.field[0]
    if v.is_wildcard and r.op not in (":", "=", "!="):
        raise FilterError(f"the wildcard '*' works only with ':', '=' and '!=', not {r.op!r}",
                          v.position)
    if r.field == ("labels",) and r.op != ":":
        raise FilterError("labels is a map: compare one label with labels.KEY=VALUE, or test "
                          "that a key is set with labels:KEY", r.position)
    if top == "state" and not v.is_wildcard:
        if v.text not in STATES:
            upper = v.text.upper()
            hint = (f" (state values are upper case: {upper})" if upper in STATES
                    else _suggest(v.text, STATES))
            raise FilterError(f"{v.text!r} is not a job state{hint}; states are "
                              f"{', '.join(STATES[1:])}", v.position)
    if top in TIME_FIELDS and not v.is_wildcard:
        return Restriction(r.field, r.op, _with_time(v, top), r.position)
    return r


def _with_time(v: Value, field: str) -> Value:
    when = parse_time(v.text)
    if when is None:
        raise FilterError(f"{field} is compared as a time: {v.text!r} is not an RFC 3339 time "
                          f"such as 2024-05-01T12:00:00Z (or a date such as 2024-05-01)",
                          v.position)
    return Value(v.text, v.parts, v.position, v.quoted, when)


def parse_time(text: str) -> dt.datetime | None:
    """An RFC 3339 time (naive means UTC) or a date (midnight UTC); None if neither."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\d([Tt ][0-9:.,]+([Zz]|[+-]\d\d:?\d\d)?)?", text):
        return None
    try:
        when = dt.datetime.fromisoformat(text.upper().replace(",", "."))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# ---------------------------------------------------------------------------------------------
# Evaluation


def _values(resource: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    """Every value at ``path``; lists on the way (and at the end) are flattened."""
    cur: list[Any] = [resource]
    for part in path:
        nxt: list[Any] = []
        for node in cur:
            if isinstance(node, dict) and part in node:
                got = node[part]
                nxt.extend(got if isinstance(got, list) else [got])
        cur = nxt
    if not cur and path[0] in STRING_FIELDS:
        return [""]  # proto3: an unset string field is ""
    return cur


def _restriction_matches(r: Restriction, resource: dict[str, Any]) -> bool:
    values = _values(resource, r.field)
    if r.value.is_presence:  # field:* (also field=* and, negated, field!=*)
        present = any(x not in ("", None, [], {}) for x in values)
        return not present if r.op == "!=" else present
    if r.op == "!=":
        return not any(_test(r.field[0], "=", r.value, x) for x in values)
    return any(_test(r.field[0], r.op, r.value, x) for x in values)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b), "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b), ">=": lambda a, b: bool(a >= b),
    "=": lambda a, b: bool(a == b), ":": lambda a, b: bool(a == b),
}


def _test(top: str, op: str, v: Value, x: Any) -> bool:
    if isinstance(x, dict):  # a map or message: ':' tests for a key (labels:team)
        if op != ":":
            return False
        if v.is_wildcard:
            pattern = v.pattern()
            return any(pattern.fullmatch(k) for k in x)
        return v.text in x
    if isinstance(x, list) or x is None:
        return False
    if isinstance(x, bool):  # true/True/TRUE, as YAML and gcloud accept
        return op in ("=", ":") and v.text.lower() == ("true" if x else "false")
    if v.is_wildcard:
        text = x if isinstance(x, str) else _number_text(x)
        return v.pattern().fullmatch(text) is not None
    compare = _ORDER[op]
    if v.time is not None and top in TIME_FIELDS:
        when = parse_time(x) if isinstance(x, str) else None
        return when is not None and compare(when, v.time)
    if isinstance(x, int | float):
        number = _number(v.text)
        return number is not None and compare(float(x), number)
    if op in ("=", ":"):
        return bool(x == v.text)
    a, b = _number(x), _number(v.text)
    if a is not None and b is not None:
        return compare(a, b)
    return compare(x, v.text)


def _number(text: str) -> float | None:
    if not _NUMBER_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _number_text(x: int | float) -> str:
    return format_number(x)
