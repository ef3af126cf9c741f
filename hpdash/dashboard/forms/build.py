"""Form -> Job dict, and the parser's violations back onto the form's fields.

:func:`build_job` turns what was typed into the ml v1 Job dict (numbers that look like numbers
become numbers, everything else is passed on as typed) without validating it; the one parser
(:func:`hpdash.core.spec.parse_job`, via ``services.job_create``) judges it, and
:func:`apply_violations` puts each violation on the field or parameter row its JSON path names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms

from hpdash.core.spec import FieldViolation, SpecError, load_config

from .fields import (
    FIELD_FOR_PATH,
    HP_FIELDS,
    PARAM_FIELD_FOR_KEY,
    PARAM_FIELDS,
    PARAMS,
    TRAINER_FIELDS,
    TYPE_FIELDS,
    JobForm,
)

_INT = re.compile(r"[-+]?[0-9]{1,25}")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_PARAM_PATH = re.compile(r"trainingInput\.hyperparameters\.params\[(\d+)\](?:\.([A-Za-z]+))?")


# ---------------------------------------------------------------------------------------------
# Form -> Job dict


def _number(text: str) -> int | float | str:
    """A number if the text looks like one; otherwise the text, for the parser to judge."""
    s = text.strip()
    if _INT.fullmatch(s):
        return int(s)
    if len(s) <= 64 and _FLOAT.fullmatch(s):
        return float(s)
    return s


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _categories(text: str) -> list[str]:
    if "\n" in text.strip():
        return _lines(text)
    return [c.strip() for c in text.split(",") if c.strip()]


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for line in _lines(text):
        key, _, value = line.partition("=")
        labels[key.strip()] = value.strip()
    return labels


@dataclass
class BuiltJob:
    """The Job dict a form describes.  ``rows[i]`` is the formset index of ``params[i]``."""

    data: dict[str, Any]
    rows: list[int] = field(default_factory=list)
    extra_keys: frozenset[str] = frozenset()
    # Problems found while reading the form itself (the "other fields" YAML box).
    violations: list[FieldViolation] = field(default_factory=list)

    @property
    def resume_job_id(self) -> str | None:
        value = self.data.get("trainingInput", {}).get("hyperparameters", {}).get(
            "resumePreviousJobId")
        return value if isinstance(value, str) else None


def _value(form: forms.BaseForm, name: str) -> Any:
    if hasattr(form, "cleaned_data") and name in form.cleaned_data:
        return form.cleaned_data[name]
    return form[name].value()


def _put(target: dict[str, Any], key: str, kind: str, value: Any) -> None:
    if kind == "bool":
        if value:
            target[key] = True
        return
    text = value if isinstance(value, str) else ""
    if not text.strip():
        return
    if kind == "number":
        target[key] = _number(text)
    elif kind == "lines":
        target[key] = _lines(text)
    elif kind == "resume":
        target[key] = text.partition("/")[2] if "/" in text else text
    else:
        target[key] = text.strip()


def build_job(form: JobForm, formset: Any) -> BuiltJob:
    """The ml v1 Job dict the form describes (no validation: that is the parser's job)."""
    built = BuiltJob(data={})
    job_id = (_value(form, "job_id") or "").strip()
    if job_id:
        built.data["jobId"] = job_id
    labels = _labels(_value(form, "labels") or "")
    if labels:
        built.data["labels"] = labels

    training: dict[str, Any] = {}
    for key, name, kind in TRAINER_FIELDS:
        _put(training, key, kind, _value(form, name))
    extra_text = _value(form, "extra") or ""
    if extra_text.strip():
        try:
            extra = load_config(extra_text)
        except SpecError as exc:
            built.violations += [FieldViolation("extra", v.description) for v in exc.violations]
            extra = {}
        own = {key for key, _, _ in TRAINER_FIELDS} | {"hyperparameters"}
        for key, value in extra.items():
            if key in own:
                built.violations.append(FieldViolation(
                    "extra", f"{key} has its own field on this form: set it there"))
            else:
                training[key] = value
        built.extra_keys = frozenset(k for k in extra if isinstance(k, str))

    hp: dict[str, Any] = {}
    for key, name, kind in HP_FIELDS:
        _put(hp, key, kind, _value(form, name))
    params = []
    for index, row in enumerate(formset.forms):
        param = _row_param(row)
        if param is not None:
            params.append(param)
            built.rows.append(index)
    if params:
        hp["params"] = params
    training["hyperparameters"] = hp
    built.data["trainingInput"] = training
    return built


def _row_param(row: forms.BaseForm) -> dict[str, Any] | None:
    """A row's ParameterSpec dict, or None for a removed or blank row."""
    if _value(row, "DELETE"):
        return None
    values = {name: (_value(row, name) or "") for _, name in PARAM_FIELDS}
    if not any(str(v).strip() for k, v in values.items() if k != "type"):
        return None
    ptype = str(values["type"]).strip()
    shown = TYPE_FIELDS.get(ptype, tuple(n for _, n in PARAM_FIELDS[2:]))
    param: dict[str, Any] = {}
    name = str(values["parameter_name"]).strip()
    if name:
        param["parameterName"] = name
    if ptype:
        param["type"] = ptype
    for key, fname in PARAM_FIELDS[2:]:
        text = str(values[fname])
        if fname not in shown or not text.strip():
            continue
        if fname in ("min_value", "max_value"):
            param[key] = _number(text)
        elif fname == "discrete_values":
            param[key] = [_number(x) for x in re.split(r"[,\s]+", text) if x]
        elif fname == "categorical_values":
            param[key] = _categories(text)
        else:
            param[key] = text.strip()
    return param


# ---------------------------------------------------------------------------------------------
# Violations -> fields


def _field_for(path: str, extra_keys: Iterable[str]) -> str | None:
    best: tuple[int, str] | None = None
    for prefix, name in FIELD_FOR_PATH.items():
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), name)
    if best is not None:
        return best[1]
    if path == "extra":
        return "extra"
    for key in extra_keys:
        prefix = f"trainingInput.{key}"
        quoted = f'trainingInput["{key}"]'
        if path in (prefix, quoted) or path.startswith((prefix + ".", prefix + "[")):
            return "extra"
    return None


def apply_violations(form: JobForm, formset: Any, built: BuiltJob,
                     violations: Iterable[FieldViolation]) -> None:
    """Show each violation on the field (or parameter row field) its JSON path names; the rest
    become errors of the whole form."""
    for v in violations:
        m = _PARAM_PATH.match(v.field)
        if m is not None:
            i = int(m.group(1))
            if i < len(built.rows):
                row = formset.forms[built.rows[i]]
                name = PARAM_FIELD_FOR_KEY.get(m.group(2) or "")
                row.add_error(name if name in row.fields else None, v.description)
                continue
        if v.field == PARAMS:
            formset.non_form_errors().append(v.description)
            continue
        name = _field_for(v.field, built.extra_keys)
        if name is not None and name in form.fields:
            form.add_error(name, v.description)
        else:
            form.add_error(None, f"{v.field}: {v.description}")
