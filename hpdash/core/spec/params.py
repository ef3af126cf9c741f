"""Parse one ``ParameterSpec`` and a job's ``params`` list (part of :mod:`hpdash.core.spec.parse`).

Every rule of the contract for the four parameter types and their scales lives here; names must
be safe command-line flags (they become ``--<name>=<value>``) and unique after argparse's
``-`` → ``_`` mapping.  No Django here.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from .checks import (
    BAD,
    Checker,
    Ctx,
    check_arg,
    check_double,
    check_object,
    enum_checker,
    got,
    list_checker,
    quote_hint,
    show,
    to_float,
)
from .space import format_number
from .types import PARAM_TYPES, SCALE_TYPES, ParameterSpec

__all__ = ["PARAM_CHECKERS", "PARAM_TYPES_IN", "parse_params"]

_PARAM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,127}")
MAX_PARAMS: Final = 100
# Flags hpdash passes itself (as argparse dests): a parameter of that name would replace them.
RESERVED_FLAGS: Final = frozenset({"job_dir"})
_MAX_VALUES: Final = 1000
_MAX_CATEGORY_LEN: Final = 1024
_MIN_DISCRETE_GAP: Final = 1e-10
PARAM_TYPES_IN = ("PARAMETER_TYPE_UNSPECIFIED", *PARAM_TYPES)



def _check_param_name(ctx: Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        ctx.add(path, f"parameterName must be a string, got {got(value)}{quote_hint(value)}")
        return BAD
    if not value:
        ctx.add(path, "parameterName must not be empty")
        return BAD
    if not _PARAM_NAME.fullmatch(value):
        ctx.add(path, f"parameterName {show(value)} is not valid: it becomes the command-line "
                      "flag --<name>, so it may contain only letters, digits, '_' and '-', must "
                      "not start with '-', and must be at most 128 characters")
        return BAD
    if _flag_dest(value) in RESERVED_FLAGS:
        ctx.add(path, f"parameterName {show(value)} would replace hpdash's own --job-dir flag "
                      "(argparse reads --job-dir and --job_dir as one): choose another name")
        return BAD
    return value


def _check_category(ctx: Ctx, value: Any, path: str) -> Any:
    return check_arg(ctx, value, path)  # it becomes --name=<value>


PARAM_CHECKERS: dict[str, Checker] = {
    "parameterName": _check_param_name,
    "type": enum_checker(PARAM_TYPES_IN),
    "minValue": check_double,
    "maxValue": check_double,
    "categoricalValues": list_checker(_check_category),
    "discreteValues": list_checker(check_double),
    "scaleType": enum_checker(SCALE_TYPES),
}


@dataclass
class _Param:
    """One ``params[i]`` entry while it is checked: the raw object, what its checked fields
    hold, and helpers to report on its fields."""

    ctx: Ctx
    data: dict[str, Any]
    raw: dict[str, Any]
    path: str
    ptype: str | None = None
    scale: str = "NONE"
    lo: float | None = None
    hi: float | None = None
    # The well-typed entries with their original indices, so that duplicates and ordering are
    # reported even while another entry has the wrong type.
    cats: list[tuple[int, str]] = field(default_factory=list)
    points: list[tuple[int, float]] = field(default_factory=list)

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}"

    def given(self, key: str) -> bool:
        return key in self.data

    def nonempty(self, key: str) -> bool:
        v = self.data.get(key)
        return v is not None and not (isinstance(v, list | tuple) and not v)

    def add(self, key: str, message: str) -> None:
        self.ctx.add(self.sub(key), message)

    @property
    def log_like(self) -> bool:
        return self.scale in ("UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE")

    def forbid(self, keys: tuple[str, ...], when: str) -> None:
        for key in keys:
            present = self.given(key) if key in ("minValue", "maxValue") else self.nonempty(key)
            if present:
                self.add(key, f"{key} must not be set for {when} parameters")


def _typed_entries(p: _Param) -> None:
    cat_list = p.data.get("categoricalValues")
    if isinstance(cat_list, list | tuple):
        p.cats = [(i, c) for i, c in enumerate(cat_list) if isinstance(c, str)]
    point_list = p.data.get("discreteValues")
    if isinstance(point_list, list | tuple):
        for i, v in enumerate(point_list):
            x = to_float(v)
            if x is not None and math.isfinite(x):
                p.points.append((i, x))


def _check_range(p: _Param) -> None:
    """DOUBLE and INTEGER: minValue ≤ maxValue, integral for INTEGER, positive on log scales."""
    for key in ("minValue", "maxValue"):
        if not p.given(key):
            p.add(key, f"{key} is required for {p.ptype} parameters")
    p.forbid(("categoricalValues", "discreteValues"), str(p.ptype))
    if p.ptype == "INTEGER":
        for key, x in (("minValue", p.lo), ("maxValue", p.hi)):
            if x is not None and not x.is_integer():
                p.add(key, f"{key} ({show(p.data[key])}) must be an integer for INTEGER "
                           "parameters")
    if p.lo is not None and p.hi is not None and p.lo > p.hi:
        p.add("minValue", f"minValue ({show(p.data['minValue'])}) must be ≤ maxValue "
                          f"({show(p.data['maxValue'])})")
    elif p.lo is not None and p.hi is not None and not _finite_range(p.lo, p.hi):
        p.add("maxValue", f"the range from minValue ({show(p.data['minValue'])}) to maxValue "
                          f"({show(p.data['maxValue'])}) is too wide to compute with (it "
                          "overflows a double); narrow it")
    if p.log_like and p.lo is not None and p.lo <= 0:
        p.add("minValue", f"minValue ({show(p.data['minValue'])}) must be greater than 0 because "
                          f"scaleType is {p.scale}: the whole feasible space must be strictly "
                          "positive")


def _finite_range(lo: float, hi: float) -> bool:
    """Whether the scale's arithmetic stays finite (see spec.space): ±1.7e308 bounds once gave
    every trial the same value."""
    return math.isfinite(hi - lo)


def _check_value_list(p: _Param, key: str, ptype: str) -> None:
    if not p.nonempty(key):
        p.add(key, f"{key} is required for {ptype} parameters and must not be empty")
    values = p.data.get(key)
    if isinstance(values, list | tuple) and len(values) > _MAX_VALUES:
        p.add(key, f"{key} has {len(values)} values; at most {_MAX_VALUES} are allowed")


def _check_categorical(p: _Param) -> None:
    _check_value_list(p, "categoricalValues", "CATEGORICAL")
    seen: dict[str, int] = {}
    for i, c in p.cats:
        if len(c) > _MAX_CATEGORY_LEN:
            p.add(f"categoricalValues[{i}]", f"categoricalValues[{i}] is {len(c)} characters "
                                             f"long; at most {_MAX_CATEGORY_LEN} are allowed")
        if c in seen:
            p.add(f"categoricalValues[{i}]",
                  f"categoricalValues[{i}] {show(c)} is a duplicate of "
                  f"categoricalValues[{seen[c]}]; categories must be unique")
        else:
            seen[c] = i
    p.forbid(("minValue", "maxValue", "discreteValues"), "CATEGORICAL")
    if p.given("scaleType") and p.data["scaleType"] != "NONE" and "scaleType" in p.raw:
        p.add("scaleType", f"scaleType {p.scale} must not be set for CATEGORICAL parameters "
                           "(leave it unset or NONE)")


def _check_discrete(p: _Param) -> None:
    _check_value_list(p, "discreteValues", "DISCRETE")
    for (j, prev), (i, cur) in itertools.pairwise(p.points):
        if cur <= prev:
            p.add(f"discreteValues[{i}]",
                  f"discreteValues must be strictly increasing, but discreteValues[{i}] "
                  f"({format_number(cur)}) is not greater than discreteValues[{j}] "
                  f"({format_number(prev)})")
        elif cur - prev < _MIN_DISCRETE_GAP:
            p.add(f"discreteValues[{i}]",
                  f"discreteValues[{i}] ({format_number(cur)}) is less than 1e-10 above "
                  f"discreteValues[{j}] ({format_number(prev)}); values must be at least "
                  "1e-10 apart")
    p.forbid(("categoricalValues",), "DISCRETE")
    if len(p.points) > 1 and not _finite_range(p.points[0][1], p.points[-1][1]):
        p.add("discreteValues", "discreteValues span a range too wide to compute with (it "
                                "overflows a double); narrow it")
    if p.log_like and p.points and p.points[0][1] <= 0:
        i, first = p.points[0]
        p.add(f"discreteValues[{i}]",
              f"discreteValues[{i}] ({format_number(first)}) must be greater than 0 because "
              f"scaleType is {p.scale}: the whole feasible space must be strictly positive")


_TYPE_RULES: dict[str, Callable[[_Param], None]] = {
    "DOUBLE": _check_range, "INTEGER": _check_range, "CATEGORICAL": _check_categorical,
    "DISCRETE": _check_discrete,
}


def _parse_param(ctx: Ctx, data: Any, path: str) -> tuple[ParameterSpec | None, Any]:
    start = ctx.count
    raw = check_object(ctx, data, path, PARAM_CHECKERS)
    if raw is BAD:
        return None, BAD
    assert isinstance(data, dict)
    p = _Param(ctx, data, raw, path, ptype=raw.get("type"), scale=raw.get("scaleType", "NONE"),
               lo=raw.get("minValue"), hi=raw.get("maxValue"))
    if not p.given("parameterName"):
        p.add("parameterName", "parameterName is required")
    if not p.given("type"):
        p.add("type", f"type is required: one of {', '.join(PARAM_TYPES)}")
    elif p.ptype == "PARAMETER_TYPE_UNSPECIFIED":
        p.add("type", f"type PARAMETER_TYPE_UNSPECIFIED is not allowed: use one of "
                      f"{', '.join(PARAM_TYPES)}")
        p.ptype = None
    _typed_entries(p)
    rule = _TYPE_RULES.get(p.ptype or "")
    if rule is not None:
        rule(p)
    ptype, lo, hi, scale = p.ptype, p.lo, p.hi, p.scale
    cats, points = p.cats, p.points
    if ctx.count > start or ptype is None:
        return None, raw
    spec = ParameterSpec(
        name=raw["parameterName"],
        type=ptype,
        min_value=lo if ptype in ("DOUBLE", "INTEGER") else None,
        max_value=hi if ptype in ("DOUBLE", "INTEGER") else None,
        categorical_values=tuple(c for _, c in cats) if ptype == "CATEGORICAL" else (),
        discrete_values=tuple(x for _, x in points) if ptype == "DISCRETE" else (),
        scale_type=scale,
    )
    return spec, raw


def _flag_dest(name: str) -> str:
    return name.replace("-", "_")


def parse_params(
    ctx: Ctx, value: Any, path: str
) -> tuple[list[ParameterSpec | None], Any]:
    if not isinstance(value, list | tuple):
        ctx.add(path, f"params must be a list of parameter specs, got {got(value)}")
        return [], BAD
    if len(value) > MAX_PARAMS:
        ctx.add(path, f"params has {len(value)} parameters; at most {MAX_PARAMS} are allowed")
    specs: list[ParameterSpec | None] = []
    raws: list[Any] = []
    names: dict[str, int] = {}
    dests: dict[str, int] = {}
    for i, item in enumerate(value):
        ipath = f"{path}[{i}]"
        spec, raw = _parse_param(ctx, item, ipath)
        specs.append(spec)
        raws.append(raw if raw is not BAD else item)
        name = raw.get("parameterName") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            continue
        if name in names:
            ctx.add(f"{ipath}.parameterName",
                    f"parameterName {show(name)} is already used by params[{names[name]}]; "
                    "parameter names must be unique")
            specs[-1] = None
        elif _flag_dest(name) in dests:
            other = dests[_flag_dest(name)]
            ctx.add(f"{ipath}.parameterName",
                    f"parameterName {show(name)} clashes with params[{other}] "
                    f"{show(value[other].get('parameterName'))}: argparse maps both flags to "
                    f"{_flag_dest(name)}")
            specs[-1] = None
        names.setdefault(name, i)
        dests.setdefault(_flag_dest(name), i)
    return specs, raws
