"""Evaluating a parsed filter against a resource (a plain dict, as its API family shows it)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hpdash.core.spec.space import format_number

from .syntax import (
    _NUMBER_RE,
    And,
    Expr,
    Not,
    Or,
    Restriction,
    Value,
    parse_time,
)


def matches(expr: Expr | None, resource: dict[str, Any]) -> bool:
    """Whether a resource dict satisfies the filter."""
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
# Evaluation


def _values(resource: dict[str, Any], path: tuple[str, ...], string: bool) -> list[Any]:
    """Every value at ``path``; lists on the way (and at the end) are flattened."""
    cur: list[Any] = [resource]
    for part in path:
        nxt: list[Any] = []
        for node in cur:
            if isinstance(node, dict) and part in node:
                got = node[part]
                nxt.extend(got if isinstance(got, list) else [got])
        cur = nxt
    if not cur and string:
        return [""]  # proto3: an unset string field is ""
    return cur


def _restriction_matches(r: Restriction, resource: dict[str, Any]) -> bool:
    values = _values(resource, r.field, r.string)
    if r.value.is_presence:  # field:* (also field=* and, negated, field!=*)
        present = any(x not in ("", None, [], {}) for x in values)
        return not present if r.op == "!=" else present
    if r.op == "!=":
        return not any(_test("=", r.value, x) for x in values)
    return any(_test(r.op, r.value, x) for x in values)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b), "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b), ">=": lambda a, b: bool(a >= b),
    "=": lambda a, b: bool(a == b), ":": lambda a, b: bool(a == b),
}


def _test(op: str, v: Value, x: Any) -> bool:
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
    if v.time is not None:  # set by the parser for the catalogue's time fields only
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
