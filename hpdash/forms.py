"""The new-job form: fields that build an ml v1 ``Job`` dict, and the way back.

These forms do not validate job specs: :func:`build_job` turns what was typed into the Job dict
(numbers that look like numbers become numbers, everything else is passed on as typed), the one
parser (:func:`hpdash.spec.parse_job`, via ``services.job_create``) judges it, and
:func:`apply_violations` puts each violation on the field or parameter row its JSON path names.
:func:`job_to_initial` is the inverse of :func:`build_job`, used by import, "load example" and
"continue this job".
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from django import forms
from django.forms import formset_factory

from hpdash.spec import FieldViolation, HyperparameterSpec, ParameterSpec, SpecError, load_config
from hpdash.spec.parse import PROJECT_PATTERN, SCALE_TIERS
from hpdash.spec.space import grid_size
from hpdash.spec.types import ALGORITHMS, PARAM_TYPES

HP = "trainingInput.hyperparameters"
PARAMS = f"{HP}.params"

GOAL_CHOICES = [("MAXIMIZE", "MAXIMIZE"), ("MINIMIZE", "MINIMIZE")]
ALGORITHM_LABELS = {
    "ALGORITHM_UNSPECIFIED": "Bayesian optimisation (ALGORITHM_UNSPECIFIED)",
    "GRID_SEARCH": "Grid search (GRID_SEARCH)",
    "RANDOM_SEARCH": "Random search (RANDOM_SEARCH)",
}
ALGORITHM_CHOICES = [(a, ALGORITHM_LABELS.get(a, a)) for a in ALGORITHMS]
TYPE_CHOICES = [(t, t) for t in ("DOUBLE", "INTEGER", "DISCRETE", "CATEGORICAL")]
assert {t for t, _ in TYPE_CHOICES} == set(PARAM_TYPES)
SCALE_CHOICES = [
    ("", "unset (linear)"),
    ("UNIT_LINEAR_SCALE", "UNIT_LINEAR_SCALE"),
    ("UNIT_LOG_SCALE", "UNIT_LOG_SCALE"),
    ("UNIT_REVERSE_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE"),
]
SCALE_TIER_CHOICES = [("", "unset (BASIC)")] + [(t, t) for t in SCALE_TIERS]

# Which fields a parameter row shows (and sends) for each type.
TYPE_FIELDS = {
    "DOUBLE": ("min_value", "max_value", "scale_type"),
    "INTEGER": ("min_value", "max_value", "scale_type"),
    "DISCRETE": ("discrete_values", "scale_type"),
    "CATEGORICAL": ("categorical_values",),
}

# trainingInput keys with a field of their own: (key, form field, kind).  Everything else in a
# trainingInput goes to the "other trainingInput fields" YAML box, so nothing is lost.
TRAINER_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("scaleTier", "scale_tier", "text"),
    ("masterType", "master_type", "text"),
    ("workerType", "worker_type", "text"),
    ("workerCount", "worker_count", "number"),
    ("parameterServerType", "parameter_server_type", "text"),
    ("parameterServerCount", "parameter_server_count", "number"),
    ("evaluatorType", "evaluator_type", "text"),
    ("evaluatorCount", "evaluator_count", "number"),
    ("pythonModule", "python_module", "text"),
    ("packageUris", "package_uris", "lines"),
    ("args", "args", "lines"),
    ("jobDir", "job_dir", "text"),
)
HP_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("goal", "goal", "text"),
    ("hyperparameterMetricTag", "metric_tag", "text"),
    ("maxTrials", "max_trials", "number"),
    ("maxParallelTrials", "max_parallel_trials", "number"),
    ("maxFailedTrials", "max_failed_trials", "number"),
    ("enableTrialEarlyStopping", "early_stopping", "bool"),
    ("algorithm", "algorithm", "text"),
    ("resumePreviousJobId", "resume_from", "resume"),
)
PARAM_FIELDS: tuple[tuple[str, str], ...] = (
    ("parameterName", "parameter_name"),
    ("type", "type"),
    ("minValue", "min_value"),
    ("maxValue", "max_value"),
    ("scaleType", "scale_type"),
    ("discreteValues", "discrete_values"),
    ("categoricalValues", "categorical_values"),
)
OUTPUT_ONLY = frozenset({"createTime", "startTime", "endTime", "state", "errorMessage",
                         "trainingOutput", "etag", "jobPosition"})

# JSON path (or path prefix) of a violation -> the form field it is shown on.
FIELD_FOR_PATH: dict[str, str] = {
    "jobId": "job_id",
    "labels": "labels",
    **{f"trainingInput.{key}": name for key, name, _ in TRAINER_FIELDS},
    **{f"{HP}.{key}": name for key, name, _ in HP_FIELDS},
}
PARAM_FIELD_FOR_KEY = dict(PARAM_FIELDS)
MACHINE_FIELDS = ("scale_tier", "master_type", "worker_type", "worker_count",
                  "parameter_server_type", "parameter_server_count", "evaluator_type",
                  "evaluator_count", "extra")

_INT = re.compile(r"[-+]?[0-9]{1,25}")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_PARAM_PATH = re.compile(r"trainingInput\.hyperparameters\.params\[(\d+)\](?:\.([A-Za-z]+))?")


def _text(required: bool = False, **attrs: Any) -> forms.CharField:
    return forms.CharField(required=required, strip=True, widget=forms.TextInput(attrs=attrs))


def _area(rows: int, **attrs: Any) -> forms.CharField:
    return forms.CharField(required=False, strip=False,
                           widget=forms.Textarea(attrs={"rows": rows, **attrs}))


def _select(choices: Sequence[tuple[str, str]], **attrs: Any) -> forms.CharField:
    # A CharField, not a ChoiceField: a value outside the list (from an imported file) is
    # kept and judged by the spec parser, like everything else.
    return forms.CharField(required=False, widget=forms.Select(choices=choices, attrs=attrs))


class ResumeSelect(forms.Select):
    """The resume-from picker; each option carries the job's project, goal, metric tag and
    algorithm so the page can copy them into the form (a resumed job must match them)."""

    option_data: dict[str, dict[str, str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.option_data = {}

    def create_option(self, name: str, value: Any, label: Any, selected: Any, index: int,
                      subindex: int | None = None, attrs: dict[str, Any] | None = None,
                      ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        for key, v in self.option_data.get(str(value), {}).items():
            option["attrs"][f"data-{key}"] = v
        return option


def _keep_unknown_choices(form: forms.BaseForm) -> None:
    """Add a value that is not among a select's choices (e.g. an imported ``type: double``) as
    an extra option, so it is shown and sent as it is instead of silently becoming the first
    option."""
    for name, fld in form.fields.items():
        widget = fld.widget
        if not isinstance(widget, forms.Select):
            continue
        value = form[name].value()
        if not isinstance(value, str) or not value:
            continue
        if value not in {str(v) for v, _ in widget.choices}:
            widget.choices = [*widget.choices, (value, value)]


class JobForm(forms.Form):
    project = _text(required=True, autocomplete="off")
    job_id = _text(autocomplete="off", placeholder="digits_1")
    labels = _area(2, placeholder="team=vision\nowner=alice")

    goal = _select(GOAL_CHOICES)
    metric_tag = _text(placeholder="training/hptuning/metric")
    max_trials = _text(inputmode="numeric")
    max_parallel_trials = _text(inputmode="numeric")
    max_failed_trials = _text(inputmode="numeric", placeholder="0 (automatic)")
    algorithm = _select(ALGORITHM_CHOICES)
    early_stopping = forms.BooleanField(required=False)
    resume_from = forms.CharField(required=False, widget=ResumeSelect())

    python_module = _text(placeholder="trainer.task")
    package_uris = _area(2, placeholder="/srv/trainers/trainer\n/srv/pkgs/mytrainer-0.1.tar.gz")
    package = forms.FileField(required=False, widget=forms.ClearableFileInput(
        attrs={"accept": ".tar.gz,.tgz,.whl,.zip"}))
    args = _area(3, placeholder="--epochs=15\n--batch-size=64")
    job_dir = _text(placeholder="/srv/jobs/digits_1")

    scale_tier = _select(SCALE_TIER_CHOICES)
    master_type = _text(placeholder="n1-standard-4")
    worker_type = _text()
    worker_count = _text(inputmode="numeric")
    parameter_server_type = _text()
    parameter_server_count = _text(inputmode="numeric")
    evaluator_type = _text()
    evaluator_count = _text(inputmode="numeric")
    extra = _area(4, placeholder="region: us-central1\nscheduling:\n  maxRunningTime: 7200s",
                  spellcheck="false")

    field_labels = {
        "job_id": "Job id", "metric_tag": "Metric tag (hyperparameterMetricTag)",
        "max_trials": "Max trials", "max_parallel_trials": "Max parallel trials",
        "max_failed_trials": "Max failed trials", "early_stopping": "Early stopping",
        "resume_from": "Resume from", "python_module": "Python module",
        "package_uris": "Package URIs", "package": "Upload a trainer package",
        "job_dir": "Job dir", "scale_tier": "Scale tier", "master_type": "Master type",
        "worker_type": "Worker type", "worker_count": "Worker count",
        "parameter_server_type": "Parameter server type",
        "parameter_server_count": "Parameter server count", "evaluator_type": "Evaluator type",
        "evaluator_count": "Evaluator count", "extra": "Other trainingInput fields (YAML)",
    }
    help = {
        "project": "Letters, digits, '.', '_' and '-'.",
        "job_id": "Starts with a letter; letters, digits and '_'.",
        "labels": "key=value, one per line.",
        "max_failed_trials": "Blank or 0: hpdash decides (a failing first trial, or too many "
                             "failures, fail the job).",
        "early_stopping": "Stop trials whose intermediate metric falls behind "
                          "(median stopping rule).",
        "resume_from": "Continue a finished job of the same project: its trials count as "
                       "history, and goal, metric tag, algorithm and parameters are taken from "
                       "it (parameter rows may be left empty).",
        "package_uris": "Absolute paths on the server (or file:// URIs), one per line: a "
                        "package directory, a source tree, an sdist or a wheel.",
        "package": "An sdist (.tar.gz), wheel (.whl) or .zip, for code that is not on the "
                   "server; it is stored on the server and added to the package URIs.",
        "args": "One argument per line; tuned values are appended as --name=value.",
        "job_dir": "Absolute path; each trial gets <jobDir>/<trialId>.",
        "extra": "Any other TrainingInput fields (masterConfig, region, scheduling, ...), "
                 "stored and shown.",
    }

    def __init__(self, *args: Any, resume_options: Sequence[tuple[str, str, str, str, str]] = (),
                 **kwargs: Any) -> None:
        """``resume_options``: (project, jobId, goal, metric tag, algorithm) of the jobs that
        can be resumed; the select's value is ``project/jobId``."""
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name, label in self.field_labels.items():
            self.fields[name].label = label
        for name, text in self.help.items():
            self.fields[name].help_text = text
        widget = self.fields["resume_from"].widget
        assert isinstance(widget, ResumeSelect)
        choices: list[tuple[str, str]] = [("", "— none —")]
        for project, job_id, goal, metric, algorithm in resume_options:
            value = f"{project}/{job_id}"
            choices.append((value, value))
            widget.option_data[value] = {"project": project, "goal": goal, "metric": metric,
                                         "algorithm": algorithm}
        widget.choices = choices
        _keep_unknown_choices(self)

    def clean_project(self) -> str:
        project: str = self.cleaned_data.get("project", "")
        if not PROJECT_PATTERN.fullmatch(project):
            raise forms.ValidationError(
                "Project names are 1 to 128 letters, digits, '.', '_' and '-', starting with a "
                "letter or digit.")
        return project

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        resume = cleaned.get("resume_from") or ""
        if resume:
            project, sep, job_id = resume.partition("/")
            if not sep:
                self.add_error("resume_from", "Pick the job to resume from the list.")
            elif "project" in cleaned and project != cleaned["project"]:
                self.add_error(
                    "resume_from",
                    f"{job_id} is in project {project}, but this job goes to project "
                    f"{cleaned['project']}: a job can only resume a job of its own project.")
        return cleaned

    def groups(self) -> list[dict[str, Any]]:
        """The page's sections in order; ``kind`` "params" is where the formset goes."""

        def group(title: str, gid: str, names: Sequence[str], **more: Any) -> dict[str, Any]:
            return {"title": title, "id": gid, "fields": [self[n] for n in names],
                    "kind": "fields", "collapsible": False, "open": True, **more}

        machine_open = any(self[n].value() for n in MACHINE_FIELDS) or (
            self.is_bound and any(self.errors.get(n) for n in MACHINE_FIELDS))
        return [
            group("Job", "job-section", ("project", "job_id", "labels")),
            group("Search", "search-section",
                  ("goal", "metric_tag", "max_trials", "max_parallel_trials",
                   "max_failed_trials", "algorithm", "early_stopping", "resume_from")),
            group("Parameters", "params-section", (), kind="params"),
            group("Trainer", "trainer-section",
                  ("python_module", "package_uris", "package", "args", "job_dir")),
            group("Machine (stored and shown; a trial is one local process)",
                  "machine-section", MACHINE_FIELDS, collapsible=True, open=machine_open),
        ]


class ParamForm(forms.Form):
    parameter_name = _text(autocomplete="off", placeholder="learning-rate")
    type = _select(TYPE_CHOICES, **{"class": "param-type"})
    min_value = _text(inputmode="decimal")
    max_value = _text(inputmode="decimal")
    scale_type = _select(SCALE_CHOICES)
    discrete_values = _text(placeholder="16, 32, 64")
    categorical_values = _area(3, placeholder="relu\ntanh")

    labels = {"parameter_name": "Name", "type": "Type", "min_value": "Min", "max_value": "Max",
              "scale_type": "Scale", "discrete_values": "Values (comma-separated)",
              "categorical_values": "Values (one per line or comma-separated)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name, label in self.labels.items():
            self.fields[name].label = label
        self.fields["type"].initial = "DOUBLE"
        _keep_unknown_choices(self)

    @property
    def row_type(self) -> str:
        """The type whose fields the row shows; ANY (all fields) for an unknown type."""
        value = self["type"].value() or "DOUBLE"
        return value if value in TYPE_FIELDS else "ANY"

    @property
    def is_deleted(self) -> bool:
        return bool(self["DELETE"].value()) if "DELETE" in self.fields else False

    def typed_fields(self) -> list[tuple[forms.BoundField, str]]:
        """Each type-dependent field with the CSS classes naming the types it belongs to."""
        out = []
        for name in ("min_value", "max_value", "discrete_values", "categorical_values",
                     "scale_type"):
            types = " ".join(f"pf-{t}" for t, names in TYPE_FIELDS.items() if name in names)
            out.append((self[name], types))
        return out


ParamFormSet = formset_factory(ParamForm, extra=0, can_delete=True, max_num=100,
                               absolute_max=200)


class ImportForm(forms.Form):
    import_text = _area(6, placeholder="trainingInput:\n  hyperparameters:\n    goal: MAXIMIZE",
                        spellcheck="false")
    import_file = forms.FileField(required=False, widget=forms.ClearableFileInput(
        attrs={"accept": ".yaml,.yml,.json"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["import_text"].label = "Paste a config"
        self.fields["import_file"].label = "or upload one"


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


# ---------------------------------------------------------------------------------------------
# Warnings: advice, not errors


def spec_warnings(hp: HyperparameterSpec) -> list[str]:
    """Things that are allowed but probably not what the user wants."""
    out = []
    n = len(hp.params)
    if n and hp.max_trials < 10 * n:
        out.append(
            f"maxTrials ({hp.max_trials}) is less than 10 × the number of parameters "
            f"({n} → {10 * n}): with fewer than about ten trials per parameter the search "
            "learns little about the space.")
    if hp.max_parallel_trials > hp.max_trials:
        out.append(
            f"maxParallelTrials ({hp.max_parallel_trials}) is greater than maxTrials "
            f"({hp.max_trials}): at most {hp.max_trials} trials will ever run at once.")
    if hp.algorithm == "GRID_SEARCH" and n and _grid_may_be_small(hp):
        size = grid_size(hp)
        if size < hp.max_trials:
            out.append(
                f"The grid has only {size} points but maxTrials is {hp.max_trials}: grid "
                f"search stops after {size} trials.")
    return out


def _grid_may_be_small(hp: HyperparameterSpec) -> bool:
    # grid_size lists every value; skip it when one parameter alone already has maxTrials
    # values (an INTEGER range can be millions wide).
    def count(p: ParameterSpec) -> float:
        if p.type == "INTEGER" and p.min_value is not None and p.max_value is not None:
            return math.floor(p.max_value) - math.ceil(p.min_value) + 1
        return len(p.categorical_values) + len(p.discrete_values)

    return all(count(p) < hp.max_trials for p in hp.params)


def with_params(hp: HyperparameterSpec, previous: HyperparameterSpec | None) -> HyperparameterSpec:
    """The spec a resumed job will run with (the previous job's params and algorithm)."""
    if previous is None or hp.params:
        return hp
    return replace(hp, params=previous.params, algorithm=previous.algorithm)


def fingerprint(warnings: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(warnings).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Job dict -> form initial data


def _as_text(value: Any) -> str | None:
    """A scalar as the text a field shows; None if it cannot be shown in a text field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
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
    initial: dict[str, Any] = {"project": project}
    params: list[dict[str, Any]] = []
    notes: list[str] = []
    ignored = [k for k in job if k in OUTPUT_ONLY]
    if ignored:
        notes.append(f"Ignored output-only fields: {', '.join(ignored)}.")
    for key, value in job.items():
        if key == "jobId":
            _place(initial, "job_id", "text", value, key, notes)
        elif key == "labels":
            if isinstance(value, dict) and all(_as_text(v) is not None for v in value.values()):
                initial["labels"] = "\n".join(f"{k}={_as_text(v)}" for k, v in value.items())
            else:
                notes.append("labels: not imported (expected a mapping of keys to strings).")
        elif key != "trainingInput" and key not in OUTPUT_ONLY:
            notes.append(f"{key}: not imported (not a field of a training job).")
    training = job.get("trainingInput")
    if training is None:
        return Initial(initial, params, notes)
    if not isinstance(training, dict):
        notes.append("trainingInput: not imported (expected a mapping).")
        return Initial(initial, params, notes)
    own = {key: (name, kind) for key, name, kind in TRAINER_FIELDS}
    extra: dict[str, Any] = {}
    for key, value in training.items():
        if key in own:
            _place(initial, own[key][0], own[key][1], value, f"trainingInput.{key}", notes)
        elif key != "hyperparameters":
            extra[key] = value
    if extra:
        initial["extra"] = yaml.safe_dump(extra, sort_keys=False, allow_unicode=True)
        notes.append(f"Kept in “Other trainingInput fields” (Machine section): "
                     f"{', '.join(str(k) for k in extra)}.")
    hp = training.get("hyperparameters")
    if hp is None:
        return Initial(initial, params, notes)
    if not isinstance(hp, dict):
        notes.append(f"{HP}: not imported (expected a mapping).")
        return Initial(initial, params, notes)
    hp_own = {key: (name, kind) for key, name, kind in HP_FIELDS}
    for key, value in hp.items():
        if key in hp_own:
            name, kind = hp_own[key]
            if kind == "resume":
                text = _as_text(value)
                if text is None:
                    notes.append(f"{HP}.{key}: not imported (expected a job id).")
                else:
                    initial[name] = f"{project}/{text}"
            else:
                _place(initial, name, kind, value, f"{HP}.{key}", notes)
        elif key != "params":
            notes.append(f"{HP}.{key}: not imported (unknown field).")
    raw_params = hp.get("params")
    if raw_params is not None and not isinstance(raw_params, list):
        notes.append(f"{PARAMS}: not imported (expected a list).")
    for i, p in enumerate(raw_params if isinstance(raw_params, list) else []):
        if not isinstance(p, dict):
            notes.append(f"{PARAMS}[{i}]: not imported (expected a mapping).")
            continue
        params.append(_param_initial(p, f"{PARAMS}[{i}]", notes))
    return Initial(initial, params, notes)


def _place(initial: dict[str, Any], name: str, kind: str, value: Any, path: str,
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
            _place(row, name, "text", value, f"{path}.{key}", notes)
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
