"""Parsing a filter's text into its tree, with every check that makes a typo an error."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

from .syntax import (
    _ESCAPES,
    _FIELD_RE,
    _KEYWORDS,
    COMPARATORS,
    MAX_NESTING,
    And,
    Catalogue,
    Expr,
    FilterError,
    Not,
    Or,
    Restriction,
    Value,
    parse_time,
)


def parse_filter(text: str, catalogue: Catalogue) -> Expr | None:
    """Parse a filter on the fields of ``catalogue``; ``None`` for an empty one (everything
    matches).

    Raises :class:`FilterError` saying what is wrong and where."""
    return _Parser(text, catalogue).parse()


# ---------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, text: str, catalogue: Catalogue) -> None:
        self.s = text
        self.i = 0
        self.depth = 0
        self.catalogue = catalogue
        self.example = catalogue.example

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
                              f"{self.example}", self.i)
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
                raise FilterError(f"{kw} needs a restriction on each side, as in {self.example}",
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
                f"write field:value, as in {self.example}", self.i)
        self.i += len(op)
        field = _check_field(name, start, self.catalogue)
        value = self._value(op)
        return _check_restriction(
            Restriction(field, op, value, start, string=field[0] in self.catalogue.strings),
            self.catalogue)

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


def _check_field(name: str, position: int, catalogue: Catalogue) -> tuple[str, ...]:
    path = tuple(name.split("."))
    if any(not p for p in path):
        raise FilterError(f"field {name!r} has an empty part", position)
    top = path[0]
    if top not in catalogue.fields:
        shown = [*catalogue.strings, *catalogue.times, *(f"{m}.KEY" for m in catalogue.maps),
                 *(f"{o}.<field>" for o in catalogue.objects)]
        raise FilterError(f"unknown field {top!r}{_suggest(top, catalogue.fields)}; filterable "
                          f"fields: {', '.join(shown)}", position)
    if top in catalogue.maps:
        if len(path) > 2:
            raise FilterError(f"{name!r}: {top} are {top}.KEY (keys contain no '.')", position)
        return path
    if top in catalogue.objects:
        tree, example = catalogue.objects[top]
        if len(path) == 1:
            raise FilterError(f"{top} is an object: filter on one of its fields, as in "
                              f"{example}", position)
        known: Mapping[str, Any] | None = tree
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


def _check_restriction(r: Restriction, catalogue: Catalogue) -> Restriction:
    v, top = r.value, r.field[0]
    states = catalogue.states
    if v.is_wildcard and r.op not in (":", "=", "!="):
        raise FilterError(f"the wildcard '*' works only with ':', '=' and '!=', not {r.op!r}",
                          v.position)
    if len(r.field) == 1 and top in catalogue.maps and r.op != ":":
        raise FilterError(f"{top} is a map: compare one entry with {top}.KEY=VALUE, or test "
                          f"that a key is set with {top}:KEY", r.position)
    if top == "state" and states and not v.is_wildcard:
        if v.text not in states:
            upper = v.text.upper()
            hint = (f" (state values are upper case: {upper})" if upper in states
                    else _suggest(v.text, states))
            raise FilterError(f"{v.text!r} is not a {catalogue.resource} state{hint}; states "
                              f"are {', '.join(states[1:])}", v.position)
    if top in catalogue.times and not v.is_wildcard:
        return Restriction(r.field, r.op, _with_time(v, top), r.position, r.string)
    return r


def _with_time(v: Value, field: str) -> Value:
    when = parse_time(v.text)
    if when is None:
        raise FilterError(f"{field} is compared as a time: {v.text!r} is not an RFC 3339 time "
                          f"such as 2024-05-01T12:00:00Z (or a date such as 2024-05-01)",
                          v.position)
    return Value(v.text, v.parts, v.position, v.quoted, when)
