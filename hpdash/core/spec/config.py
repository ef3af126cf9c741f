"""Load gcloud ``--config`` files (YAML 1.1, so JSON too) into plain data, safely.

The YAML event stream is scanned before anything is constructed, so aliases (alias bombs),
non-data tags (``!!python/object``), duplicate keys, deep nesting and huge documents are refused
with a :class:`~hpdash.core.spec.types.SpecError` on field ``config`` — never another exception.
No Django here: only the standard library and PyYAML.
"""

from __future__ import annotations

from typing import Any, Final

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
)

from .checks import kind_of
from .types import FieldViolation, SpecError

__all__ = ["MAX_CONFIG_BYTES", "MAX_CONFIG_DEPTH", "MAX_CONFIG_NODES", "load_config"]

MAX_CONFIG_BYTES: Final = 1024 * 1024
MAX_CONFIG_DEPTH: Final = 32
MAX_CONFIG_NODES: Final = 100_000

_SAFE_TAGS: Final = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")
)


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
        data = yaml.load(source, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
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
    except Exception as exc:  # noqa: BLE001 - nothing may escape: the config is untrusted
        raise _config_error(f"the config could not be loaded: {exc}"[:300]) from None

    if data is None:
        raise _config_error("the config is empty; expected a Job resource such as "
                            "'trainingInput: {...}'")
    if not isinstance(data, dict):
        raise _config_error(
            f"the config must be a YAML/JSON mapping at the top level (a Job resource), "
            f"got {kind_of(data)}"
        )
    return data


