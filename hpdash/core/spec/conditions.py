"""Conditional parameters (Vertex's ``conditionalParameterSpecs``): a child parameter is active
only while its parent is active and takes one of the child's ``parent_values``.  Only active
parameters are suggested, stored with a trial and passed to its trainer.

The suggesters search the full space: :func:`filled` gives every inactive parameter of a point a
fixed value (its ``default_value``, else its first value) so that a point of any trial can be
encoded, and :func:`active_point` drops them again.  Two points that differ only in inactive
parameters are one configuration (:func:`canonical`).  No Django here.
"""

from __future__ import annotations

from collections.abc import Mapping

from .space import clean_value
from .types import HyperparameterSpec, ParameterSpec, ParamValue


def is_conditional(spec: HyperparameterSpec) -> bool:
    return any(p.parent is not None for p in spec.params)


def _matches(parent: ParameterSpec, value: ParamValue, wanted: tuple[ParamValue, ...]) -> bool:
    if parent.type == "CATEGORICAL":
        return str(value) in wanted
    try:
        return float(value) in {float(w) for w in wanted}
    except (TypeError, ValueError):
        return False


def active_names(spec: HyperparameterSpec, point: Mapping[str, ParamValue]) -> set[str]:
    """The parameters active at ``point`` (parents come before their children in the spec)."""
    by_name = {p.name: p for p in spec.params}
    active: set[str] = set()
    for p in spec.params:
        if p.parent is None:
            active.add(p.name)
        elif (p.parent in active and p.parent in point
              and _matches(by_name[p.parent], point[p.parent], p.parent_values)):
            active.add(p.name)
    return active


def active_point(spec: HyperparameterSpec, point: Mapping[str, ParamValue]
                 ) -> dict[str, ParamValue]:
    """``point`` without its inactive parameters."""
    active = active_names(spec, point)
    return {k: v for k, v in point.items() if k in active}


def filler(p: ParameterSpec) -> ParamValue:
    """The value an inactive parameter takes where a full point is needed."""
    if p.default_value is not None:
        return p.default_value
    if p.type == "CATEGORICAL":
        return p.categorical_values[0]
    if p.type == "DISCRETE":
        return p.discrete_values[0]
    assert p.min_value is not None
    return clean_value(p, p.min_value)


def filled(spec: HyperparameterSpec, point: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    """``point`` with every parameter it lacks at its :func:`filler` value."""
    return {p.name: point[p.name] if p.name in point else filler(p) for p in spec.params}


def canonical(spec: HyperparameterSpec, point: Mapping[str, ParamValue]
              ) -> dict[str, ParamValue]:
    """The full point of the configuration ``point`` runs: inactive parameters at their
    filler, so configurations that differ only there are equal."""
    return filled(spec, active_point(spec, point))
