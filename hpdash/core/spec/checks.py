"""The building blocks of :mod:`hpdash.core.spec.parse`: violation collection, value display for
messages, and the generic checkers.

A checker is ``(ctx, value, path) -> normalised value``; on bad input it adds a
:class:`~hpdash.core.spec.types.FieldViolation` at ``path`` (the JSON path in the user's camelCase
names) to ``ctx`` and returns :data:`BAD`, so that one pass reports every violation.
No Django here: only the standard library.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

from .types import FieldViolation, SpecError

__all__ = [
    "BAD",
    "MAX_VIOLATIONS",
    "SURROGATE",
    "Bad",
    "Checker",
    "Ctx",
    "camel",
    "check_arg",
    "check_bool",
    "check_double",
    "check_duration",
    "check_object",
    "check_str",
    "enum_checker",
    "field_name",
    "fmt_value",
    "got",
    "int_checker",
    "join_path",
    "kind_of",
    "list_checker",
    "object_checker",
    "quote_hint",
    "show",
    "to_float",
    "to_int",
    "unknown_field",
    "unpassable",
]

_INT_STRING = re.compile(r"-?[0-9]{1,25}")
_FLOAT_STRING = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DURATION = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?s")
# Past this many violations the rest are summarised in one extra entry, so a hostile document
# cannot make an error response arbitrarily large.
MAX_VIOLATIONS: Final = 200


class Bad:
    """Marker returned by a checker whose value was invalid (the violation is already added)."""


BAD: Final = Bad()


# ---------------------------------------------------------------------------------------------
# Violation collection and value display


class Ctx:
    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []
        self.count = 0

    def add(self, path: str, description: str) -> None:
        self.count += 1
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(FieldViolation(path, description))

    def raise_if_any(self, root: str) -> None:
        if not self.count:
            return
        violations = list(self.violations)
        if self.count > len(violations):
            violations.append(
                FieldViolation(root, f"... and {self.count - len(violations)} more violations")
            )
        raise SpecError(violations)


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, datetime | date):
        return "a date"
    return f"a {type(value).__name__}"


def fmt_value(value: Any, depth: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**60 else f"<{value.bit_length()}-bit integer>"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        s = value if len(value) <= 80 else value[:80] + "…"
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        if depth <= 0:
            return "[…]" if value else "[]"
        items = [fmt_value(v, depth - 1) for v in value[:4]]
        return "[" + ", ".join(items) + (", …" if len(value) > 4 else "") + "]"
    if isinstance(value, dict):
        if depth <= 0:
            return "{…}" if value else "{}"
        parts = [f"{fmt_value(k, 0)}: {fmt_value(v, depth - 1)}"
                 for k, v in list(value.items())[:3]]
        return "{" + ", ".join(parts) + (", …" if len(value) > 3 else "") + "}"
    return f"<{type(value).__name__}>"


def show(value: Any) -> str:
    s = fmt_value(value, 1)
    return s if len(s) <= 100 else s[:99] + "…"


def got(value: Any) -> str:
    if value is None or (isinstance(value, list | tuple | dict) and not value):
        return kind_of(value) if value is None else f"{kind_of(value)} ({show(value)})"
    return f"{kind_of(value)} ({show(value)})"


def quote_hint(value: Any) -> str:
    if isinstance(value, bool):
        return ("; YAML reads unquoted yes/no/on/off/true/false as booleans, so quote the value "
                "(e.g. 'yes')")
    if isinstance(value, int | float):
        return f"; quote it in YAML to keep it a string (e.g. '{fmt_value(value, 0)}')"
    if isinstance(value, datetime | date):
        return "; YAML reads unquoted dates as timestamps, so quote the value"
    return ""


def join_path(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return f"{path}.{key}" if path else key
    shown = key if len(key) <= 100 else key[:100] + "…"
    return f'{path}["{shown}"]' if path else f'["{shown}"]'


def field_name(path: str) -> str:
    """The field's own name for messages: ``a.b.params[2].minValue`` -> ``minValue``."""
    return path.rsplit(".", 1)[-1] if path else "job"


def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def unknown_field(ctx: Ctx, parent: str, key: Any, allowed: Any) -> None:
    where = parent or "job"
    if not isinstance(key, str):
        ctx.add(where, f"field names must be strings, got {got(key)}")
        return
    shown = key if len(key) <= 100 else key[:100] + "…"
    message = f"Unknown name \"{shown}\" at '{where}': Cannot find field."
    if len(key) <= 100:
        if camel(key) in allowed and camel(key) != key:
            message += f' Did you mean "{camel(key)}"? (field names are camelCase)'
        else:
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.75)
            if close:
                message += f' Did you mean "{close[0]}"?'
    ctx.add(join_path(parent, key), message)


# ---------------------------------------------------------------------------------------------
# Scalar checkers: (ctx, value, path) -> normalised value, or BAD after adding a violation

Checker = Callable[[Ctx, Any, str], Any]


def check_str(ctx: Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        ctx.add(path, f"{field_name(path)} must be a string, got {got(value)}{quote_hint(value)}")
        return BAD
    return value


SURROGATE = re.compile("[\ud800-\udfff]")


def unpassable(value: str) -> str | None:
    """Why a string cannot reach a trial's command line or environment (None if it can): the
    OS refuses a NUL, and a lone surrogate (JSON's "\\ud800") cannot be encoded at all."""
    if "\x00" in value:
        return "contains a NUL character, which no command line or environment can hold"
    if SURROGATE.search(value):
        return "contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode text"
    return None


def check_arg(ctx: Ctx, value: Any, path: str) -> Any:
    """A string passed to the trainer (command-line argument or environment value)."""
    if check_str(ctx, value, path) is BAD:
        return BAD
    why = unpassable(value)
    if why:
        ctx.add(path, f"{field_name(path)} {show(value)} {why}")
        return BAD
    return value


def check_bool(ctx: Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, bool):
        ctx.add(path, f"{field_name(path)} must be a boolean (true or false), got {got(value)}")
        return BAD
    return value


def to_int(value: Any) -> int | None:
    """proto3 JSON integer: a JSON integer, an integral float (YAML ``4.0``) or a decimal
    string. Booleans are not integers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and _INT_STRING.fullmatch(value):
        return int(value)
    return None


def int_checker(lo: int, hi: int, *, as_string: bool = False) -> Checker:
    def check(ctx: Ctx, value: Any, path: str) -> Any:
        n = to_int(value)
        name = field_name(path)
        if n is None:
            ctx.add(path, f"{name} must be an integer, got {got(value)}")
            return BAD
        if n < lo:
            ctx.add(path, f"{name} ({show(value)}) must be at least {lo}")
            return BAD
        if n > hi:
            ctx.add(path, f"{name} ({show(value)}) must be at most {hi}")
            return BAD
        return str(n) if as_string else n

    return check


def to_float(value: Any) -> float | None:
    """proto3 JSON double: a JSON number or a numeric string (which also rescues YAML 1.1's
    ``1e-5``, a string because it has no dot). Non-finite values are refused by callers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, str) and len(value) <= 64 and _FLOAT_STRING.fullmatch(value):
        return float(value)
    return None


def check_double(ctx: Ctx, value: Any, path: str) -> Any:
    x = to_float(value)
    if x is None:
        ctx.add(path, f"{field_name(path)} must be a number, got {got(value)}")
        return BAD
    if not math.isfinite(x):
        ctx.add(path, f"{field_name(path)} must be a finite number, got {show(value)}")
        return BAD
    return x


def enum_checker(values: tuple[str, ...]) -> Checker:
    def check(ctx: Ctx, value: Any, path: str) -> Any:
        name = field_name(path)
        if isinstance(value, str) and value in values:
            return value
        choices = ", ".join(values)
        if isinstance(value, str) and value.upper() in values:
            ctx.add(path, f'{name} "{value[:100]}" is not valid: enum values are case-sensitive, '
                          f"did you mean {value.upper()}?")
        elif isinstance(value, str):
            ctx.add(path, f"{name} {show(value)} is not valid: must be one of {choices}")
        else:
            ctx.add(path, f"{name} must be one of {choices}, got {got(value)}")
        return BAD

    return check


def list_checker(item: Checker, *, max_items: int | None = None) -> Checker:
    def check(ctx: Ctx, value: Any, path: str) -> Any:
        if not isinstance(value, list | tuple):
            ctx.add(path, f"{field_name(path)} must be a list, got {got(value)}")
            return BAD
        if max_items is not None and len(value) > max_items:
            ctx.add(path, f"{field_name(path)} has {len(value)} entries; at most {max_items} are "
                          "allowed")
        out = []
        for i, v in enumerate(value):
            nv = item(ctx, v, f"{path}[{i}]")
            if nv is not BAD:
                out.append(nv)
        return out if len(out) == len(value) else BAD

    return check


def check_duration(ctx: Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        ctx.add(path, f'{field_name(path)} must be a duration in seconds such as "3600s", '
                      f"got {got(value)}")
        return BAD
    return value



def object_checker(schema: dict[str, Checker]) -> Checker:
    def check(ctx: Ctx, value: Any, path: str) -> Any:
        return check_object(ctx, value, path, schema)

    check.schema = schema  # type: ignore[attr-defined]  # read by field_tree
    return check


FieldTree = dict[str, "FieldTree | None"]


def field_tree(schema: dict[str, Checker]) -> FieldTree:
    """The field names a schema accepts, as a tree (None for a leaf)."""
    return {key: field_tree(checker.schema) if hasattr(checker, "schema") else None
            for key, checker in schema.items()}


def check_object(ctx: Ctx, value: Any, path: str, schema: dict[str, Checker]) -> Any:
    """Check each field of an object against ``schema``; unknown fields are violations. Returns
    the normalised object (valid fields only, in the user's order) or BAD if not an object."""
    if not isinstance(value, dict):
        ctx.add(path, f"{field_name(path)} must be an object, got {got(value)}")
        return BAD
    out: dict[str, Any] = {}
    for key, v in value.items():
        if not isinstance(key, str) or key not in schema:
            unknown_field(ctx, path, key, schema)
            continue
        nv = schema[key](ctx, v, join_path(path, key))
        if nv is not BAD:
            out[key] = nv
    return out

