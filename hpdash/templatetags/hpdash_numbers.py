"""Numbers for people in templates: ``{{ value|short }}`` with four significant digits, and
``{{ value|full }}`` at full precision for the hover text (:mod:`hpdash.dashboard.numbers`)."""

from __future__ import annotations

from django import template

from hpdash.dashboard.numbers import display_number, full_number

register = template.Library()


@register.filter
def short(value: float | None) -> str:
    return display_number(value)


@register.filter
def full(value: float | None) -> str:
    return full_number(value)
