"""Parse one ``ParameterSpec`` and a job's ``params`` list (part of :mod:`hpdash.core.spec.parse`).

Every rule of the contract for the four parameter types and their scales lives here; names must
be safe command-line flags (they become ``--<name>=<value>``) and unique after argparse's
``-`` → ``_`` mapping.  No Django here.
"""

from __future__ import annotations

import itertools
import math
import re
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
_MAX_PARAMS: Final = 100
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


def _parse_param(ctx: Ctx, data: Any, path: str) -> tuple[ParameterSpec | None, Any]:
    start = ctx.count
    raw = check_object(ctx, data, path, PARAM_CHECKERS)
    if raw is BAD:
        return None, BAD
    assert isinstance(data, dict)

    def sub(key: str) -> str:
        return f"{path}.{key}"

    def given(key: str) -> bool:
        return key in data

    def nonempty(key: str) -> bool:
        v = data.get(key)
        return v is not None and not (isinstance(v, list | tuple) and not v)

    if not given("parameterName"):
        ctx.add(sub("parameterName"), "parameterName is required")
    ptype = raw.get("type")
    if not given("type"):
        ctx.add(sub("type"), f"type is required: one of {', '.join(PARAM_TYPES)}")
    elif ptype == "PARAMETER_TYPE_UNSPECIFIED":
        ctx.add(sub("type"), f"type PARAMETER_TYPE_UNSPECIFIED is not allowed: use one of "
                             f"{', '.join(PARAM_TYPES)}")
        ptype = None
    scale = raw.get("scaleType", "NONE")
    log_like = scale in ("UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE")
    lo: float | None = raw.get("minValue")
    hi: float | None = raw.get("maxValue")
    # The well-typed entries with their original indices, so that duplicates and ordering are
    # reported even while another entry has the wrong type.
    cat_list = data.get("categoricalValues")
    cats = [(i, c) for i, c in enumerate(cat_list) if isinstance(c, str)] if isinstance(
        cat_list, list | tuple) else []
    point_list = data.get("discreteValues")
    points: list[tuple[int, float]] = []
    if isinstance(point_list, list | tuple):
        for i, v in enumerate(point_list):
            x = to_float(v)
            if x is not None and math.isfinite(x):
                points.append((i, x))

    if ptype in ("DOUBLE", "INTEGER"):
        for key in ("minValue", "maxValue"):
            if not given(key):
                ctx.add(sub(key), f"{key} is required for {ptype} parameters")
        for key in ("categoricalValues", "discreteValues"):
            if nonempty(key):
                ctx.add(sub(key), f"{key} must not be set for {ptype} parameters")
        if ptype == "INTEGER":
            for key, x in (("minValue", lo), ("maxValue", hi)):
                if x is not None and not x.is_integer():
                    ctx.add(sub(key), f"{key} ({show(data[key])}) must be an integer for "
                                      "INTEGER parameters")
        if lo is not None and hi is not None and lo > hi:
            ctx.add(sub("minValue"), f"minValue ({show(data['minValue'])}) must be ≤ maxValue "
                                     f"({show(data['maxValue'])})")
        if log_like and lo is not None and lo <= 0:
            ctx.add(sub("minValue"), f"minValue ({show(data['minValue'])}) must be greater than "
                                     f"0 because scaleType is {scale}: the whole feasible space "
                                     "must be strictly positive")
    elif ptype == "CATEGORICAL":
        if not nonempty("categoricalValues"):
            ctx.add(sub("categoricalValues"), "categoricalValues is required for CATEGORICAL "
                                              "parameters and must not be empty")
        if isinstance(cat_list, list | tuple) and len(cat_list) > _MAX_VALUES:
            ctx.add(sub("categoricalValues"), f"categoricalValues has {len(cat_list)} values; "
                                              f"at most {_MAX_VALUES} are allowed")
        seen: dict[str, int] = {}
        for i, c in cats:
            if len(c) > _MAX_CATEGORY_LEN:
                ctx.add(f"{path}.categoricalValues[{i}]",
                        f"categoricalValues[{i}] is {len(c)} characters long; at most "
                        f"{_MAX_CATEGORY_LEN} are allowed")
            if c in seen:
                ctx.add(f"{path}.categoricalValues[{i}]",
                        f"categoricalValues[{i}] {show(c)} is a duplicate of "
                        f"categoricalValues[{seen[c]}]; categories must be unique")
            else:
                seen[c] = i
        for key in ("minValue", "maxValue"):
            if given(key):
                ctx.add(sub(key), f"{key} must not be set for CATEGORICAL parameters")
        if nonempty("discreteValues"):
            ctx.add(sub("discreteValues"), "discreteValues must not be set for CATEGORICAL "
                                           "parameters")
        if given("scaleType") and data["scaleType"] != "NONE" and "scaleType" in raw:
            ctx.add(sub("scaleType"), f"scaleType {scale} must not be set for CATEGORICAL "
                                      "parameters (leave it unset or NONE)")
    elif ptype == "DISCRETE":
        if not nonempty("discreteValues"):
            ctx.add(sub("discreteValues"), "discreteValues is required for DISCRETE parameters "
                                           "and must not be empty")
        if isinstance(point_list, list | tuple) and len(point_list) > _MAX_VALUES:
            ctx.add(sub("discreteValues"), f"discreteValues has {len(point_list)} values; at "
                                           f"most {_MAX_VALUES} are allowed")
        for (j, prev), (i, cur) in itertools.pairwise(points):
            if cur <= prev:
                ctx.add(f"{path}.discreteValues[{i}]",
                        f"discreteValues must be strictly increasing, but discreteValues[{i}] "
                        f"({format_number(cur)}) is not greater than discreteValues[{j}] "
                        f"({format_number(prev)})")
            elif cur - prev < _MIN_DISCRETE_GAP:
                ctx.add(f"{path}.discreteValues[{i}]",
                        f"discreteValues[{i}] ({format_number(cur)}) is less than 1e-10 above "
                        f"discreteValues[{j}] ({format_number(prev)}); values must be at least "
                        "1e-10 apart")
        if nonempty("categoricalValues"):
            ctx.add(sub("categoricalValues"), "categoricalValues must not be set for DISCRETE "
                                              "parameters")
        if log_like and points and points[0][1] <= 0:
            i, first = points[0]
            ctx.add(f"{path}.discreteValues[{i}]",
                    f"discreteValues[{i}] ({format_number(first)}) must be greater than 0 because "
                    f"scaleType is {scale}: the whole feasible space must be strictly positive")

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
    if len(value) > _MAX_PARAMS:
        ctx.add(path, f"params has {len(value)} parameters; at most {_MAX_PARAMS} are allowed")
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
