"""The new-job page (hpdash/views/new_job.py, hpdash/forms/): build, check, import, export
and submit a job through the form."""

from __future__ import annotations

import dataclasses
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from support import submit_ml_job

from hpdash.api.mlv1.serializers import job_resource
from hpdash.core.spec import load_config, parse_job
from hpdash.core.states import JobState
from hpdash.models import Job
from hpdash.ops import queue
from hpdash.ops.paths import BASE_DIR
from hpdash.services import uploads

pytestmark = pytest.mark.django_db

URL = "/jobs/new/"
TRAINER = str(BASE_DIR / "examples/mlp_digits")
XSS = "<img src=x onerror=alert(1)>"

FOUR_PARAMS = [
    {"parameter_name": "learning-rate", "type": "DOUBLE", "min_value": "0.0001",
     "max_value": "0.1", "scale_type": "UNIT_LOG_SCALE"},
    {"parameter_name": "units", "type": "INTEGER", "min_value": "8", "max_value": "128"},
    {"parameter_name": "batch", "type": "DISCRETE", "discrete_values": "16, 32,64",
     "scale_type": "UNIT_LINEAR_SCALE"},
    {"parameter_name": "activation", "type": "CATEGORICAL", "categorical_values": "relu\ntanh"},
]

# Google's documented hptuning_config.yaml example.
DOCS_EXAMPLE = """\
trainingInput:
  scaleTier: CUSTOM
  masterType: complex_model_m
  workerType: complex_model_m
  parameterServerType: large_model
  workerCount: 9
  parameterServerCount: 3
  hyperparameters:
    goal: MAXIMIZE
    hyperparameterMetricTag: metric1
    maxTrials: 30
    maxParallelTrials: 1
    enableTrialEarlyStopping: True
    params:
    - parameterName: hidden1
      type: INTEGER
      minValue: 40
      maxValue: 400
      scaleType: UNIT_LINEAR_SCALE
    - parameterName: numRnnCells
      type: DISCRETE
      discreteValues:
      - 1
      - 2
      - 3
      - 4
    - parameterName: rnnCellType
      type: CATEGORICAL
      categoricalValues:
      - BasicLSTMCell
      - BasicRNNCell
      - GRUCell
      - LSTMCell
      - LayerNormBasicLSTMCell
"""


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def user(django_user_model):
    alice = django_user_model.objects.create_user("alice", password="pw")
    alice.user_permissions.add(Permission.objects.get(codename="add_job"))
    return alice


@pytest.fixture
def web(client, user):
    client.force_login(user)
    return client


def form_data(params: list[dict[str, str]] | None = None, **fields: Any) -> dict[str, Any]:
    params = FOUR_PARAMS if params is None else params
    data: dict[str, Any] = {
        "project": "local", "job_id": "j1", "goal": "MAXIMIZE", "metric_tag": "accuracy",
        "max_trials": "40", "max_parallel_trials": "2", "algorithm": "ALGORITHM_UNSPECIFIED",
        "python_module": "trainer.task", "package_uris": TRAINER, "args": "--epochs=3",
        "action": "submit",
        "params-TOTAL_FORMS": str(len(params)), "params-INITIAL_FORMS": "0",
        "params-MIN_NUM_FORMS": "0", "params-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(params):
        for key, value in row.items():
            data[f"params-{i}-{key}"] = value
    data.update(fields)
    return data


def as_post(response) -> dict[str, Any]:
    """The POST data a browser would send back for a rendered (pre-filled) form."""
    data: dict[str, Any] = {"action": "submit"}
    forms = [response.context["form"], *response.context["formset"].forms]
    for form in forms:
        for bf in form:
            value = bf.value()
            if bf.widget_type == "checkbox":
                if value:
                    data[bf.html_name] = "on"
            elif bf.widget_type not in ("clearablefile", "file") and value is not None:
                data[bf.html_name] = value
    management = response.context["formset"].management_form
    for bf in management:
        data[bf.html_name] = bf.value()
    return data


def finished_job(job_id: str = "digits_1", project: str = "local", owner: str = "alice",
                 **hp: Any) -> Job:
    hyper = {"goal": "MINIMIZE", "hyperparameterMetricTag": "loss", "maxTrials": 20,
             "maxParallelTrials": 3,
             "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}],
             **hp}
    job = submit_ml_job(project=project, owner=User.objects.get(username=owner), data={
        "jobId": job_id, "trainingInput": {
            "pythonModule": "trainer.task", "packageUris": [TRAINER],
            "args": ["--api-key=s3cret"], "hyperparameters": hyper}})
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED)
    return job


def sdist_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in (("trainer-0.1/trainer/__init__.py", b""),
                           ("trainer-0.1/trainer/task.py", b"print('hi')\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Access


def test_a_user_without_the_add_job_permission_gets_403(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("bob"))
    assert client.get(URL).status_code == 403
    assert client.post(URL, form_data()).status_code == 403
    assert Job.objects.count() == 0


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_post_without_the_csrf_token_is_refused_and_one_with_it_works(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post(URL, form_data()).status_code == 403
    browser.get(URL)
    token = browser.cookies["csrftoken"].value
    response = browser.post(URL, form_data(csrfmiddlewaretoken=token))
    assert response.status_code == 302 and Job.objects.filter(job_id="j1").exists()


# ---------------------------------------------------------------------------------------------
# Rendering and submitting


def test_the_form_renders_with_one_double_parameter_row_and_its_controls(web):
    response = web.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for marker in ('id="add-param"', 'id="load-example"', 'id="submit-job"',
                   'id="check-job"', 'id="export-yaml"', 'id="import-config"',
                   'name="params-0-type"', 'id="param-empty-form"', 'name="params-__prefix__-type"',
                   'id="machine-section"', 'name="csrfmiddlewaretoken"'):
        assert marker in html, marker
    assert response.context["form"]["project"].value() == "local"
    assert len(response.context["formset"].forms) == 1


def test_a_valid_job_with_all_four_parameter_types_is_created_and_shown(web, user):
    response = web.post(URL, form_data(labels="team=vision"))
    assert response.status_code == 302
    assert response["Location"] == "/projects/local/jobs/j1/"
    job = Job.objects.get(project__name="local", job_id="j1")
    assert job.owner == user and job.labels == {"team": "vision"}
    ti = job.request["trainingInput"]
    assert ti["pythonModule"] == "trainer.task" and ti["packageUris"] == [TRAINER]
    assert ti["args"] == ["--epochs=3"]
    assert ti["hyperparameters"]["params"] == [
        {"parameterName": "learning-rate", "type": "DOUBLE", "minValue": 0.0001,
         "maxValue": 0.1, "scaleType": "UNIT_LOG_SCALE"},
        {"parameterName": "units", "type": "INTEGER", "minValue": 8.0, "maxValue": 128.0},
        {"parameterName": "batch", "type": "DISCRETE", "discreteValues": [16.0, 32.0, 64.0],
         "scaleType": "UNIT_LINEAR_SCALE"},
        {"parameterName": "activation", "type": "CATEGORICAL",
         "categoricalValues": ["relu", "tanh"]},
    ]
    page = web.get(response["Location"])
    assert "Created job j1 in project local." in page.content.decode()


def test_fields_of_other_types_in_a_row_are_not_sent(web):
    rows = [{"parameter_name": "act", "type": "CATEGORICAL", "categorical_values": "a, b",
             "min_value": "3", "max_value": "1", "discrete_values": "1,2"}]
    assert web.post(URL, form_data(rows, max_trials="10")).status_code == 302
    params = Job.objects.get().request["trainingInput"]["hyperparameters"]["params"]
    assert params == [{"parameterName": "act", "type": "CATEGORICAL",
                       "categoricalValues": ["a", "b"]}]


def test_min_greater_than_max_is_shown_on_that_rows_min_field(web):
    rows = [dict(r) for r in FOUR_PARAMS]
    rows[1].update(min_value="200", max_value="10")
    response = web.post(URL, form_data(rows))
    assert response.status_code == 400
    assert Job.objects.count() == 0
    forms = response.context["formset"].forms
    assert "minValue (200) must be ≤ maxValue (10)" in forms[1].errors["min_value"][0]
    assert not forms[0].errors and not forms[2].errors
    assert "must be ≤ maxValue" in response.content.decode()


def test_errors_after_a_removed_row_land_on_the_row_they_concern(web):
    rows = [dict(r) for r in FOUR_PARAMS]
    rows[0]["DELETE"] = "on"
    rows[2]["discrete_values"] = "64, 32"
    response = web.post(URL, form_data(rows))
    assert response.status_code == 400
    forms = response.context["formset"].forms
    assert "strictly increasing" in forms[2].errors["discrete_values"][0]
    assert not forms[1].errors


def test_top_level_violations_are_shown_on_their_fields(web):
    response = web.post(URL, form_data(job_id="1bad", max_trials="0", python_module="",
                                       labels="Team=x"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "is not valid" in errors["job_id"][0]
    assert "must be at least 1" in errors["max_trials"][0]
    assert "pythonModule is required" in errors["python_module"][0]
    assert "label key" in errors["labels"][0]


def test_a_job_without_parameters_is_an_error_above_the_rows(web):
    blank = [{"type": "DOUBLE"}]
    response = web.post(URL, form_data(blank))
    assert response.status_code == 400
    assert "params is required" in response.context["formset"].non_form_errors()[0]


def test_a_duplicate_job_id_is_an_error_on_the_job_id_field(web):
    assert web.post(URL, form_data()).status_code == 302
    response = web.post(URL, form_data())
    assert response.status_code == 400
    error = response.context["form"].errors["job_id"][0]
    assert "already exists in project local" in error and "j1_2" in error
    assert Job.objects.count() == 1


def test_a_missing_package_is_an_error_on_the_package_uris_field(web, tmp_path):
    # (beside the data dir, which is tmp_path here: a path inside it is refused anyway)
    response = web.post(URL, form_data(package_uris=str(tmp_path.parent / "nope")))
    assert response.status_code == 400
    assert "does not exist" in response.context["form"].errors["package_uris"][0]


def test_an_invalid_project_name_is_an_error_on_the_project_field(web):
    response = web.post(URL, form_data(project="a/b"))
    assert response.status_code == 400
    assert "project" in response.context["form"].errors
    assert Job.objects.count() == 0


def test_other_training_input_fields_are_stored_and_their_errors_shown_on_that_box(web):
    extra = "region: us-central1\nscheduling:\n  maxRunningTime: 3600s\n"
    assert web.post(URL, form_data(extra=extra)).status_code == 302
    ti = Job.objects.get().request["trainingInput"]
    assert ti["region"] == "us-central1" and ti["scheduling"] == {"maxRunningTime": "3600s"}

    response = web.post(URL, form_data(job_id="j2", extra="scheduling:\n  maxRunningTime: 1h"))
    assert response.status_code == 400
    assert "duration" in response.context["form"].errors["extra"][0]


def test_the_check_button_validates_without_creating_the_job(web):
    response = web.post(URL, form_data(action="check"))
    assert response.status_code == 200
    assert 'id="check-result"' in response.content.decode()
    assert Job.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Warnings


def test_too_few_trials_for_the_parameters_is_a_warning_and_submit_anyway_creates_the_job(web):
    response = web.post(URL, form_data(max_trials="5", max_failed_trials="1"))
    assert response.status_code == 200
    assert Job.objects.count() == 0
    html = response.content.decode()
    assert "less than 10 × the number of parameters (4 → 40)" in html
    assert 'id="submit-anyway"' in html
    seen = response.context["warnings_seen"]

    # "Submit anyway" for warnings the user did not see shows them again.
    response = web.post(URL, form_data(max_trials="6", action="submit-anyway",
                                       warnings_seen=seen))
    assert response.status_code == 200 and Job.objects.count() == 0

    response = web.post(URL, form_data(max_trials="5", max_failed_trials="1",
                                       action="submit-anyway", warnings_seen=seen))
    assert response.status_code == 302
    assert Job.objects.get().max_trials == 5


def test_more_parallel_trials_than_trials_and_a_small_grid_are_warnings(web):
    rows = [{"parameter_name": "units", "type": "INTEGER", "min_value": "1", "max_value": "3"},
            {"parameter_name": "act", "type": "CATEGORICAL", "categorical_values": "a\nb"}]
    response = web.post(URL, form_data(rows, max_trials="20", max_parallel_trials="30",
                                       algorithm="GRID_SEARCH"))
    warnings = response.context["warnings"]
    assert any("maxParallelTrials (30) is greater than maxTrials (20)" in w for w in warnings)
    assert any("The grid has only 6 points but maxTrials is 20" in w for w in warnings)
    assert Job.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Import and export


def test_importing_the_docs_example_fills_the_parameter_rows_and_machine_fields(web):
    data = form_data([], action="import", import_text=DOCS_EXAMPLE, job_id="mine")
    response = web.post(URL, data)
    assert response.status_code == 200
    rows = [f.initial for f in response.context["formset"].forms]
    assert rows == [
        {"parameter_name": "hidden1", "type": "INTEGER", "min_value": "40",
         "max_value": "400", "scale_type": "UNIT_LINEAR_SCALE"},
        {"parameter_name": "numRnnCells", "type": "DISCRETE", "discrete_values": "1, 2, 3, 4"},
        {"parameter_name": "rnnCellType", "type": "CATEGORICAL",
         "categorical_values": "BasicLSTMCell\nBasicRNNCell\nGRUCell\nLSTMCell\n"
                               "LayerNormBasicLSTMCell"},
    ]
    form = response.context["form"]
    assert form["job_id"].value() == "mine"  # kept: the config has no jobId
    assert form["python_module"].value() == "trainer.task"  # kept
    assert form["metric_tag"].value() == "metric1" and form["max_trials"].value() == "30"
    assert form["early_stopping"].value() is True
    assert form["scale_tier"].value() == "CUSTOM" and form["worker_count"].value() == "9"
    html = response.content.decode()
    assert 'id="machine-section" open' in html
    assert 'data-type="DISCRETE"' in html

    # Submitting the imported form gives the config's job.
    assert web.post(URL, as_post(response)).status_code == 302
    job = Job.objects.get(job_id="mine")
    hp = job.request["trainingInput"]["hyperparameters"]
    assert [p["parameterName"] for p in hp["params"]] == ["hidden1", "numRnnCells",
                                                          "rnnCellType"]
    assert job.request["trainingInput"]["workerCount"] == "9"
    assert hp["enableTrialEarlyStopping"] is True


def test_an_uploaded_json_job_is_imported_and_unknown_things_are_reported(web):
    config = (b'{"jobId": "from_json", "state": "SUCCEEDED", "color": "red", '
              b'"trainingInput": {"pythonModule": "pkg.main", "region": "europe-west1", '
              b'"hyperparameters": {"maxTrails": 3, "params": [{"parameterName": "x", '
              b'"type": "DOUBLE", "minValue": 0, "maxValue": 1, "step": 2}]}}}')
    data = form_data(action="import")
    data["import_file"] = SimpleUploadedFile("job.json", config)
    response = web.post(URL, data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form["job_id"].value() == "from_json" and form["python_module"].value() == "pkg.main"
    assert "region: europe-west1" in form["extra"].value()
    notes = " ".join(response.context["notes"])
    assert "state" in notes and "color: not imported" in notes
    assert "maxTrails: not imported" in notes and "params[0].step: not imported" in notes
    assert [f.initial["parameter_name"] for f in response.context["formset"].forms] == ["x"]


def test_an_unreadable_config_is_an_error_on_the_import_field(web):
    response = web.post(URL, form_data(action="import", import_text="a: [1, 2"))
    assert response.status_code == 400
    assert "not valid YAML" in response.context["import_form"].errors["import_text"][0]
    assert 'id="import-section" open' in response.content.decode()
    # What was typed is still there.
    assert response.context["form"]["job_id"].value() == "j1"


def test_importing_a_job_over_the_apis_caps_is_refused_before_any_form_is_built(web):
    import json

    params = [{"parameterName": f"p{i}", "type": "DOUBLE", "minValue": 0, "maxValue": 1}
              for i in range(10_000)]
    config = json.dumps({"trainingInput": {"hyperparameters": {"params": params}}})
    response = web.post(URL, form_data(action="import", import_text=config))
    assert response.status_code == 400
    errors = " ".join(response.context["import_form"].errors["import_text"])
    assert "at most 100,000 bytes" in errors
    assert len(response.context["formset"].forms) < 100
    config = json.dumps({"trainingInput": {"hyperparameters": {"params": [
        {"parameterName": f"p{i}", "type": "DISCRETE", "discreteValues": [1]}
        for i in range(101)]}}})
    response = web.post(URL, form_data(action="import", import_text=config))
    assert response.status_code == 400
    assert "at most 100 are allowed" in " ".join(
        response.context["import_form"].errors["import_text"])


def test_export_downloads_yaml_that_the_parser_accepts(web):
    response = web.post(URL, form_data(action="export", labels="team=vision"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-yaml")
    assert response["Content-Disposition"] == 'attachment; filename="j1.yaml"'
    text = response.content.decode()
    assert text.startswith("# ml v1 Job exported") and "# project: local" in text
    job = parse_job(load_config(text))
    assert job.job_id == "j1" and job.labels == {"team": "vision"}
    assert [p.type for p in job.definition.hyperparameters.params] == [
        "DOUBLE", "INTEGER", "DISCRETE", "CATEGORICAL"]
    assert Job.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Uploading a trainer package


def test_an_uploaded_package_is_stored_and_the_job_points_at_it(web, data_dir):
    payload = sdist_bytes()
    data = form_data(package_uris="")
    data["package"] = SimpleUploadedFile("../../my trainer;rm -rf.tar.gz", payload)
    response = web.post(URL, data)
    assert response.status_code == 302
    uris = Job.objects.get().request["trainingInput"]["packageUris"]
    assert len(uris) == 1
    stored = Path(uris[0])
    assert stored.name == "my_trainer_rm_-rf.tar.gz"
    assert stored.parent.parent == data_dir / "uploads"
    assert len(stored.parent.name) == 32 and stored.read_bytes() == payload


def test_a_package_kept_from_an_earlier_attempt_is_not_uploaded_again(web, data_dir):
    data = form_data(package_uris=TRAINER, python_module="")
    data["package"] = SimpleUploadedFile("t.whl", b"PK\x03\x04rest")
    response = web.post(URL, data)
    assert response.status_code == 400  # pythonModule is missing
    uris = response.context["form"]["package_uris"].value().splitlines()
    assert uris[0] == TRAINER and uris[1].startswith(str(data_dir / "uploads"))
    assert len(list((data_dir / "uploads").iterdir())) == 1


def test_a_package_with_the_wrong_kind_of_file_is_refused(web, data_dir):
    data = form_data()
    data["package"] = SimpleUploadedFile("trainer.py", b"print(1)")
    response = web.post(URL, data)
    assert response.status_code == 400
    assert "must be an sdist" in response.context["form"].errors["package"][0]
    data["package"] = SimpleUploadedFile("trainer.tar.gz", b"not gzip")
    response = web.post(URL, data)
    assert "is not a gzip-compressed tar archive" in response.context["form"].errors["package"][0]
    assert not (data_dir / "uploads").exists() or not any((data_dir / "uploads").iterdir())
    assert Job.objects.count() == 0


def test_a_package_over_the_size_cap_is_refused_without_being_stored(web, data_dir,
                                                                      monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PACKAGE_BYTES", 1024 * 1024)
    data = form_data()
    data["package"] = SimpleUploadedFile("big.zip", b"PK\x03\x04" + b"x" * 1024 * 1024)
    response = web.post(URL, data)
    assert response.status_code == 400
    assert response.context["form"].errors["package"] == [
        "The package is larger than 1 MiB; copy it to the server and give its path instead."]
    assert not (data_dir / "uploads").exists()


# ---------------------------------------------------------------------------------------------
# Resume and the example


def test_continue_this_job_prefills_the_form_and_the_resumed_job_reuses_its_params(web):
    prev = finished_job("digits_1")
    response = web.get(URL, {"resume": "local/digits_1"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form["resume_from"].value() == "local/digits_1"
    assert form["project"].value() == "local" and form["job_id"].value() == "digits_2"
    assert form["max_trials"].value() == "20" and form["max_parallel_trials"].value() == "3"
    assert form["goal"].value() == "MINIMIZE" and form["metric_tag"].value() == "loss"
    assert form["python_module"].value() == "trainer.task"
    assert response.context["formset"].forms == []

    response = web.post(URL, as_post(response))
    assert response.status_code == 302, response.context["form"].errors
    job = Job.objects.get(job_id="digits_2")
    assert job.previous_job == prev
    assert job.spec.params[0].name == "x"
    assert job_resource(job)["trainingInput"]["hyperparameters"]["params"][0][
        "parameterName"] == "x", "the API shows the params the resumed job runs with"


def test_a_job_of_a_project_the_user_is_not_in_is_neither_offered_nor_prefilled(
        web, django_user_model):
    finished_job("alices_run_1")
    bob = django_user_model.objects.create_user("bob")
    bob.user_permissions.add(Permission.objects.get(codename="add_job"))
    web.force_login(bob)
    page = web.get(URL)
    assert b"alices_run_1" not in page.content  # not among the resume choices
    response = web.get(URL, {"resume": "local/alices_run_1"}, follow=True)
    html = response.content.decode()
    assert "There is no job local/alices_run_1 to continue." in html
    assert "s3cret" not in html and TRAINER not in html
    assert response.context["form"]["resume_from"].value() in (None, "")


def test_the_suggested_id_skips_ids_already_taken(web):
    finished_job("digits_1")
    finished_job("digits_2")
    response = web.get(URL, {"resume": "local/digits_1"})
    assert response.context["form"]["job_id"].value() == "digits_3"


def test_resuming_a_job_of_another_project_is_an_error_on_the_resume_field(web):
    finished_job("old", project="other")
    response = web.post(URL, form_data([], resume_from="other/old", goal="MINIMIZE",
                                       metric_tag="loss"))
    assert response.status_code == 400
    assert "only resume a job of its own project" in (
        response.context["form"].errors["resume_from"][0])
    html = response.content.decode()
    assert 'data-project="other" data-goal="MINIMIZE" data-metric="loss"' in html


def test_a_resumed_job_with_a_different_goal_is_an_error_on_the_goal_field(web):
    finished_job("digits_1")
    response = web.post(URL, form_data([], resume_from="local/digits_1", metric_tag="loss",
                                       job_id="digits_2"))
    assert response.status_code == 400
    assert "goal differs from job 'digits_1'" in response.context["form"].errors["goal"][0]


def test_load_example_fills_the_form_with_the_bundled_trainer_and_submits(web):
    response = web.get(URL, {"example": "mlp_digits"})
    form = response.context["form"]
    assert form["package_uris"].value() == TRAINER
    assert form["python_module"].value() == "trainer.task"
    assert form["job_id"].value() == "mlp_digits_1"
    assert [f.initial["type"] for f in response.context["formset"].forms] == [
        "INTEGER", "DOUBLE", "DOUBLE", "CATEGORICAL"]
    data = as_post(response)
    data["action"] = "submit-anyway"  # 12 trials for 4 params is under the advice
    data["warnings_seen"] = web.post(URL, as_post(response)).context["warnings_seen"]
    assert web.post(URL, data).status_code == 302
    assert Job.objects.get().request["trainingInput"]["packageUris"] == [TRAINER]


# ---------------------------------------------------------------------------------------------
# Escaping


def test_a_categorical_value_with_html_is_shown_as_text(web):
    rows = [{"parameter_name": "act", "type": "CATEGORICAL", "categorical_values": XSS}]
    response = web.post(URL, form_data(rows, python_module=""))  # an error re-renders the form
    html = response.content.decode()
    assert response.status_code == 400
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html

    config = f"trainingInput:\n  hyperparameters:\n    params:\n    - parameterName: a\n" \
             f"      type: CATEGORICAL\n      categoricalValues: ['{XSS}']\n"
    response = web.post(URL, form_data(action="import", import_text=config))
    html = response.content.decode()
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# ---------------------------------------------------------------------------------------------
# Errors and warnings together; a resumed job's history and what it reuses


def test_a_form_with_errors_shows_its_warnings_too(web):
    response = web.post(URL, form_data(max_trials="5", job_id="1bad"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="form-errors"' in html
    assert "less than 10 × the number of parameters (4 → 40)" in html
    assert 'id="submit-anyway"' not in html  # errors first: nothing to submit anyway


def _with_trials(job: Job, n: int) -> Job:
    from hpdash.core.states import TrialState
    from hpdash.models import Trial

    Trial.objects.bulk_create(Trial(job=job, trial_id=i, state=TrialState.SUCCEEDED,
                                    params={"x": i / n}, final_value=i / n)
                              for i in range(1, n + 1))
    return job


def test_the_resume_advice_counts_the_previous_jobs_trials_as_history(web):
    _with_trials(finished_job("digits_1", maxTrials=8), 8)
    page = web.get(URL, {"resume": "local/digits_1"})
    # 1 parameter → 10 trials advised: 3 new + 8 finished before is enough.
    response = web.post(URL, {**as_post(page), "max_trials": "3"})
    assert response.status_code == 302, response.content.decode()[-2000:]


def test_too_little_history_still_warns_and_says_what_it_counted(web):
    _with_trials(finished_job("digits_1", maxTrials=4), 4)
    page = web.get(URL, {"resume": "local/digits_1"})
    response = web.post(URL, {**as_post(page), "max_trials": "3"})
    assert response.status_code == 200
    assert "maxTrials (3) plus 4 finished trials of the job it resumes" in (
        response.content.decode())


def test_what_a_resumed_job_reuses_is_shown_read_only(web):
    _with_trials(finished_job("digits_1"), 5)
    html = web.get(URL, {"resume": "local/digits_1"}).content.decode()
    reused = html.split('id="reused"')[1].split("</div>")[0]
    assert "MINIMIZE" in reused and "loss" in reused and "5 finished trials count" in reused
    assert "<th>x</th><td>DOUBLE 0 … 1</td>" in reused


def test_the_early_stopping_help_names_the_rule_this_server_applies(web, settings):
    assert "curve_bound" in web.get(URL).context["form"]["early_stopping"].help_text
    settings.HPDASH = dataclasses.replace(settings.HPDASH, early_stopping_rule="median")
    help_text = web.get(URL).context["form"]["early_stopping"].help_text
    assert "median" in help_text and "curve_bound" not in help_text
