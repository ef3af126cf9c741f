"""Numbers for people: what the dashboard's tables show.  Tables show a few significant digits;
the full value (``repr``, what the API and the exports carry) goes in the cell's ``title`` so a
hover shows it.  A value that is a bound up to float noise (``0.09999999999999998`` for a
``maxValue`` of ``0.1``, from a log-scale round trip) is shown as the bound."""

from __future__ import annotations

import math
from typing import Any

from hpdash.core.spec import ParameterSpec
from hpdash.core.spec.space import bounds

SIGNIFICANT = 4
# A value this close to a bound (relative to the bound's size) is the bound.
BOUND_TOLERANCE = 1e-9


def display_number(value: float | None, digits: int = SIGNIFICANT) -> str:
    """``0.9851851851851852`` → ``0.9852``; ``12345.678`` → ``12346`` (never fewer digits than
    the integer part has); tiny and huge values in short scientific form (``1.5e-5``)."""
    if value is None:
        return ""
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    magnitude = abs(v)
    if 1e-4 <= magnitude < 1e15:
        whole = len(str(int(magnitude))) if magnitude >= 1 else 0
        return _trim(f"{v:.{max(digits, whole)}g}")
    mantissa, _, exponent = f"{v:.{digits - 1}e}".partition("e")
    return f"{_trim(mantissa)}e{int(exponent)}"


def _trim(text: str) -> str:
    if "e" in text:  # %g may still choose scientific form: shorten its exponent
        mantissa, _, exponent = text.partition("e")
        return f"{_trim(mantissa)}e{int(exponent)}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def snap_to_bound(p: ParameterSpec, value: float) -> float:
    """The bound itself when ``value`` equals it up to float noise, else ``value``."""
    if p.type not in ("DOUBLE", "INTEGER", "DISCRETE"):
        return value
    for bound in bounds(p):
        if math.isclose(value, bound, rel_tol=BOUND_TOLERANCE, abs_tol=0.0):
            return bound
    return value


def display_param(p: ParameterSpec, value: Any) -> str:
    """A parameter's value for a table cell: categories verbatim, integers whole, others with
    :data:`SIGNIFICANT` digits after snapping to a bound."""
    if p.type == "CATEGORICAL":
        return str(value)
    if p.type == "INTEGER":
        return str(int(value))
    return display_number(snap_to_bound(p, float(value)))


def full_number(value: float | None) -> str:
    """Full precision, as the API and the exports show it (the cell's hover text)."""
    return "" if value is None else repr(float(value))


def display_duration(seconds: float) -> str:
    """``42`` → ``42 s``, ``150`` → ``2.5 min``, ``5400`` → ``1.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
