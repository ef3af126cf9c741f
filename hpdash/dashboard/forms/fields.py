"""The new-job page's Django forms and the tables that tie their fields to a Job dict.

:class:`JobForm` (one per job), :class:`ParamForm` rows in :data:`ParamFormSet` and
:class:`ImportForm`.  Field values are kept as typed (selects included): these forms do not
validate job specs, the one parser does.  ``TRAINER_FIELDS``, ``HP_FIELDS``, ``PARAM_FIELDS`` and
``TYPE_FIELDS`` say which Job key each field holds; :mod:`hpdash.dashboard.forms.build` and
:mod:`hpdash.dashboard.forms.initial` use them to go from form to Job dict and back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.forms import formset_factory

from hpdash.core.spec.parse import PROJECT_PATTERN
from hpdash.core.spec.training_input import SCALE_TIERS
from hpdash.core.spec.types import ALGORITHMS, PARAM_TYPES

HP = "trainingInput.hyperparameters"
PARAMS = f"{HP}.params"

GOAL_CHOICES = [("MAXIMIZE", "MAXIMIZE"), ("MINIMIZE", "MINIMIZE")]
ALGORITHM_CHOICES = [(name, f"{label} ({name})") for name, label in ALGORITHMS.items()]
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

    def create_option(  # noqa: PLR0917 - Django's own signature
            self, name: str, value: Any, label: Any, selected: Any, index: int,
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
        self.fields["early_stopping"].help_text = (
            "Stop trials whose intermediate metric cannot catch up, by this server's rule, "
            f"{settings.HPDASH.early_stopping_rule} (HPDASH_EARLY_STOPPING_RULE; the README's "
            "Early stopping explains each rule).")
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
