"""Vertex AI's ``StudySpec`` (part of the Vertex parser, :mod:`hpdash.core.spec.vertex`).

Proto3 JSON as the ``google-cloud-aiplatform`` SDK sends it: enums as integers or names, fields
holding their default left out (``minValue: 0`` arrives missing), int64 as strings.  Each
parameter is checked by the same rules as ml v1's (:mod:`hpdash.core.spec.params`, the one
place they live): it is translated into ml v1's shape, checked there, and every violation's
path and wording is mapped back onto Vertex's field names.  No Django here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any, Final

from .checks import (
    BAD,
    Checker,
    Ctx,
    check_bool,
    check_double,
    check_duration,
    check_object,
    check_str,
    field_name,
    got,
    int_checker,
    list_checker,
    object_checker,
    show,
    to_float,
    unpassable,
)
from .params import parse_params
from .space import value_count
from .types import ParameterSpec, ParamValue, StudyStopping

# Enums by number, as proto3 JSON may send them (the SDK sends numbers); names pass as names.
GOALS: Final = {0: "GOAL_TYPE_UNSPECIFIED", 1: "MAXIMIZE", 2: "MINIMIZE"}
ALGORITHMS: Final = {0: "ALGORITHM_UNSPECIFIED", 2: "GRID_SEARCH", 3: "RANDOM_SEARCH"}
SELECTIONS: Final = {0: "MEASUREMENT_SELECTION_TYPE_UNSPECIFIED", 1: "LAST_MEASUREMENT",
                     2: "BEST_MEASUREMENT"}
NOISES: Final = {0: "OBSERVATION_NOISE_UNSPECIFIED", 1: "LOW", 2: "HIGH"}
SCALES: Final = {0: "SCALE_TYPE_UNSPECIFIED", 1: "UNIT_LINEAR_SCALE", 2: "UNIT_LOG_SCALE",
                 3: "UNIT_REVERSE_LOG_SCALE"}
_MAX_GRID: Final = 10_000_000
_MAX_METRIC_ID_LEN: Final = 256
_RESERVED_METRIC_IDS: Final = frozenset({"timestamp", "trial", "global_step", "checkpoint_path"})


def vertex_enum(values: dict[int, str]) -> Checker:
    """An enum given as its number or its name; answers the name."""
    names = tuple(values.values())

    def check(ctx: Ctx, value: Any, path: str) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value in values:
            return values[value]
        if isinstance(value, str) and value in names:
            return value
        choices = ", ".join(f"{n} ({v})" for v, n in values.items())
        ctx.add(path, f"{path.rsplit('.', 1)[-1]} {show(value)} is not valid: must be one of "
                      f"{choices}")
        return BAD

    return check


def _check_metric_id(ctx: Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str) or not value:
        ctx.add(path, f"metricId must be a non-empty string, got {got(value)}")
        return BAD
    why = unpassable(value)
    if why or len(value) > _MAX_METRIC_ID_LEN:
        ctx.add(path, f"metricId {show(value)} "
                      f"{why or f'is longer than {_MAX_METRIC_ID_LEN} characters'}")
        return BAD
    if value in _RESERVED_METRIC_IDS:
        ctx.add(path, f"metricId {show(value)} is reserved: cloudml-hypertune writes a key of "
                      "that name into every metric record; choose another id")
        return BAD
    return value


_METRIC = object_checker({"metricId": _check_metric_id, "goal": vertex_enum(GOALS),
                          "safetyConfig": object_checker({
                              "safetyThreshold": check_double,
                              "desiredMinSafeTrialsFraction": check_double})})


def _refuse_elapsed(ctx: Ctx, value: Any, path: str) -> Any:
    if check_bool(ctx, value, path) is not BAD and value:
        ctx.add(path, "useElapsedDuration is not supported: hpdash's early-stopping rules "
                      "compare trials by step, not by elapsed time (leave it false)")
        return BAD
    return value


_STOPPING_SPECS: Final = {
    "decayCurveStoppingSpec": object_checker({"useElapsedDuration": _refuse_elapsed}),
    "medianAutomatedStoppingSpec": object_checker({"useElapsedDuration": _refuse_elapsed}),
    "convexAutomatedStoppingSpec": object_checker({
        "maxStepCount": int_checker(0, 2**63 - 1, as_string=True),
        "minStepCount": int_checker(0, 2**63 - 1, as_string=True),
        "minMeasurementCount": int_checker(0, 2**63 - 1, as_string=True),
        "learningRateParameterName": check_str,
        "useElapsedDuration": _refuse_elapsed,
        "updateAllStoppedTrials": check_bool}),
}


def _check_time(ctx: Ctx, value: Any, path: str) -> Any:
    """An RFC 3339 timestamp with its zone (``2026-12-07T08:00:00Z``)."""
    try:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        ctx.add(path, f"{field_name(path)} must be an RFC 3339 time with its zone such as "
                      f'"2026-12-07T08:00:00Z", got {got(value)}')
        return BAD
    return value


_TIME_CONSTRAINT: Final = object_checker({"maxDuration": check_duration, "endTime": _check_time})
_STUDY_STOPPING: Final = object_checker({
    "shouldStopAsap": check_bool,
    "minimumRuntimeConstraint": _TIME_CONSTRAINT,
    "maximumRuntimeConstraint": _TIME_CONSTRAINT,
    "minNumTrials": int_checker(1, 2**31 - 1),
    "maxNumTrials": int_checker(1, 2**31 - 1),
    "maxNumTrialsNoProgress": int_checker(1, 2**31 - 1),
    "maxDurationNoProgress": check_duration,
})


def _seconds(duration: str | None) -> float | None:
    return float(duration[:-1]) if duration else None


def study_stopping(ctx: Ctx, raw: Any, path: str) -> StudyStopping | None:
    """``studySpec.studyStoppingConfig`` (checked by the schema) → the typed rule."""
    if not isinstance(raw, dict) or not raw:
        return None
    low = raw.get("minimumRuntimeConstraint") or {}
    high = raw.get("maximumRuntimeConstraint") or {}
    for key, given in (("minimumRuntimeConstraint", low), ("maximumRuntimeConstraint", high)):
        if "maxDuration" in given and "endTime" in given:
            ctx.add(f"{path}.{key}", f"{key} takes one of maxDuration and endTime, not both")
    if raw.get("minNumTrials", 0) > raw.get("maxNumTrials", 2**31):
        ctx.add(f"{path}.minNumTrials", "minNumTrials must be ≤ maxNumTrials")
    return StudyStopping(
        min_trials=raw.get("minNumTrials"), max_trials=raw.get("maxNumTrials"),
        max_trials_no_progress=raw.get("maxNumTrialsNoProgress"),
        max_seconds_no_progress=_seconds(raw.get("maxDurationNoProgress")),
        min_runtime_seconds=_seconds(low.get("maxDuration")), min_end_time=low.get("endTime"),
        max_runtime_seconds=_seconds(high.get("maxDuration")),
        max_end_time=high.get("endTime"), stop_asap=bool(raw.get("shouldStopAsap", False)))


def _values_of(value: Any) -> Any:
    return value.get("values") if isinstance(value, dict) else None


# The value specs: which ml v1 type each is, and its fields.
_VALUE_SPECS: Final = {
    "doubleValueSpec": "DOUBLE", "integerValueSpec": "INTEGER",
    "categoricalValueSpec": "CATEGORICAL", "discreteValueSpec": "DISCRETE",
}
_ANY: Checker = lambda ctx, value, path: value  # noqa: E731  # the ml v1 rules check it
_PARAM_SCHEMA: Final[dict[str, Checker]] = {
    "parameterId": _ANY,
    **{key: object_checker({"minValue": _ANY, "maxValue": _ANY, "defaultValue": _ANY,
                            "values": _ANY}) for key in _VALUE_SPECS},
    "scaleType": vertex_enum(SCALES),
    "conditionalParameterSpecs": _ANY,  # _flatten
}
_RANGE_KEYS: Final = ("minValue", "maxValue", "defaultValue")
_LIST_KEYS: Final = ("values", "defaultValue")


def _translate(ctx: Ctx, data: Any, path: str) -> tuple[dict[str, Any], str | None, Any]:
    """(the parameter in ml v1's shape, its value spec's key, the parameter as echoed)."""
    raw = check_object(ctx, data, path, _PARAM_SCHEMA)
    if raw is BAD:
        return {}, None, BAD
    kinds = [k for k in _VALUE_SPECS if k in raw]
    if len(kinds) != 1:
        ctx.add(path, "a parameter needs exactly one of doubleValueSpec, integerValueSpec, "
                      f"categoricalValueSpec and discreteValueSpec, got {len(kinds)}")
        return {}, None, BAD
    kind = kinds[0]
    spec = raw[kind]
    ptype = _VALUE_SPECS[kind]
    out: dict[str, Any] = {"type": ptype}
    if "parameterId" in raw:
        out["parameterName"] = raw["parameterId"]
    scale = raw.get("scaleType", "SCALE_TYPE_UNSPECIFIED")
    if scale != "SCALE_TYPE_UNSPECIFIED":
        out["scaleType"] = scale
    echoed = dict(raw)
    if ptype in ("DOUBLE", "INTEGER"):
        # proto3 leaves a 0 out: a missing bound is 0.
        out["minValue"], out["maxValue"] = spec.get("minValue", 0), spec.get("maxValue", 0)
    elif ptype == "CATEGORICAL":
        out["categoricalValues"] = spec.get("values", [])
    else:
        out["discreteValues"] = spec.get("values", [])
    for key in spec:
        allowed = _RANGE_KEYS if ptype in ("DOUBLE", "INTEGER") else _LIST_KEYS
        if key not in allowed:
            ctx.add(f"{path}.{kind}.{key}", f"{key} is not a field of {kind}")
    return out, kind, echoed


def _check_default(ctx: Ctx, spec: ParameterSpec, value: Any, path: str) -> ParamValue | None:
    """``defaultValue`` as the trial would take it, when it is one of the parameter's values
    (else a violation, and None)."""
    if spec.type == "CATEGORICAL":
        if value in spec.categorical_values:
            return str(value)
    else:
        x = to_float(value)
        lo, hi = spec.min_value, spec.max_value
        if x is None:
            pass
        elif spec.type == "DISCRETE" and x in spec.discrete_values:
            return x
        elif lo is not None and hi is not None and lo <= x <= hi:
            if spec.type == "DOUBLE":
                return x
            if x.is_integer():
                return int(x)
    ctx.add(path, f"defaultValue {show(value)} is not one of the parameter's values")
    return None


def _vertex_path(kind: str, ml_path: str, base: str) -> str:
    """An ml v1 violation path under ``base`` (``…parameters[i]``) in Vertex's names."""
    rest = ml_path[len(base):]
    for ml, vertex in (("parameterName", "parameterId"), ("categoricalValues", f"{kind}.values"),
                       ("discreteValues", f"{kind}.values"), ("minValue", f"{kind}.minValue"),
                       ("maxValue", f"{kind}.maxValue"), ("type", kind)):
        if rest == f".{ml}" or rest.startswith((f".{ml}.", f".{ml}[")):
            return base + "." + vertex + rest[len(ml) + 1:]
    return base + rest


_WORDS: Final = (("parameterName", "parameterId"), ("categoricalValues", "values"),
                 ("discreteValues", "values"))


_PARENT_KEYS: Final = {"parentDiscreteValues": "DISCRETE", "parentIntValues": "INTEGER",
                       "parentCategoricalValues": "CATEGORICAL"}
_MAX_DEPTH: Final = 8


@dataclasses.dataclass
class _Flat:
    """One parameter of the tree, flattened: the item as given, its path, and its condition
    (the index of its parent among the flattened ones, the condition's key and values)."""

    item: Any
    path: str
    parent: int | None = None
    key: str = ""
    values: Any = None


def _flatten(ctx: Ctx, items: list[Any], path: str, parent: int | None, *, depth: int,
             out: list[_Flat]) -> None:
    """Parents before their children, depth first."""
    for i, item in enumerate(items):
        here = len(out)
        base = f"{path}[{i}]" if parent is None else f"{path}[{i}].parameterSpec"
        if parent is not None:
            cond = item if isinstance(item, dict) else {}
            keys = [k for k in _PARENT_KEYS if k in cond]
            unknown = [k for k in cond if k not in _PARENT_KEYS and k != "parameterSpec"]
            for k in unknown:
                ctx.add(f"{path}[{i}].{k}", f"{k} is not a field of a conditional parameter "
                        "spec (parameterSpec and one of parentDiscreteValues, parentIntValues, "
                        "parentCategoricalValues)")
            if not isinstance(item, dict) or len(keys) != 1:
                ctx.add(f"{path}[{i}]", "a conditional parameter spec needs exactly one of "
                        "parentDiscreteValues, parentIntValues and parentCategoricalValues, "
                        f"got {len(keys)}")
                continue
            if "parameterSpec" not in cond:
                ctx.add(f"{path}[{i}].parameterSpec", "parameterSpec is required: the child "
                                                      "parameter")
                continue
            out.append(_Flat(cond["parameterSpec"], base, parent, keys[0],
                             _values_of(cond[keys[0]])))
        else:
            out.append(_Flat(item, base))
        node = out[-1].item
        children = node.get("conditionalParameterSpecs") if isinstance(node, dict) else None
        if children is None:
            continue
        cpath = f"{base}.conditionalParameterSpecs"
        if not isinstance(children, list):
            ctx.add(cpath, f"conditionalParameterSpecs must be a list, got {got(children)}")
        elif depth >= _MAX_DEPTH:
            ctx.add(cpath, f"conditional parameters nest at most {_MAX_DEPTH} levels deep")
        else:
            _flatten(ctx, children, cpath, here, depth=depth + 1, out=out)


def _condition(ctx: Ctx, flat: _Flat, parent: ParameterSpec) -> tuple[ParamValue, ...] | None:
    """The parent values that activate a child, checked against the parent's values."""
    where = f"{flat.path.removesuffix('.parameterSpec')}.{flat.key}"
    wanted = _PARENT_KEYS[flat.key]
    if parent.type != wanted:
        kinds = {"INTEGER": "parentIntValues", "DISCRETE": "parentDiscreteValues",
                 "CATEGORICAL": "parentCategoricalValues"}
        hint = (f"use {kinds[parent.type]}" if parent.type in kinds else
                "a doubleValueSpec parameter cannot be a parent (its values are not a list)")
        ctx.add(where, f"{flat.key} does not fit parent parameter {parent.name!r} of type "
                       f"{parent.type}: {hint}")
        return None
    if not isinstance(flat.values, list) or not flat.values:
        ctx.add(f"{where}.values", f"values must be a non-empty list of {parent.name!r}'s "
                                   f"values, got {got(flat.values)}")
        return None
    out: list[ParamValue] = []
    for j, v in enumerate(flat.values):
        if parent.type == "CATEGORICAL":
            ok: ParamValue | None = v if v in parent.categorical_values else None
        else:
            x = to_float(v)
            ok = None
            if x is not None and parent.type == "DISCRETE" and x in parent.discrete_values:
                ok = x
            elif (x is not None and parent.type == "INTEGER" and x.is_integer()
                  and parent.min_value is not None and parent.max_value is not None
                  and parent.min_value <= x <= parent.max_value):
                ok = int(x)
        if ok is None:
            ctx.add(f"{where}.values[{j}]", f"{show(v)} is not a value of parent parameter "
                                            f"{parent.name!r}")
            return None
        out.append(ok)
    return tuple(out)


def _flat_path(flats: list[_Flat], i: int) -> str:
    return flats[i].path if i < len(flats) else f"parameters[{i}]"


def parse_parameters(ctx: Ctx, value: Any, path: str, algorithm: str | None
                     ) -> tuple[tuple[ParameterSpec, ...] | None, Any]:
    """``studySpec.parameters`` (conditional children included, flattened after their parent)
    → the typed parameters, and the list as echoed."""
    if not isinstance(value, list) or not value:
        ctx.add(path, f"parameters must be a non-empty list of parameter specs, got "
                      f"{got(value)}")
        return None, BAD
    flats: list[_Flat] = []
    _flatten(ctx, value, path, None, depth=0, out=flats)
    translated, kinds, echoed = [], [], []
    for flat in flats:
        out, kind, echo = _translate(ctx, flat.item, flat.path)
        translated.append(out)
        kinds.append(kind or "")
        echoed.append(echo)
    inner = Ctx()
    specs, _ = parse_params(inner, translated, path)
    for v in inner.violations:
        i = int(v.field[len(path) + 1:].split("]", 1)[0]) if v.field.startswith(path + "[") else -1
        if 0 <= i < len(flats):
            rest = v.field[len(f"{path}[{i}]"):]
            field = _vertex_path(kinds[i], flats[i].path + rest, flats[i].path)
        else:
            field = v.field
        text = re.sub(r"\bparams\[(\d+)\]", lambda m: _flat_path(flats, int(m[1])),
                      v.description)
        for ml, vertex in _WORDS:
            text = text.replace(ml, vertex)
        ctx.add(field, text)
    for i, spec in enumerate(specs):
        item = flats[i].item if isinstance(flats[i].item, dict) else {}
        default = (item.get(kinds[i]) or {}).get("defaultValue") if kinds[i] else None
        if spec is not None and default is not None:
            given = _check_default(ctx, spec, default, f"{flats[i].path}.{kinds[i]}.defaultValue")
            specs[i] = dataclasses.replace(spec, default_value=given)
        parent = flats[i].parent
        if spec is not None and parent is not None and specs[parent] is not None:
            parent_spec = specs[parent]
            assert parent_spec is not None
            values = _condition(ctx, flats[i], parent_spec)
            if values is not None:
                specs[i] = dataclasses.replace(spec, parent=parent_spec.name,
                                               parent_values=values)
        if algorithm == "GRID_SEARCH" and kinds[i] == "doubleValueSpec":
            ctx.add(f"{flats[i].path}.doubleValueSpec", "doubleValueSpec cannot be used with "
                    "GRID_SEARCH, which needs a finite grid: use integerValueSpec, "
                    "categoricalValueSpec or discreteValueSpec, or another algorithm")
    if inner.count or ctx.count or any(s is None for s in specs):
        return None, _echo_tree(value, flats, echoed)
    typed = tuple(s for s in specs if s is not None)
    if algorithm == "GRID_SEARCH" and all(s.type != "DOUBLE" for s in typed):
        size = 1
        for s in typed:
            size *= value_count(s) or 0
        if size > _MAX_GRID:
            ctx.add(path, f"the GRID_SEARCH grid has more than {_MAX_GRID:,} points; narrow "
                          "the parameters")
    return typed, _echo_tree(value, flats, echoed)


def _echo_tree(value: list[Any], flats: list[_Flat], echoed: list[Any]) -> Any:
    """The parameters as echoed: each checked (enum names for numbers), children inside
    their parent's ``conditionalParameterSpecs`` as given."""
    if any(e is BAD for e in echoed):
        return BAD
    out: list[Any] = []
    holders: dict[int, list[Any]] = {}
    for i, flat in enumerate(flats):
        node = {k: v for k, v in echoed[i].items() if k != "conditionalParameterSpecs"}
        if isinstance(flat.item, dict) and "conditionalParameterSpecs" in flat.item:
            node["conditionalParameterSpecs"] = holders.setdefault(i, [])
        if flat.parent is None:
            out.append(node)
        else:
            cond = {flat.key: {"values": flat.values}, "parameterSpec": node}
            holders.setdefault(flat.parent, []).append(cond)
    return out


STUDY_SCHEMA: Final[dict[str, Checker]] = {
    "metrics": list_checker(_METRIC),
    "parameters": _ANY,  # parse_parameters, once the algorithm is known
    "algorithm": vertex_enum(ALGORITHMS),
    "measurementSelectionType": vertex_enum(SELECTIONS),
    "observationNoise": vertex_enum(NOISES),
    "studyStoppingConfig": _STUDY_STOPPING,
    **_STOPPING_SPECS,
}
# The stopping specs are a oneof; any of them turns early stopping on.
STOPPING_SPEC_KEYS: Final = tuple(_STOPPING_SPECS)
