"""The new-job page: a form that builds an ml v1 Job and hands it to ``job_create``.

One URL, ``jobs/new/``.  GET renders the form, pre-filled by ``?resume=<project>/<jobId>``
("continue this job") or ``?example=mlp_digits`` ("load example").  POST carries an
``action``: ``submit`` (the default), ``submit-anyway`` (submit although the warnings shown
for exactly this form are still there), ``check`` (run the parser, show errors and warnings,
create nothing), ``import`` (fill the form from a pasted or uploaded gcloud config) and
``export`` (download the form as a gcloud-style YAML Job).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from hpdash.core.spec import SpecError, load_config, parse_job
from hpdash.core.spec.config import MAX_CONFIG_BYTES
from hpdash.core.spec.parse import JOB_ID_PATTERN
from hpdash.dashboard.forms.advice import (
    draft_warnings,
    fingerprint,
    spec_warnings,
    with_params,
)
from hpdash.dashboard.forms.build import BuiltJob, apply_violations, build_job
from hpdash.dashboard.forms.fields import ImportForm, JobForm, ParamFormSet
from hpdash.dashboard.forms.initial import Initial, job_to_initial, merge_job
from hpdash.dashboard.forms.reused import reused_summary
from hpdash.ops.paths import BASE_DIR
from hpdash.selectors.jobs import job_get, job_ids_with_prefix, jobs_resumable
from hpdash.selectors.resume import resume_history_count
from hpdash.services import uploads
from hpdash.services.jobs import AlreadyExists, job_create

DEFAULT_PROJECT = "local"
EXAMPLES = {
    "mlp_digits": (BASE_DIR / "examples/mlp_digits/hptuning_config.yaml",
                   BASE_DIR / "examples/mlp_digits/trainer"),
}
NEW_FORM = {"project": DEFAULT_PROJECT, "goal": "MAXIMIZE", "max_trials": "10",
            "max_parallel_trials": "2", "algorithm": "ALGORITHM_UNSPECIFIED"}
NEW_ROW = {"type": "DOUBLE"}


class _UploadCap(FileUploadHandler):
    """Drops an uploaded file as soon as it passes its size cap, so an oversized upload never
    reaches the disk; the view reports the fields in ``too_large``."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request)
        self.too_large: set[str] = set()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        cap = MAX_CONFIG_BYTES if self.field_name == "import_file" else uploads.MAX_PACKAGE_BYTES
        if start + len(raw_data) > cap:
            self.too_large.add(self.field_name)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# The upload cap must be in place before the CSRF check reads the request body, hence
# csrf_exempt outside and csrf_protect inside (Django's documented pattern).
@csrf_exempt
@login_required
@permission_required("hpdash.add_job", raise_exception=True)
def job_new(request: HttpRequest) -> HttpResponse:
    cap = _UploadCap(request)
    if request.method == "POST":
        request.upload_handlers.insert(0, cap)
    return _job_new(request, cap)


@csrf_protect
def _job_new(request: HttpRequest, cap: _UploadCap) -> HttpResponse:
    if request.method != "POST":
        return _render(request, _initial_for_get(request))
    action = request.POST.get("action", "submit")
    if action == "import":
        return _import(request, cap)
    if action == "export":
        return _export(request)
    return _submit(request, cap, action)


def _job_form(request: HttpRequest, data: QueryDict | None = None,
              initial: dict[str, Any] | None = None) -> JobForm:
    return JobForm(data, initial=initial, resume_options=jobs_resumable(user=request.user))


def _render(request: HttpRequest, initial: Initial | None = None, *,
            form: JobForm | None = None, formset: Any = None,
            import_form: ImportForm | None = None, status: int = 200,
            **context: Any) -> HttpResponse:
    if form is None:
        assert initial is not None
        form = _job_form(request, initial=initial.form)
        formset = ParamFormSet(initial=initial.params, prefix="params")
        context.setdefault("notes", initial.notes)
    return render(request, "hpdash/job_form.html", {
        "form": form,
        "formset": formset,
        "param_rows": [*formset.forms, formset.empty_form],
        "import_form": import_form or ImportForm(),
        "examples": list(EXAMPLES),
        "max_package_mib": uploads.MAX_PACKAGE_BYTES // (1024 * 1024),
        "reused": reused_summary(request.user, form["resume_from"].value()),
        **context,
    }, status=status)


# ---------------------------------------------------------------------------------------------
# GET: a new form, "continue this job", "load example"


def _initial_for_get(request: HttpRequest) -> Initial:
    if "resume" in request.GET:
        initial = _initial_for_resume(request, request.GET["resume"])
        if initial is not None:
            return initial
    if "example" in request.GET:
        initial = _initial_for_example(request, request.GET["example"])
        if initial is not None:
            return initial
    return Initial(dict(NEW_FORM), [dict(NEW_ROW)], [])


def _next_job_id(project: str, job_id: str) -> str:
    """A free id that follows ``job_id``: ``digits_1`` -> ``digits_2``, ``digits`` ->
    ``digits_2``."""
    m = re.fullmatch(r"(.+)_(\d{1,6})", job_id)
    base, n = (m.group(1), int(m.group(2)) + 1) if m else (job_id, 2)
    return _free_job_id(project, base, n)


def _free_job_id(project: str, base: str, start: int) -> str:
    """``<base>_<n>`` for the first n ≥ start not taken in the project."""
    taken = job_ids_with_prefix(project=project, prefix=base)
    n = start
    while True:
        suffix = f"_{n}"
        candidate = base[:128 - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _initial_for_resume(request: HttpRequest, value: str) -> Initial | None:
    project, _, job_id = value.partition("/")
    prev = job_get(user=request.user, project=project, job_id=job_id)
    if prev is None:
        messages.error(request, f"There is no job {value} to continue.")
        return None
    if prev.family != "mlv1":
        messages.error(request, f"{value} was created through the Vertex AI API: continue it "
                                "there (the form continues ml v1 jobs).")
        return None
    sent = prev.request["trainingInput"]
    hp = {k: v for k, v in sent.get("hyperparameters", {}).items()
          if k not in ("params", "resumePreviousJobId")}
    hp["resumePreviousJobId"] = prev.job_id
    job = {"jobId": _next_job_id(project, prev.job_id), "labels": prev.labels,
           "trainingInput": {**sent, "hyperparameters": hp}}
    initial = job_to_initial(job, project)
    initial.notes = [f"Continues {prev.project_id}/{prev.job_id}: its trials count as history and "
                     "its parameters are reused (leave the parameter rows empty)."]
    if not prev.is_terminal:
        initial.notes.append(f"{prev.job_id} is {prev.state}: it can only be continued once it "
                             "has finished.")
    return initial


def _initial_for_example(request: HttpRequest, name: str) -> Initial | None:
    if name not in EXAMPLES:
        messages.error(request, f"There is no example called {name}.")
        return None
    config_path, package = EXAMPLES[name]
    config = load_config(config_path.read_bytes())
    config.setdefault("trainingInput", {})["packageUris"] = [str(package)]
    config["jobId"] = _free_job_id(DEFAULT_PROJECT, name, 1)
    initial = job_to_initial(config, DEFAULT_PROJECT)
    initial.notes = [f"Loaded the bundled example {name} ({config_path.relative_to(BASE_DIR)})."]
    return initial


# ---------------------------------------------------------------------------------------------
# POST


def _bound(request: HttpRequest, data: QueryDict | None = None) -> tuple[JobForm, Any]:
    data = data if data is not None else request.POST
    form = _job_form(request, data)
    formset = ParamFormSet(data, prefix="params")
    form.is_valid()
    if not formset.is_valid() and not formset.management_form.is_valid():
        form.add_error(None, "The parameter rows were not sent correctly; reload the page.")
    return form, formset


def _submit(request: HttpRequest, cap: _UploadCap, action: str) -> HttpResponse:
    data = request.POST.copy()
    package_error = None
    upload = request.FILES.get("package")
    if "package" in cap.too_large:
        package_error = (f"The package is larger than "
                         f"{uploads.MAX_PACKAGE_BYTES // (1024 * 1024)} MiB; "
                         "copy it to the server and give its path instead.")
    elif upload is not None:
        try:
            path = uploads.upload_store(upload=upload)
        except uploads.UploadRefused as exc:
            package_error = str(exc)
        else:
            # Shown in the package URIs from now on, so the file is not uploaded twice.
            uris = data.get("package_uris", "").rstrip()
            data["package_uris"] = f"{uris}\n{path}" if uris else path
            messages.info(request, f"Stored the uploaded package as {path}.")

    form, formset = _bound(request, data)
    built = build_job(form, formset)
    if package_error:
        form.add_error("package", package_error)
    apply_violations(form, formset, built, built.violations)
    try:
        spec = parse_job(built.data)
    except SpecError as exc:
        apply_violations(form, formset, built, exc.violations)
        spec = None
    prev = None
    if built.resume_job_id and form.cleaned_data.get("project"):
        prev = job_get(user=request.user, project=form.cleaned_data["project"],
                       job_id=built.resume_job_id)
    history = resume_history_count(prev) if prev is not None else 0
    if spec is None or not _all_valid(form, formset):
        hp = built.data.get("trainingInput", {}).get("hyperparameters", {})
        if prev is not None and not hp.get("params"):
            hp = {**hp, "params": prev.spec.params}
        return _render(request, form=form, formset=formset, status=400,
                       warnings=draft_warnings(hp, history))

    previous = prev.spec if prev is not None else None
    warnings = spec_warnings(with_params(spec.definition.hyperparameters, previous),
                             history)
    seen = fingerprint(warnings)
    if action == "check" or (warnings and not (action == "submit-anyway"
                                               and data.get("warnings_seen") == seen)):
        return _render(request, form=form, formset=formset, warnings=warnings,
                       warnings_seen=seen, checked=action == "check")

    project = form.cleaned_data["project"]
    try:
        job = job_create(project=project, spec=spec, owner=request.user)
    except SpecError as exc:
        apply_violations(form, formset, built, exc.violations)
        return _render(request, form=form, formset=formset, status=400)
    except AlreadyExists:
        assert spec.job_id is not None
        form.add_error("job_id", f"A job {spec.job_id} already exists in project {project}; "
                                 f"choose another id, such as "
                                 f"{_next_job_id(project, spec.job_id)}.")
        return _render(request, form=form, formset=formset, status=400)
    messages.success(request, f"Created job {job.job_id} in project {job.project_id}.")
    return redirect("job-detail", project=job.project_id, job_id=job.job_id)


def _all_valid(form: JobForm, formset: Any) -> bool:
    return not form.errors and not formset.non_form_errors() and not any(
        f.errors for f in formset.forms)


def _import(request: HttpRequest, cap: _UploadCap) -> HttpResponse:
    form, formset = _bound(request)
    import_form = ImportForm(request.POST)
    import_form.is_valid()
    upload = request.FILES.get("import_file")
    text: str | bytes = request.POST.get("import_text", "")
    if "import_file" in cap.too_large:
        import_form.add_error("import_file", "The file is larger than 1 MiB.")
    elif upload is not None:
        text = upload.read(MAX_CONFIG_BYTES + 1)
    elif not str(text).strip():
        import_form.add_error("import_text", "Paste a config or choose a file to import.")
    if not import_form.errors:
        try:
            config = load_config(text)
        except SpecError as exc:
            field = "import_file" if upload is not None else "import_text"
            for v in exc.violations:
                import_form.add_error(field, v.description)
        else:
            current = build_job(form, formset).data
            project = (form["project"].value() or DEFAULT_PROJECT).strip()
            initial = job_to_initial(merge_job(current, config), project)
            if not _has_params(config):
                initial.notes.insert(0, "The config has no params: the parameter rows were "
                                        "kept.")
            initial.notes.insert(0, "Imported the config; fields it does not set were kept. "
                                    "Review the form, then submit.")
            return _render(request, initial)
    return _render(request, form=form, formset=formset, import_form=import_form,
                   import_open=True, status=400)


def _has_params(config: dict[str, Any]) -> bool:
    training = config.get("trainingInput")
    hp = training.get("hyperparameters") if isinstance(training, dict) else None
    return isinstance(hp, dict) and "params" in hp


def _export(request: HttpRequest) -> HttpResponse:
    form, formset = _bound(request)
    built: BuiltJob = build_job(form, formset)
    job_id = built.data.get("jobId")
    filename = job_id if isinstance(job_id, str) and JOB_ID_PATTERN.fullmatch(job_id) else "job"
    header = "# ml v1 Job exported from hpdash's new-job form.\n"
    project = form.cleaned_data.get("project")
    if project:  # clean_project allows only [A-Za-z0-9._-]: safe in a comment
        header += f"# project: {project}\n"
    header += f"# Submit: hpdash jobs submit training {filename} --config {filename}.yaml\n"
    body = yaml.safe_dump(built.data, sort_keys=False, allow_unicode=True,
                          default_flow_style=False)
    response = HttpResponse(header + body, content_type="application/x-yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.yaml"'
    return response
