"""Parse and validate ml v1 ``Job`` resources and gcloud ``--config`` files.

This is hpdash's one validator: the REST API, the YAML upload, the form and the admin all call
:func:`parse_job` (or :func:`parse_hyperparameters`) and map the returned
:class:`~hpdash.spec.types.FieldViolation` paths onto their own fields.

Contract:

- Input is JSON-like data (``dict``/``list``/``str``/``int``/``float``/``bool``/``None``, nested
  arbitrarily). Whatever it is, the only exception that can leave is :class:`SpecError`, which
  carries *every* violation found, each with a JSON path in the camelCase names the user wrote
  (``trainingInput.hyperparameters.params[2].minValue``).
- Field names, enum names and JSON types follow the ml v1 discovery document. Numbers follow the
  proto3 JSON mapping: integer fields take a JSON number or a decimal string, double fields take a
  JSON number or a numeric string. Booleans are never numbers and numbers are never strings: a
  YAML ``yes`` in a list of categories is reported, not silently turned into ``"True"``.
- ``TrainingInput.raw`` echoes the validated ``trainingInput`` in API form, in the user's key
  order, with int64 fields as decimal strings and doubles as floats; defaults are not filled in.

No Django here: only the standard library and PyYAML.
"""

from __future__ import annotations

import difflib
import itertools
import keyword
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
)

from .types import (
    ALGORITHMS,
    DEFAULT_METRIC_TAG,
    PARAM_TYPES,
    SCALE_TYPES,
    FieldViolation,
    HyperparameterSpec,
    JobSpec,
    ParameterSpec,
    SpecError,
    TrainingInput,
)

__all__ = [
    "JOB_ID_PATTERN",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "MAX_CONFIG_NODES",
    "RESERVED_METRIC_TAGS",
    "load_config",
    "parse_hyperparameters",
    "parse_job",
    "parse_labels",
]

# ---------------------------------------------------------------------------------------------
# Limits and patterns

MAX_CONFIG_BYTES: Final = 1024 * 1024
MAX_CONFIG_DEPTH: Final = 32
MAX_CONFIG_NODES: Final = 100_000

JOB_ID_PATTERN: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
# Project names (the <project> of projects/<project>/jobs): hpdash's choice.
PROJECT_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_MAX_LABELS: Final = 64
_PARAM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,127}")
_INT_STRING = re.compile(r"-?[0-9]{1,25}")
_FLOAT_STRING = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DURATION = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?s")
_URI_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")

# Keys cloudml-hypertune writes into every metric record next to the metric itself; a metric tag
# equal to one of them would be overwritten by (or overwrite) the bookkeeping value.
RESERVED_METRIC_TAGS: Final = frozenset({"timestamp", "trial", "global_step", "checkpoint_path"})

_MAX_PARAMS: Final = 100
_MAX_VALUES: Final = 1000
_MAX_CATEGORY_LEN: Final = 1024
_MAX_METRIC_TAG_LEN: Final = 256
_MAX_TRIALS: Final = 100_000
_MAX_PARALLEL_TRIALS: Final = 1000
_MAX_PACKAGE_URIS: Final = 100
_MAX_GRID: Final = 10_000_000
_MIN_DISCRETE_GAP: Final = 1e-10
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# Past this many violations the rest are summarised in one extra entry, so a hostile document
# cannot make an error response arbitrarily large.
_MAX_VIOLATIONS: Final = 200

_OUTPUT_ONLY_JOB_FIELDS: Final = frozenset(
    {"createTime", "startTime", "endTime", "state", "errorMessage", "trainingOutput", "etag",
     "jobPosition"}
)
_PREDICTION_FIELDS: Final = frozenset({"predictionInput", "predictionOutput"})
_JOB_FIELDS: Final = frozenset({"jobId", "labels", "trainingInput"}) | _OUTPUT_ONLY_JOB_FIELDS | (
    _PREDICTION_FIELDS
)

SCALE_TIERS = ("BASIC", "STANDARD_1", "PREMIUM_1", "BASIC_GPU", "BASIC_TPU", "CUSTOM")
_ACCELERATOR_TYPES = (
    "ACCELERATOR_TYPE_UNSPECIFIED", "NVIDIA_TESLA_K80", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100",
    "NVIDIA_TESLA_P4", "NVIDIA_TESLA_T4", "NVIDIA_TESLA_A100", "TPU_V2", "TPU_V3", "TPU_V2_POD",
    "TPU_V3_POD", "TPU_V4_POD",
)
_GOALS_IN = ("GOAL_TYPE_UNSPECIFIED", "MAXIMIZE", "MINIMIZE")
_PARAM_TYPES_IN = ("PARAMETER_TYPE_UNSPECIFIED", *PARAM_TYPES)

_SAFE_TAGS: Final = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")
)


class _Bad:
    """Marker returned by a checker whose value was invalid (the violation is already added)."""


_BAD: Final = _Bad()

# ---------------------------------------------------------------------------------------------
# load_config


def _config_error(message: str) -> SpecError:
    return SpecError([FieldViolation("config", message)])


def _at(mark: Any) -> str:
    if mark is None:
        return ""
    return f" at line {mark.line + 1}, column {mark.column + 1}"


def _yaml_error_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context}{_at(exc.context_mark)})" if exc.context else ""
        return f"the config is not valid YAML{_at(exc.problem_mark)}: {problem}{context}"
    return "the config is not valid YAML: " + " ".join(str(exc).split())


_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _prescan(text: str) -> None:
    """Walk the YAML event stream (no objects are built yet) and refuse aliases, non-data tags,
    duplicate keys, deep nesting and huge node counts before ``safe_load`` constructs anything.
    """
    loader = _Loader(text)
    try:
        nodes = 0
        # One frame per open collection: (is_mapping, [next_is_key], keys_seen).
        stack: list[tuple[bool, list[bool], set[str]]] = []
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, AliasEvent):
                raise _config_error(
                    f"YAML aliases (*{event.anchor}) are not allowed{_at(event.start_mark)}: "
                    "hpdash refuses aliases (and so merge keys) to guard against alias bombs; "
                    "write the value out in full"
                )
            if isinstance(event, ScalarEvent | CollectionStartEvent):
                nodes += 1
                if nodes > MAX_CONFIG_NODES:
                    raise _config_error(
                        f"the config has more than {MAX_CONFIG_NODES} YAML nodes; "
                        "a hyperparameter tuning config is far smaller than that"
                    )
                tag = event.tag
                if tag is not None and tag not in _SAFE_TAGS and tag != "!":
                    shown = tag.replace("tag:yaml.org,2002:", "!!")
                    raise _config_error(
                        f"the YAML tag {shown} is not allowed{_at(event.start_mark)}: hpdash "
                        "configs may only hold plain data (mappings, lists, strings, numbers, "
                        "booleans, null)"
                    )
                if stack and stack[-1][0]:
                    expecting_key = stack[-1][1]
                    if expecting_key[0] and isinstance(event, ScalarEvent):
                        seen = stack[-1][2]
                        if event.value in seen:
                            raise _config_error(
                                f'duplicate key "{event.value[:100]}"{_at(event.start_mark)}: '
                                "each key may appear only once in a mapping"
                            )
                        seen.add(event.value)
                    expecting_key[0] = not expecting_key[0]
                if isinstance(event, CollectionStartEvent):
                    if len(stack) >= MAX_CONFIG_DEPTH:
                        raise _config_error(
                            f"the config is nested more than {MAX_CONFIG_DEPTH} levels "
                            f"deep{_at(event.start_mark)}"
                        )
                    stack.append((isinstance(event, MappingStartEvent), [True], set()))
            elif isinstance(event, MappingEndEvent | SequenceEndEvent):
                stack.pop()
    finally:
        loader.dispose()


def load_config(text: str | bytes) -> dict[str, Any]:
    """Load a gcloud ``--config`` file (YAML 1.1, so JSON too) into plain data.

    ``yaml.safe_load`` semantics (``True``/``TRUE``/``true`` are booleans), but refused with a
    :class:`SpecError` on field ``config``: an empty document, a top level that is not a mapping,
    any non-data YAML tag (``!!python/...``), any alias (``*name``, so no alias bombs and no
    ``<<`` merge keys; anchors alone are harmless), duplicate keys, more than 1 MiB, more than 32
    levels of nesting, more than 100,000 nodes, and syntax errors (with line and column). No other
    exception escapes.
    """
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        if len(raw) > MAX_CONFIG_BYTES:
            raise _config_error(f"the config is larger than {MAX_CONFIG_BYTES} bytes (1 MiB)")
        try:
            source = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _config_error(
                f"the config is not UTF-8 text (bad byte at offset {exc.start})"
            ) from None
    elif isinstance(text, str):
        if len(text) > MAX_CONFIG_BYTES or (
            len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES
        ):
            raise _config_error(f"the config is larger than {MAX_CONFIG_BYTES} bytes (1 MiB)")
        source = text[1:] if text.startswith("\ufeff") else text
    else:
        raise _config_error(f"the config must be text, got {type(text).__name__}")

    try:
        _prescan(source)
        data = yaml.load(source, Loader=_Loader)  # _Loader is a SafeLoader (C or Python)
    except SpecError:
        raise
    except yaml.YAMLError as exc:
        raise _config_error(_yaml_error_message(exc)) from None
    except RecursionError:
        raise _config_error("the config is nested too deeply") from None
    except ValueError as exc:
        if "Exceeds the limit" in str(exc):  # Python's int-from-string digit limit
            raise _config_error("the config contains an integer with too many digits") from None
        raise _config_error(f"the config could not be loaded: {exc}"[:300]) from None
    except Exception as exc:  # nothing else may escape: the config is untrusted input
        raise _config_error(f"the config could not be loaded: {exc}"[:300]) from None

    if data is None:
        raise _config_error("the config is empty; expected a Job resource such as "
                            "'trainingInput: {...}'")
    if not isinstance(data, dict):
        raise _config_error(
            f"the config must be a YAML/JSON mapping at the top level (a Job resource), "
            f"got {_kind(data)}"
        )
    return data


# ---------------------------------------------------------------------------------------------
# Violation collection and value display


class _Ctx:
    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []
        self.count = 0

    def add(self, path: str, description: str) -> None:
        self.count += 1
        if len(self.violations) < _MAX_VIOLATIONS:
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


def _kind(value: Any) -> str:
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


def _fmt(value: Any, depth: int) -> str:
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
        items = [_fmt(v, depth - 1) for v in value[:4]]
        return "[" + ", ".join(items) + (", …" if len(value) > 4 else "") + "]"
    if isinstance(value, dict):
        if depth <= 0:
            return "{…}" if value else "{}"
        parts = [f"{_fmt(k, 0)}: {_fmt(v, depth - 1)}" for k, v in list(value.items())[:3]]
        return "{" + ", ".join(parts) + (", …" if len(value) > 3 else "") + "}"
    return f"<{type(value).__name__}>"


def _show(value: Any) -> str:
    s = _fmt(value, 1)
    return s if len(s) <= 100 else s[:99] + "…"


def _got(value: Any) -> str:
    if value is None or (isinstance(value, list | tuple | dict) and not value):
        return _kind(value) if value is None else f"{_kind(value)} ({_show(value)})"
    return f"{_kind(value)} ({_show(value)})"


def _quote_hint(value: Any) -> str:
    if isinstance(value, bool):
        return ("; YAML reads unquoted yes/no/on/off/true/false as booleans, so quote the value "
                "(e.g. 'yes')")
    if isinstance(value, int | float):
        return f"; quote it in YAML to keep it a string (e.g. '{_fmt(value, 0)}')"
    if isinstance(value, datetime | date):
        return "; YAML reads unquoted dates as timestamps, so quote the value"
    return ""


def _join(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return f"{path}.{key}" if path else key
    shown = key if len(key) <= 100 else key[:100] + "…"
    return f'{path}["{shown}"]' if path else f'["{shown}"]'


def _name(path: str) -> str:
    """The field's own name for messages: ``a.b.params[2].minValue`` -> ``minValue``."""
    return path.rsplit(".", 1)[-1] if path else "job"


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def _unknown(ctx: _Ctx, parent: str, key: Any, allowed: Any) -> None:
    where = parent or "job"
    if not isinstance(key, str):
        ctx.add(where, f"field names must be strings, got {_got(key)}")
        return
    shown = key if len(key) <= 100 else key[:100] + "…"
    message = f"Unknown name \"{shown}\" at '{where}': Cannot find field."
    if len(key) <= 100:
        if _camel(key) in allowed and _camel(key) != key:
            message += f' Did you mean "{_camel(key)}"? (field names are camelCase)'
        else:
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.75)
            if close:
                message += f' Did you mean "{close[0]}"?'
    ctx.add(_join(parent, key), message)


# ---------------------------------------------------------------------------------------------
# Scalar checkers: (ctx, value, path) -> normalised value, or _BAD after adding a violation

Checker = Callable[[_Ctx, Any, str], Any]


def _check_str(ctx: _Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        ctx.add(path, f"{_name(path)} must be a string, got {_got(value)}{_quote_hint(value)}")
        return _BAD
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unpassable(value: str) -> str | None:
    """Why a string cannot reach a trial's command line or environment (None if it can): the
    OS refuses a NUL, and a lone surrogate (JSON's "\\ud800") cannot be encoded at all."""
    if "\x00" in value:
        return "contains a NUL character, which no command line or environment can hold"
    if _SURROGATE.search(value):
        return "contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode text"
    return None


def _check_arg(ctx: _Ctx, value: Any, path: str) -> Any:
    """A string passed to the trainer (command-line argument or environment value)."""
    if _check_str(ctx, value, path) is _BAD:
        return _BAD
    why = _unpassable(value)
    if why:
        ctx.add(path, f"{_name(path)} {_show(value)} {why}")
        return _BAD
    return value


def _check_bool(ctx: _Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, bool):
        ctx.add(path, f"{_name(path)} must be a boolean (true or false), got {_got(value)}")
        return _BAD
    return value


def _to_int(value: Any) -> int | None:
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


def _int_checker(lo: int, hi: int, *, as_string: bool = False) -> Checker:
    def check(ctx: _Ctx, value: Any, path: str) -> Any:
        n = _to_int(value)
        name = _name(path)
        if n is None:
            ctx.add(path, f"{name} must be an integer, got {_got(value)}")
            return _BAD
        if n < lo:
            ctx.add(path, f"{name} ({_show(value)}) must be at least {lo}")
            return _BAD
        if n > hi:
            ctx.add(path, f"{name} ({_show(value)}) must be at most {hi}")
            return _BAD
        return str(n) if as_string else n

    return check


def _to_float(value: Any) -> float | None:
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


def _check_double(ctx: _Ctx, value: Any, path: str) -> Any:
    x = _to_float(value)
    if x is None:
        ctx.add(path, f"{_name(path)} must be a number, got {_got(value)}")
        return _BAD
    if not math.isfinite(x):
        ctx.add(path, f"{_name(path)} must be a finite number, got {_show(value)}")
        return _BAD
    return x


def _enum_checker(values: tuple[str, ...]) -> Checker:
    def check(ctx: _Ctx, value: Any, path: str) -> Any:
        name = _name(path)
        if isinstance(value, str) and value in values:
            return value
        choices = ", ".join(values)
        if isinstance(value, str) and value.upper() in values:
            ctx.add(path, f'{name} "{value[:100]}" is not valid: enum values are case-sensitive, '
                          f"did you mean {value.upper()}?")
        elif isinstance(value, str):
            ctx.add(path, f"{name} {_show(value)} is not valid: must be one of {choices}")
        else:
            ctx.add(path, f"{name} must be one of {choices}, got {_got(value)}")
        return _BAD

    return check


def _list_checker(item: Checker, *, max_items: int | None = None) -> Checker:
    def check(ctx: _Ctx, value: Any, path: str) -> Any:
        if not isinstance(value, list | tuple):
            ctx.add(path, f"{_name(path)} must be a list, got {_got(value)}")
            return _BAD
        if max_items is not None and len(value) > max_items:
            ctx.add(path, f"{_name(path)} has {len(value)} entries; at most {max_items} are "
                          "allowed")
        out = []
        for i, v in enumerate(value):
            nv = item(ctx, v, f"{path}[{i}]")
            if nv is not _BAD:
                out.append(nv)
        return out if len(out) == len(value) else _BAD

    return check


def _check_duration(ctx: _Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        ctx.add(path, f'{_name(path)} must be a duration in seconds such as "3600s", '
                      f"got {_got(value)}")
        return _BAD
    return value


def _check_local_location(ctx: _Ctx, value: Any, path: str) -> Any:
    """An absolute local path or a ``file://`` URI with an absolute path (hpdash runs on the
    machine's own files; there is no Cloud Storage)."""
    name = _name(path)
    if not isinstance(value, str):
        ctx.add(path, f"{name} must be a string, got {_got(value)}")
        return _BAD
    shown = _show(value)
    if not value:
        ctx.add(path, f"{name} must not be empty")
        return _BAD
    scheme = _URI_SCHEME.match(value)
    if scheme and scheme.group(1).lower() != "file":
        kind = f"{scheme.group(1)}://" if value[scheme.end():].startswith("//") else (
            f"{scheme.group(1)}:")
        how = " (e.g. with gsutil cp)" if kind == "gs://" else ""
        ctx.add(path, f"{name} {shown} is a {kind} location, but hpdash runs on local files: "
                      f"copy it to this machine{how} and give its absolute path or a file:// "
                      "URI")
        return _BAD
    if scheme:
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.netloc not in ("", "localhost") or parts.query or (
            parts.fragment
        ):
            ctx.add(path, f"{name} {shown} must be a file:// URI of a local absolute path, "
                          "such as file:///srv/packages/trainer-0.1.tar.gz")
            return _BAD
        local = unquote(parts.path)
    else:
        local = value
    if "\x00" in local:
        ctx.add(path, f"{name} {shown} contains a NUL character")
        return _BAD
    if _SURROGATE.search(value):
        ctx.add(path, f"{name} {shown} {_unpassable(value)}")
        return _BAD
    if not local.startswith("/"):
        ctx.add(path, f"{name} {shown} must be an absolute local path (starting with /) or a "
                      "file:// URI")
        return _BAD
    return value


def _check_python_module(ctx: _Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        ctx.add(path, f"pythonModule must be a string, got {_got(value)}")
        return _BAD
    parts = value.split(".")
    if value and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return value
    hint = ""
    if value.endswith(".py") or "/" in value:
        guess = value.removesuffix(".py").strip("/").replace("/", ".")
        hint = f" (did you mean {guess}?)"
    ctx.add(path, f"pythonModule {_show(value)} is not a Python module name: it must be a "
                  f"dotted module path such as trainer.task{hint}")
    return _BAD


def _object_checker(schema: dict[str, Checker]) -> Checker:
    def check(ctx: _Ctx, value: Any, path: str) -> Any:
        return _check_object(ctx, value, path, schema)

    return check


def _check_object(ctx: _Ctx, value: Any, path: str, schema: dict[str, Checker]) -> Any:
    """Check each field of an object against ``schema``; unknown fields are violations. Returns
    the normalised object (valid fields only, in the user's order) or _BAD if not an object."""
    if not isinstance(value, dict):
        ctx.add(path, f"{_name(path)} must be an object, got {_got(value)}")
        return _BAD
    out: dict[str, Any] = {}
    for key, v in value.items():
        if not isinstance(key, str) or key not in schema:
            _unknown(ctx, path, key, schema)
            continue
        nv = schema[key](ctx, v, _join(path, key))
        if nv is not _BAD:
            out[key] = nv
    return out


_STR_LIST = _list_checker(_check_str)

_REPLICA_CONFIG = _object_checker({
    "acceleratorConfig": _object_checker({
        "count": _int_checker(0, _INT64[1], as_string=True),
        "type": _enum_checker(_ACCELERATOR_TYPES),
    }),
    "containerArgs": _STR_LIST,
    "containerCommand": _STR_LIST,
    "diskConfig": _object_checker({
        "bootDiskSizeGb": _int_checker(0, _INT32[1]),
        "bootDiskType": _check_str,
    }),
    "imageUri": _check_str,
    "tpuTfVersion": _check_str,
})

_COUNT = _int_checker(0, _INT64[1], as_string=True)

# TrainingInput fields that hpdash only type-checks, stores and echoes.
_TRAINING_INPUT_SCHEMA: dict[str, Checker] = {
    "scaleTier": _enum_checker(SCALE_TIERS),
    "masterType": _check_str,
    "workerType": _check_str,
    "parameterServerType": _check_str,
    "evaluatorType": _check_str,
    "workerCount": _COUNT,
    "parameterServerCount": _COUNT,
    "evaluatorCount": _COUNT,
    "masterConfig": _REPLICA_CONFIG,
    "workerConfig": _REPLICA_CONFIG,
    "parameterServerConfig": _REPLICA_CONFIG,
    "evaluatorConfig": _REPLICA_CONFIG,
    "region": _check_str,
    "runtimeVersion": _check_str,
    "pythonVersion": _check_str,
    "scheduling": _object_checker({
        "maxRunningTime": _check_duration,
        "maxWaitTime": _check_duration,
        "priority": _int_checker(0, 1000),
    }),
    "serviceAccount": _check_str,
    "network": _check_str,
    "encryptionConfig": _object_checker({"kmsKeyName": _check_str}),
    "enableWebAccess": _check_bool,
    "useChiefInTfConfig": _check_bool,
    # Fields hpdash runs with.
    "pythonModule": _check_python_module,
    "packageUris": _list_checker(_check_local_location, max_items=_MAX_PACKAGE_URIS),
    "args": _list_checker(_check_arg),
    "jobDir": _check_local_location,
    # "hyperparameters" is added per call by _parse_training_input.
}

# ---------------------------------------------------------------------------------------------
# Job id and labels


def _check_job_id(ctx: _Ctx, value: Any, path: str) -> Any:
    name = _name(path)
    if not isinstance(value, str):
        ctx.add(path, f"{name} must be a string, got {_got(value)}")
        return _BAD
    if JOB_ID_PATTERN.fullmatch(value):
        return value
    hint = ""
    if "-" in value and JOB_ID_PATTERN.fullmatch(value.replace("-", "_")):
        hint = f" (did you mean {value.replace('-', '_')}?)"
    ctx.add(path, f"{name} {_show(value)} is not valid: it must start with a letter, contain "
                  f"only letters, digits and underscores, and be at most 128 characters{hint}")
    return _BAD


def _check_labels(ctx: _Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        ctx.add(path, f"labels must be an object mapping label keys to string values, got "
                      f"{_got(value)}")
        return _BAD
    if len(value) > _MAX_LABELS:
        ctx.add(path, f"labels has {len(value)} entries; at most {_MAX_LABELS} are allowed")
    out: dict[str, str] = {}
    for key, v in value.items():
        if not isinstance(key, str):
            ctx.add(path, f"label keys must be strings, got {_got(key)}")
            continue
        kpath = _join(path, key)
        ok = True
        if not _LABEL_KEY.fullmatch(key):
            ctx.add(kpath, f"label key {_show(key)} is not valid: it must start with a lowercase "
                           "letter and contain only lowercase letters, digits, '_' and '-' "
                           "(at most 63 characters)")
            ok = False
        if not isinstance(v, str):
            ctx.add(kpath, f"label {_show(key)} must have a string value, got {_got(v)}"
                           f"{_quote_hint(v)}")
            ok = False
        elif not _LABEL_VALUE.fullmatch(v):
            ctx.add(kpath, f"label value {_show(v)} is not valid: it may contain only lowercase "
                           "letters, digits, '_' and '-' (at most 63 characters)")
            ok = False
        if ok:
            out[key] = v
    return out


def parse_labels(data: Any, path: str = "labels") -> dict[str, str]:
    """Validate a ``labels`` map (Google's label rules); for ``jobs.patch``."""
    ctx = _Ctx()
    out = _check_labels(ctx, data, path)
    ctx.raise_if_any(path)
    assert isinstance(out, dict)
    return out


# ---------------------------------------------------------------------------------------------
# ParameterSpec


def _check_param_name(ctx: _Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        ctx.add(path, f"parameterName must be a string, got {_got(value)}{_quote_hint(value)}")
        return _BAD
    if not value:
        ctx.add(path, "parameterName must not be empty")
        return _BAD
    if not _PARAM_NAME.fullmatch(value):
        ctx.add(path, f"parameterName {_show(value)} is not valid: it becomes the command-line "
                      "flag --<name>, so it may contain only letters, digits, '_' and '-', must "
                      "not start with '-', and must be at most 128 characters")
        return _BAD
    return value


def _check_category(ctx: _Ctx, value: Any, path: str) -> Any:
    return _check_arg(ctx, value, path)  # it becomes --name=<value>


_PARAM_CHECKERS: dict[str, Checker] = {
    "parameterName": _check_param_name,
    "type": _enum_checker(_PARAM_TYPES_IN),
    "minValue": _check_double,
    "maxValue": _check_double,
    "categoricalValues": _list_checker(_check_category),
    "discreteValues": _list_checker(_check_double),
    "scaleType": _enum_checker(SCALE_TYPES),
}


def _fmt_num(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


def _parse_param(ctx: _Ctx, data: Any, path: str) -> tuple[ParameterSpec | None, Any]:
    start = ctx.count
    raw = _check_object(ctx, data, path, _PARAM_CHECKERS)
    if raw is _BAD:
        return None, _BAD
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
            x = _to_float(v)
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
                    ctx.add(sub(key), f"{key} ({_show(data[key])}) must be an integer for "
                                      "INTEGER parameters")
        if lo is not None and hi is not None and lo > hi:
            ctx.add(sub("minValue"), f"minValue ({_show(data['minValue'])}) must be ≤ maxValue "
                                     f"({_show(data['maxValue'])})")
        if log_like and lo is not None and lo <= 0:
            ctx.add(sub("minValue"), f"minValue ({_show(data['minValue'])}) must be greater than "
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
                        f"categoricalValues[{i}] {_show(c)} is a duplicate of "
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
                        f"({_fmt_num(cur)}) is not greater than discreteValues[{j}] "
                        f"({_fmt_num(prev)})")
            elif cur - prev < _MIN_DISCRETE_GAP:
                ctx.add(f"{path}.discreteValues[{i}]",
                        f"discreteValues[{i}] ({_fmt_num(cur)}) is less than 1e-10 above "
                        f"discreteValues[{j}] ({_fmt_num(prev)}); values must be at least "
                        "1e-10 apart")
        if nonempty("categoricalValues"):
            ctx.add(sub("categoricalValues"), "categoricalValues must not be set for DISCRETE "
                                              "parameters")
        if log_like and points and points[0][1] <= 0:
            i, first = points[0]
            ctx.add(f"{path}.discreteValues[{i}]",
                    f"discreteValues[{i}] ({_fmt_num(first)}) must be greater than 0 because "
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


def _parse_params(
    ctx: _Ctx, value: Any, path: str
) -> tuple[list[ParameterSpec | None], Any]:
    if not isinstance(value, list | tuple):
        ctx.add(path, f"params must be a list of parameter specs, got {_got(value)}")
        return [], _BAD
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
        raws.append(raw if raw is not _BAD else item)
        name = raw.get("parameterName") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            continue
        if name in names:
            ctx.add(f"{ipath}.parameterName",
                    f"parameterName {_show(name)} is already used by params[{names[name]}]; "
                    "parameter names must be unique")
            specs[-1] = None
        elif _flag_dest(name) in dests:
            other = dests[_flag_dest(name)]
            ctx.add(f"{ipath}.parameterName",
                    f"parameterName {_show(name)} clashes with params[{other}] "
                    f"{_show(value[other].get('parameterName'))}: argparse maps both flags to "
                    f"{_flag_dest(name)}")
            specs[-1] = None
        names.setdefault(name, i)
        dests.setdefault(_flag_dest(name), i)
    return specs, raws


# ---------------------------------------------------------------------------------------------
# HyperparameterSpec


def _check_metric_tag(ctx: _Ctx, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        ctx.add(path, f"hyperparameterMetricTag must be a string, got {_got(value)}")
        return _BAD
    if _unpassable(value):  # the trial's CLOUD_ML_HP_METRIC_TAG
        ctx.add(path, f"hyperparameterMetricTag {_show(value)} {_unpassable(value)}")
        return _BAD
    if not value:
        ctx.add(path, "hyperparameterMetricTag must not be empty (leave it out to use "
                      f"{DEFAULT_METRIC_TAG})")
        return _BAD
    if len(value) > _MAX_METRIC_TAG_LEN:
        ctx.add(path, f"hyperparameterMetricTag is {len(value)} characters long; at most "
                      f"{_MAX_METRIC_TAG_LEN} are allowed")
        return _BAD
    if value in RESERVED_METRIC_TAGS:
        ctx.add(path, f"hyperparameterMetricTag {_show(value)} is reserved: cloudml-hypertune "
                      "writes a key of that name into every metric record; choose another tag")
        return _BAD
    return value


_HP_CHECKERS: dict[str, Checker] = {
    "goal": _enum_checker(_GOALS_IN),
    "maxTrials": _int_checker(1, _MAX_TRIALS),
    "maxParallelTrials": _int_checker(1, _MAX_PARALLEL_TRIALS),
    "maxFailedTrials": _int_checker(0, _MAX_TRIALS),
    "hyperparameterMetricTag": _check_metric_tag,
    "resumePreviousJobId": _check_job_id,
    "enableTrialEarlyStopping": _check_bool,
    "algorithm": _enum_checker(ALGORITHMS),
    # "params" is added per call by _parse_hp.
}


def _grid_count(p: ParameterSpec) -> int:
    if p.type == "CATEGORICAL":
        return len(p.categorical_values)
    if p.type == "DISCRETE":
        return len(p.discrete_values)
    assert p.min_value is not None and p.max_value is not None
    return max(0, math.floor(p.max_value) - math.ceil(p.min_value) + 1)


def _parse_hp(ctx: _Ctx, data: Any, path: str) -> tuple[HyperparameterSpec | None, Any]:
    start = ctx.count
    specs: list[ParameterSpec | None] = []
    params_raw: Any = []

    def check_params(c: _Ctx, v: Any, p: str) -> Any:
        nonlocal specs, params_raw
        specs, params_raw = _parse_params(c, v, p)
        return params_raw

    raw = _check_object(ctx, data, path, {**_HP_CHECKERS, "params": check_params})
    if raw is _BAD:
        return None, _BAD
    assert isinstance(data, dict)

    max_trials = raw.get("maxTrials", 1)
    # When maxTrials itself is invalid, comparing against it would only add noise.
    if "maxFailedTrials" in raw and ("maxTrials" in raw or "maxTrials" not in data):
        if raw["maxFailedTrials"] > max_trials:
            ctx.add(f"{path}.maxFailedTrials",
                    f"maxFailedTrials ({raw['maxFailedTrials']}) must be ≤ maxTrials "
                    f"({max_trials})")

    # Resuming copies the previous job's params, so they may be left out.
    if "resumePreviousJobId" not in data:
        if "params" not in data:
            ctx.add(f"{path}.params", "params is required: list at least one parameter to tune")
        elif isinstance(data["params"], list | tuple) and not data["params"]:
            ctx.add(f"{path}.params", "params must list at least one parameter to tune")

    if raw.get("algorithm") == "GRID_SEARCH":
        for i, praw in enumerate(params_raw if isinstance(params_raw, list) else []):
            if isinstance(praw, dict) and praw.get("type") == "DOUBLE":
                ctx.add(f"{path}.params[{i}].type",
                        "type DOUBLE cannot be used with GRID_SEARCH, which needs a finite grid: "
                        "use INTEGER, CATEGORICAL or DISCRETE, or another algorithm")
        if specs and all(p is not None and p.type != "DOUBLE" for p in specs):
            size = 1
            for p in specs:
                assert p is not None
                size *= _grid_count(p)
                if size > _MAX_GRID:
                    break
            if size > _MAX_GRID:
                ctx.add(f"{path}.params",
                        f"the GRID_SEARCH grid has more than {_MAX_GRID:,} points (the product "
                        "of every parameter's number of values); narrow the parameters")

    if ctx.count > start:
        return None, raw
    params = tuple(p for p in specs if p is not None)
    goal = raw.get("goal", "MAXIMIZE")
    spec = HyperparameterSpec(
        params=params,
        goal="MAXIMIZE" if goal == "GOAL_TYPE_UNSPECIFIED" else goal,
        metric_tag=raw.get("hyperparameterMetricTag", DEFAULT_METRIC_TAG),
        max_trials=max_trials,
        max_parallel_trials=raw.get("maxParallelTrials", 1),
        max_failed_trials=raw.get("maxFailedTrials", 0),
        enable_early_stopping=raw.get("enableTrialEarlyStopping", False),
        resume_previous_job_id=raw.get("resumePreviousJobId"),
        algorithm=raw.get("algorithm", "ALGORITHM_UNSPECIFIED"),
    )
    return spec, raw


def parse_hyperparameters(
    data: Any, path: str = "trainingInput.hyperparameters"
) -> HyperparameterSpec:
    """Validate one ``HyperparameterSpec`` object; violations are reported under ``path``."""
    ctx = _Ctx()
    try:
        spec, _ = _parse_hp(ctx, data, path)
    except RecursionError:  # pragma: no cover - the walk is bounded by the schema
        raise SpecError([FieldViolation(path, "the value is nested too deeply")]) from None
    ctx.raise_if_any(path)
    assert spec is not None
    return spec


# ---------------------------------------------------------------------------------------------
# TrainingInput and Job


_COUNT_TYPES = (
    ("workerCount", "workerType"),
    ("parameterServerCount", "parameterServerType"),
    ("evaluatorCount", "evaluatorType"),
)


def _parse_training_input(ctx: _Ctx, data: Any, path: str) -> TrainingInput | None:
    start = ctx.count
    hp: HyperparameterSpec | None = None

    def check_hp(c: _Ctx, v: Any, p: str) -> Any:
        nonlocal hp
        hp, raw_hp = _parse_hp(c, v, p)
        return raw_hp

    schema = {**_TRAINING_INPUT_SCHEMA, "hyperparameters": check_hp}
    raw = _check_object(ctx, data, path, schema)
    if raw is _BAD:
        return None
    assert isinstance(data, dict)

    if "pythonModule" not in data:
        ctx.add(f"{path}.pythonModule", "pythonModule is required: the Python module to run "
                                        "for each trial, such as trainer.task")
    if "hyperparameters" not in data:
        ctx.add(f"{path}.hyperparameters", "hyperparameters is required: hpdash runs "
                                           "hyperparameter tuning jobs")

    # ml v1's CUSTOM scale tier rules. An unset tier means BASIC.
    if "scaleTier" not in data or "scaleTier" in raw:
        tier = raw.get("scaleTier")
        if tier == "CUSTOM" and "masterType" not in data:
            ctx.add(f"{path}.masterType", "masterType is required when scaleTier is CUSTOM")
        for count_key, type_key in _COUNT_TYPES:
            if count_key not in raw or int(raw[count_key]) == 0:
                continue
            if tier != "CUSTOM":
                now = f"scaleTier is {tier}" if tier else "scaleTier is not set, which means BASIC"
                ctx.add(f"{path}.{count_key}",
                        f"{count_key} can only be used when scaleTier is CUSTOM ({now})")
            elif type_key not in data:
                ctx.add(f"{path}.{type_key}",
                        f"{type_key} is required when {count_key} is greater than zero")

    if ctx.count > start or hp is None:
        return None
    return TrainingInput(
        hyperparameters=hp,
        python_module=raw["pythonModule"],
        package_uris=tuple(raw.get("packageUris", ())),
        args=tuple(raw.get("args", ())),
        job_dir=raw.get("jobDir"),
        raw=raw,
    )


def _parse_job(ctx: _Ctx, data: Any, require_job_id: bool) -> JobSpec | None:
    if not isinstance(data, dict):
        ctx.add("job", f"the job must be an object (a Job resource), got {_got(data)}")
        return None
    job_id: Any = None
    labels: Any = {}
    training: TrainingInput | None = None
    for key, value in data.items():
        if not isinstance(key, str) or key not in _JOB_FIELDS:
            _unknown(ctx, "", key, _JOB_FIELDS)
        elif key in _PREDICTION_FIELDS:
            ctx.add(key, f"{key}: prediction jobs are not supported by hpdash, which runs "
                         "hyperparameter tuning jobs (trainingInput)")
        elif key == "jobId":
            job_id = _check_job_id(ctx, value, "jobId")
        elif key == "labels":
            labels = _check_labels(ctx, value, "labels")
        elif key == "trainingInput":
            training = _parse_training_input(ctx, value, "trainingInput")
        # Output-only fields are accepted and ignored.
    if require_job_id and "jobId" not in data:
        ctx.add("jobId", "jobId is required")
    if "trainingInput" not in data:
        ctx.add("trainingInput", "trainingInput is required: hpdash runs hyperparameter tuning "
                                 "jobs described by trainingInput.hyperparameters")
    if ctx.count or training is None:
        return None
    return JobSpec(job_id=job_id if isinstance(job_id, str) else None,
                   training_input=training, labels=labels)


def parse_job(data: Any, *, require_job_id: bool = True) -> JobSpec:
    """Validate a whole ml v1 ``Job`` resource (camelCase JSON data) into a :class:`JobSpec`.

    With ``require_job_id=False`` a gcloud config without ``jobId`` (``{trainingInput: ...}``)
    is accepted. Output-only fields are ignored. Raises :class:`SpecError` with every violation.
    """
    ctx = _Ctx()
    try:
        job = _parse_job(ctx, data, require_job_id)
    except RecursionError:  # pragma: no cover - the walk is bounded by the schema
        raise SpecError([FieldViolation("job", "the job is nested too deeply")]) from None
    ctx.raise_if_any("job")
    assert job is not None
    return job
