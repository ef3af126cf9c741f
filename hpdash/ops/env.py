"""Reading hpdash's environment knobs: each names its variable when its value is malformed
(``ImproperlyConfigured: HPDASH_WORKERS must be an integer ≥ 1, got 'two'``), so a typo stops
``make run`` at once instead of surfacing as a traceback later.  Only the settings
(``settings.py`` and :mod:`hpdash.ops.config`) call these; everything else reads ``settings``."""

from __future__ import annotations

import math
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if not value else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no), got {value!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    return int(_number(name, default, minimum, int, "an integer"))


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    return _number(name, default, minimum, float, "a number")


def _number(name: str, default: float, minimum: float, kind: type[int] | type[float],
            what: str) -> float:
    value = _raw(name)
    if not value:
        return default
    try:
        number: float = kind(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < minimum:
        raise ImproperlyConfigured(f"{name} must be {what} ≥ {minimum:g}, got {value!r}")
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_list(name: str, default: str, sep: str = ",") -> list[str]:
    return [v.strip() for v in env_str(name, default).split(sep) if v.strip()]
