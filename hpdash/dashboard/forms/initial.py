"""Job dict -> form initial data: the inverse of :func:`hpdash.dashboard.forms.build.build_job`.

Used by import, "load example" and "continue this job".  What a field cannot show is left out,
with a note saying so; :func:`merge_job` lays one Job dict over another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from hpdash.core.spec.parse import OUTPUT_ONLY_JOB_FIELDS
from hpdash.core.spec.space import format_number

from .fields import HP, HP_FIELDS, PARAM_FIELD_FOR_KEY, PARAMS, TRAINER_FIELDS

OUTPUT_ONLY = OUTPUT_ONLY_JOB_FIELDS


def _as_text(value: Any) -> str | None:
    """A scalar as the text a field shows; None if it cannot be shown in a text field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, str):
        return value
    return None


def _as_lines(value: Any) -> str | None:
    items = value if isinstance(value, list) else [value]
    texts = [_as_text(v) for v in items]
    if any(t is None or "\n" in t for t in texts):
        return None
    return "\n".join(t for t in texts if t is not None)


@dataclass
class Initial:
    form: dict[str, Any]
    params: list[dict[str, Any]]
    notes: list[str]


def job_to_initial(job: dict[str, Any], project: str) -> Initial:
    """Form and formset initial data for a Job dict, with notes on what could not be placed."""
    out = Initial({"project": project}, [], [])
    _job_fields(job, out)
    training = job.get("trainingInput")
    if training is None:
        return out
    if not isinstance(training, dict):
        out.notes.append("trainingInput: not imported (expected a mapping).")
        return out
    _trainer_fields(training, out)
    hp = training.get("hyperparameters")
    if hp is None:
        return out
    if not isinstance(hp, dict):
        out.notes.append(f"{HP}: not imported (expected a mapping).")
        return out
    _hp_fields(hp, project, out)
    _params(hp.get("params"), out)
    return out


def _job_fields(job: dict[str, Any], out: Initial) -> None:
    ignored = [k for k in job if k in OUTPUT_ONLY]
    if ignored:
        out.notes.append(f"Ignored output-only fields: {', '.join(ignored)}.")
    for key, value in job.items():
        if key == "jobId":
            _place(out.form, "job_id", "text", value, key, notes=out.notes)
        elif key == "labels":
            if isinstance(value, dict) and all(_as_text(v) is not None for v in value.values()):
                out.form["labels"] = "\n".join(f"{k}={_as_text(v)}" for k, v in value.items())
            else:
                out.notes.append("labels: not imported (expected a mapping of keys to strings).")
        elif key != "trainingInput" and key not in OUTPUT_ONLY:
            out.notes.append(f"{key}: not imported (not a field of a training job).")


def _trainer_fields(training: dict[str, Any], out: Initial) -> None:
    own = {key: (name, kind) for key, name, kind in TRAINER_FIELDS}
    extra: dict[str, Any] = {}
    for key, value in training.items():
        if key in own:
            _place(out.form, own[key][0], own[key][1], value, f"trainingInput.{key}",
                   notes=out.notes)
        elif key != "hyperparameters":
            extra[key] = value
    if extra:
        out.form["extra"] = yaml.safe_dump(extra, sort_keys=False, allow_unicode=True)
        out.notes.append(f"Kept in “Other trainingInput fields” (Machine section): "
                         f"{', '.join(str(k) for k in extra)}.")


def _hp_fields(hp: dict[str, Any], project: str, out: Initial) -> None:
    hp_own = {key: (name, kind) for key, name, kind in HP_FIELDS}
    for key, value in hp.items():
        if key in hp_own:
            name, kind = hp_own[key]
            if kind != "resume":
                _place(out.form, name, kind, value, f"{HP}.{key}", notes=out.notes)
            elif (text := _as_text(value)) is None:
                out.notes.append(f"{HP}.{key}: not imported (expected a job id).")
            else:
                out.form[name] = f"{project}/{text}"
        elif key != "params":
            out.notes.append(f"{HP}.{key}: not imported (unknown field).")


def _params(raw_params: Any, out: Initial) -> None:
    if raw_params is not None and not isinstance(raw_params, list):
        out.notes.append(f"{PARAMS}: not imported (expected a list).")
    for i, p in enumerate(raw_params if isinstance(raw_params, list) else []):
        if not isinstance(p, dict):
            out.notes.append(f"{PARAMS}[{i}]: not imported (expected a mapping).")
            continue
        out.params.append(_param_initial(p, f"{PARAMS}[{i}]", out.notes))


def _place(initial: dict[str, Any], name: str, kind: str, value: Any, path: str, *,
           notes: list[str]) -> None:
    if kind == "bool":
        if isinstance(value, bool):
            initial[name] = value
        else:
            notes.append(f"{path}: not imported (expected true or false).")
        return
    text = _as_lines(value) if kind == "lines" else _as_text(value)
    if text is None:
        notes.append(f"{path}: not imported (a form field cannot show this value).")
    else:
        initial[name] = text


def _param_initial(p: dict[str, Any], path: str, notes: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in p.items():
        name = PARAM_FIELD_FOR_KEY.get(key)
        if name is None:
            notes.append(f"{path}.{key}: not imported (unknown field).")
        elif key == "discreteValues" and isinstance(value, list):
            texts = [_as_text(v) for v in value]
            if any(t is None for t in texts):
                notes.append(f"{path}.{key}: not imported (expected numbers).")
            else:
                row[name] = ", ".join(t for t in texts if t is not None)
        elif key == "categoricalValues" and isinstance(value, list):
            texts = [_as_text(v) for v in value]
            if any(t is None or "\n" in t for t in texts):
                notes.append(f"{path}.{key}: not imported (expected strings without newlines).")
            else:
                row[name] = "\n".join(t for t in texts if t is not None)
        elif key == "scaleType" and value == "NONE":
            continue  # the same as unset
        else:
            _place(row, name, "text", value, f"{path}.{key}", notes=notes)
    return row


def merge_job(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` laid over ``base``: trainingInput and its hyperparameters key by key, lists
    (params, args, packageUris) replaced whole."""
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        if key in ("trainingInput", "hyperparameters") and isinstance(old, dict) and (
            isinstance(value, dict)
        ):
            out[key] = merge_job(old, value)
        else:
            out[key] = value
    return out
