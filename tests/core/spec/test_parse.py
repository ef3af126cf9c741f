"""parse_job / parse_hyperparameters: the ml v1 Job contract, every rule with its error path."""

from __future__ import annotations

import copy
import json
import math
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hpdash.core.spec import (
    DEFAULT_METRIC_TAG,
    ContainerImage,
    HyperparameterSpec,
    NewJob,
    SpecError,
    load_config,
    parse_hyperparameters,
    parse_job,
)
from hpdash.core.spec.parse import parse_labels
from hpdash.core.spec.types import local_path

HP = "trainingInput.hyperparameters"

DOCS_EXAMPLE = """\
trainingInput:
  scaleTier: CUSTOM
  masterType: complex_model_m
  workerType: complex_model_m
  parameterServerType: large_model
  workerCount: 9
  parameterServerCount: 3
  pythonModule: trainer.task
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

CENSUS_CONFIG = """\
trainingInput:
  hyperparameters:
    goal: MAXIMIZE
    hyperparameterMetricTag: accuracy
    maxTrials: 4
    maxParallelTrials: 2
    params:
      - parameterName: first-layer-size
        type: INTEGER
        minValue: 50
        maxValue: 500
        scaleType: UNIT_LINEAR_SCALE
      - parameterName: num-layers
        type: INTEGER
        minValue: 1
        maxValue: 15
        scaleType: UNIT_LINEAR_SCALE
      - parameterName: scale-factor
        type: DOUBLE
        minValue: 0.1
        maxValue: 1.0
        scaleType: UNIT_REVERSE_LOG_SCALE
"""


# ---------------------------------------------------------------------------------------------
# helpers


def make_job(**training: Any) -> dict[str, Any]:
    """A small valid Job; keyword arguments replace trainingInput fields (None removes one)."""
    ti: dict[str, Any] = {
        "pythonModule": "trainer.task",
        "hyperparameters": {
            "maxTrials": 4,
            "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.001,
                        "maxValue": 0.1, "scaleType": "UNIT_LOG_SCALE"}],
        },
    }
    for key, value in training.items():
        if value is None:
            ti.pop(key, None)
        else:
            ti[key] = value
    return {"jobId": "job_1", "trainingInput": ti}


def with_hp(**hp: Any) -> dict[str, Any]:
    job = make_job()
    for key, value in hp.items():
        if value is None:
            job["trainingInput"]["hyperparameters"].pop(key, None)
        else:
            job["trainingInput"]["hyperparameters"][key] = value
    return job


def with_param(param: dict[str, Any], **hp: Any) -> dict[str, Any]:
    return with_hp(params=[param], **hp)


def violations(data: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        parse_job(data, **kwargs)
    found: dict[str, str] = {}
    for v in info.value.violations:
        found[v.field] = (found[v.field] + " | " if v.field in found else "") + v.description
    return found


def only_violation(data: Any, **kwargs: Any) -> tuple[str, str]:
    found = violations(data, **kwargs)
    assert len(found) == 1, found
    return next(iter(found.items()))


def ok(data: Any, **kwargs: Any) -> NewJob:
    return parse_job(data, **kwargs)


# ---------------------------------------------------------------------------------------------
# Real configs


def test_it_parses_the_docs_example_config() -> None:
    job = parse_job(load_config(DOCS_EXAMPLE), require_job_id=False)
    hp = job.definition.hyperparameters
    assert job.job_id is None
    assert hp.goal == "MAXIMIZE" and hp.maximize
    assert hp.metric_tag == "metric1"
    assert (hp.max_trials, hp.max_parallel_trials, hp.max_failed_trials) == (30, 1, 0)
    assert hp.enable_early_stopping is True
    assert hp.algorithm == "ALGORITHM_UNSPECIFIED"
    hidden1, cells, cell_type = hp.params
    assert (hidden1.name, hidden1.type, hidden1.min_value, hidden1.max_value) == (
        "hidden1", "INTEGER", 40.0, 400.0)
    assert hidden1.scale_type == "UNIT_LINEAR_SCALE"
    assert (cells.type, cells.discrete_values, cells.scale_type) == (
        "DISCRETE", (1.0, 2.0, 3.0, 4.0), "NONE")
    assert cell_type.categorical_values == (
        "BasicLSTMCell", "BasicRNNCell", "GRUCell", "LSTMCell", "LayerNormBasicLSTMCell")


def test_it_parses_the_census_hptuning_config_with_the_module_from_the_command_line() -> None:
    data = load_config(CENSUS_CONFIG)
    data["trainingInput"]["pythonModule"] = "trainer.task"  # gcloud's --module-name
    hp = parse_job(data, require_job_id=False).definition.hyperparameters
    assert hp.metric_tag == "accuracy"
    assert (hp.max_trials, hp.max_parallel_trials) == (4, 2)
    assert [p.name for p in hp.params] == ["first-layer-size", "num-layers", "scale-factor"]
    assert hp.param("scale-factor").is_reverse_log
    assert (hp.param("scale-factor").min_value, hp.param("scale-factor").max_value) == (0.1, 1.0)


def test_it_parses_a_json_job_resource() -> None:
    job = parse_job(json.loads(json.dumps(make_job())))
    assert job.job_id == "job_1"
    assert job.definition.package and job.definition.package.module == "trainer.task"


@pytest.mark.parametrize("word", ["True", "TRUE", "true"])
def test_it_reads_every_yaml_true_spelling_for_early_stopping(word: str) -> None:
    text = DOCS_EXAMPLE.replace("EarlyStopping: True", f"EarlyStopping: {word}")
    hp = parse_job(load_config(text), require_job_id=False).definition.hyperparameters
    assert hp.enable_early_stopping is True


def test_it_reads_yaml_false_for_early_stopping() -> None:
    text = DOCS_EXAMPLE.replace("EarlyStopping: True", "EarlyStopping: False")
    hp = parse_job(load_config(text), require_job_id=False).definition.hyperparameters
    assert hp.enable_early_stopping is False


# ---------------------------------------------------------------------------------------------
# The normalised raw echo


def test_it_echoes_machine_fields_in_api_form() -> None:
    raw = parse_job(load_config(DOCS_EXAMPLE), require_job_id=False).request["trainingInput"]
    assert raw["scaleTier"] == "CUSTOM"
    assert raw["masterType"] == "complex_model_m"
    assert raw["workerCount"] == "9"
    assert raw["parameterServerCount"] == "3"
    assert raw["hyperparameters"]["enableTrialEarlyStopping"] is True
    assert list(raw) == ["scaleTier", "masterType", "workerType", "parameterServerType",
                         "workerCount", "parameterServerCount", "pythonModule", "hyperparameters"]


def test_it_echoes_bounds_as_floats_and_does_not_fill_in_defaults() -> None:
    raw = parse_job(load_config(DOCS_EXAMPLE), require_job_id=False).request["trainingInput"]
    hp = raw["hyperparameters"]
    assert "maxFailedTrials" not in hp and "algorithm" not in hp
    hidden1, cells, _ = hp["params"]
    assert hidden1 == {"parameterName": "hidden1", "type": "INTEGER", "minValue": 40.0,
                       "maxValue": 400.0, "scaleType": "UNIT_LINEAR_SCALE"}
    assert isinstance(hidden1["minValue"], float)
    assert cells["discreteValues"] == [1.0, 2.0, 3.0, 4.0]
    assert "scaleType" not in cells


def test_it_echoes_int64_given_as_strings_as_strings_and_int32_as_numbers() -> None:
    job = make_job(scaleTier="CUSTOM", masterType="n1-standard-8", workerType="n1-standard-8",
                   workerCount="2",
                   masterConfig={"acceleratorConfig": {"count": 1, "type": "NVIDIA_TESLA_T4"},
                                 "diskConfig": {"bootDiskSizeGb": "200"}})
    job["trainingInput"]["hyperparameters"]["maxTrials"] = "8"
    raw = ok(job).request["trainingInput"]
    assert raw["workerCount"] == "2"
    assert raw["masterConfig"] == {"acceleratorConfig": {"count": "1", "type": "NVIDIA_TESLA_T4"},
                                   "diskConfig": {"bootDiskSizeGb": 200}}
    assert raw["hyperparameters"]["maxTrials"] == 8


def test_it_echoes_goal_type_unspecified_as_given_but_maximizes() -> None:
    job = ok(with_hp(goal="GOAL_TYPE_UNSPECIFIED"))
    assert job.definition.hyperparameters.goal == "MAXIMIZE"
    assert job.request["trainingInput"]["hyperparameters"]["goal"] == "GOAL_TYPE_UNSPECIFIED"


def test_the_raw_echo_is_json_serialisable() -> None:
    raw = parse_job(load_config(DOCS_EXAMPLE), require_job_id=False).request["trainingInput"]
    assert json.loads(json.dumps(raw)) == raw


# ---------------------------------------------------------------------------------------------
# Job


def test_it_requires_a_job_id() -> None:
    job = make_job()
    del job["jobId"]
    assert only_violation(job) == ("jobId", "jobId is required")


def test_it_accepts_a_config_without_job_id_when_not_required() -> None:
    job = make_job()
    del job["jobId"]
    assert ok(job, require_job_id=False).job_id is None


def test_it_still_validates_a_job_id_given_when_not_required() -> None:
    job = make_job()
    job["jobId"] = "1abc"
    assert only_violation(job, require_job_id=False)[0] == "jobId"


@pytest.mark.parametrize("job_id", ["a", "Census_2024_run3", "x" * 128])
def test_it_accepts_valid_job_ids(job_id: str) -> None:
    job = make_job()
    job["jobId"] = job_id
    assert ok(job).job_id == job_id


@pytest.mark.parametrize("job_id", ["", "1abc", "_abc", "a b", "a.b", "x" * 129, "abc\n"])
def test_it_rejects_invalid_job_ids(job_id: str) -> None:
    job = make_job()
    job["jobId"] = job_id
    field, message = only_violation(job)
    assert field == "jobId"
    assert "must start with a letter" in message


def test_it_suggests_underscores_for_a_job_id_with_dashes() -> None:
    job = make_job()
    job["jobId"] = "census-run-1"
    assert "did you mean census_run_1?" in only_violation(job)[1]


def test_it_rejects_a_job_id_that_is_not_a_string() -> None:
    job = make_job()
    job["jobId"] = 12
    assert only_violation(job) == ("jobId", "jobId must be a string, got a number (12)")


def test_it_rejects_a_job_that_is_not_an_object() -> None:
    assert only_violation(["trainingInput"])[0] == "job"


def test_it_ignores_output_only_fields() -> None:
    job = make_job()
    job.update(createTime="2016-10-03T07:32:09Z", startTime=None, endTime=[], state="FAILED",
               errorMessage={"x": 1}, trainingOutput={"trials": []}, etag="abc=",
               jobPosition="3")
    assert ok(job).job_id == "job_1"


@pytest.mark.parametrize("field", ["predictionInput", "predictionOutput"])
def test_it_rejects_prediction_jobs(field: str) -> None:
    job = make_job()
    job[field] = {"dataFormat": "JSON"}
    got_field, message = only_violation(job)
    assert got_field == field
    assert "prediction jobs are not supported by hpdash" in message


def test_it_requires_training_input() -> None:
    assert violations({"jobId": "a"}) == {
        "trainingInput": "trainingInput is required: hpdash runs hyperparameter tuning jobs "
                         "described by trainingInput.hyperparameters"
    }


@pytest.mark.parametrize("value", [None, [], "x", 3])
def test_it_rejects_training_input_that_is_not_an_object(value: Any) -> None:
    job = make_job()
    job["trainingInput"] = value
    field, message = only_violation(job)
    assert field == "trainingInput"
    assert message.startswith("trainingInput must be an object, got ")


def test_it_rejects_an_unknown_job_field_like_google() -> None:
    job = make_job()
    job["trainInput"] = {}
    assert violations(job)["trainInput"].startswith(
        "Unknown name \"trainInput\" at 'job': Cannot find field.")


def test_it_rejects_a_non_string_field_name() -> None:
    job = make_job()
    job[3] = "x"  # type: ignore[index]
    assert only_violation(job) == ("job", "field names must be strings, got a number (3)")


# ---------------------------------------------------------------------------------------------
# Labels


def test_it_accepts_google_style_labels() -> None:
    job = make_job()
    job["labels"] = {"team": "ml-infra", "owner_1": "", "env": "prod_2"}
    assert ok(job).labels == {"team": "ml-infra", "owner_1": "", "env": "prod_2"}


@pytest.mark.parametrize("key", ["Team", "1team", "-team", "te am", "", "k" * 64])
def test_it_rejects_invalid_label_keys(key: str) -> None:
    job = make_job()
    job["labels"] = {key: "x"}
    field, message = only_violation(job)
    assert field.startswith("labels")
    assert "must start with a lowercase letter" in message


def test_it_names_the_label_in_the_path() -> None:
    job = make_job()
    job["labels"] = {"Team": "x"}
    assert only_violation(job)[0] == "labels.Team"


@pytest.mark.parametrize("value", ["Prod", "a b", "v" * 64, "ü"])
def test_it_rejects_invalid_label_values(value: str) -> None:
    job = make_job()
    job["labels"] = {"env": value}
    field, message = only_violation(job)
    assert field == "labels.env"
    assert "may contain only lowercase letters" in message


def test_it_rejects_a_label_value_that_is_not_a_string_and_says_to_quote_it() -> None:
    job = make_job()
    job["labels"] = {"version": 2}
    field, message = only_violation(job)
    assert field == "labels.version"
    assert "must have a string value, got a number (2)" in message
    assert "quote" in message


def test_it_rejects_more_than_64_labels() -> None:
    job = make_job()
    job["labels"] = {f"k{i}": "v" for i in range(65)}
    assert only_violation(job) == ("labels", "labels has 65 entries; at most 64 are allowed")


def test_it_rejects_labels_that_are_not_a_map() -> None:
    job = make_job()
    job["labels"] = ["team=ml"]
    assert only_violation(job)[0] == "labels"


def test_parse_labels_validates_a_labels_patch() -> None:
    assert parse_labels({"owner": "google"}) == {"owner": "google"}
    with pytest.raises(SpecError) as info:
        parse_labels({"Owner": "Google"})
    assert [v.field for v in info.value.violations] == ["labels.Owner", "labels.Owner"]


# ---------------------------------------------------------------------------------------------
# TrainingInput: the fields hpdash runs with


def test_it_requires_a_python_module_and_names_the_flag_a_gcloud_user_knows() -> None:
    field, message = only_violation(make_job(pythonModule=None))
    assert field == "trainingInput.pythonModule"
    assert "pythonModule is required" in message and "--module-name" in message


@pytest.mark.parametrize("module", ["trainer.task", "task", "my_pkg.sub2.main_"])
def test_it_accepts_dotted_module_names(module: str) -> None:
    package = ok(make_job(pythonModule=module)).definition.package
    assert package and package.module == module


@pytest.mark.parametrize("module", ["", "trainer/task.py", "trainer.", ".task", "1trainer.task",
                                    "trainer.class", "trainer-task", "trainer task"])
def test_it_rejects_module_names_that_are_not_python_modules(module: str) -> None:
    field, message = only_violation(make_job(pythonModule=module))
    assert field == "trainingInput.pythonModule"
    assert "is not a Python module name" in message


def test_it_suggests_the_module_for_a_script_path() -> None:
    message = only_violation(make_job(pythonModule="trainer/task.py"))[1]
    assert "did you mean trainer.task?" in message


def test_it_accepts_local_package_paths_and_file_uris() -> None:
    uris = ["/srv/pkgs/trainer-0.1.tar.gz", "file:///srv/pkgs/dep%201.whl",
            "file://localhost/srv/x.tar.gz"]
    trainer = ok(make_job(packageUris=uris)).definition.package
    assert trainer is not None
    assert trainer.package_uris == tuple(uris)
    assert trainer.package_paths == ("/srv/pkgs/trainer-0.1.tar.gz", "/srv/pkgs/dep 1.whl",
                                "/srv/x.tar.gz")


def test_it_rejects_a_gcs_package_and_says_to_copy_it_locally() -> None:
    field, message = only_violation(make_job(packageUris=["/ok.tar.gz", "gs://bucket/pkg.tar.gz"]))
    assert field == "trainingInput.packageUris[1]"
    assert "gs://" in message
    assert "hpdash runs on local files" in message
    assert "copy" in message


@pytest.mark.parametrize("uri", ["s3://b/p.tgz", "https://x/p.tgz", "trainer.tar.gz",
                                 "./dist/p.tgz", "~/p.tgz", "file://host/p.tgz", "file:p.tgz",
                                 "", "/a\x00b", "file:///a%00b"])
def test_it_rejects_package_locations_that_are_not_local_absolute_paths(uri: str) -> None:
    assert only_violation(make_job(packageUris=[uri]))[0] == "trainingInput.packageUris[0]"


def test_it_rejects_more_than_100_package_uris() -> None:
    field, message = only_violation(make_job(packageUris=[f"/p{i}.whl" for i in range(101)]))
    assert (field, message) == ("trainingInput.packageUris",
                                "packageUris has 101 entries; at most 100 are allowed")


def test_it_rejects_package_uris_that_are_not_a_list() -> None:
    field, message = only_violation(make_job(packageUris="/srv/p.tar.gz"))
    assert field == "trainingInput.packageUris"
    assert message == 'packageUris must be a list, got a string ("/srv/p.tar.gz")'


def test_it_keeps_args_in_order() -> None:
    args = ["--train-steps", "1000", "--verbose"]
    assert ok(make_job(args=args)).definition.args == tuple(args)


def test_it_rejects_an_unquoted_number_in_args() -> None:
    field, message = only_violation(make_job(args=["--train-steps", 1000]))
    assert field == "trainingInput.args[1]"
    assert "must be a string, got a number (1000)" in message and "quote" in message


def test_it_accepts_a_local_job_dir() -> None:
    ti = ok(make_job(jobDir="file:///tmp/out")).definition
    assert (ti.job_dir, ti.job_dir_path) == ("file:///tmp/out", "/tmp/out")
    assert local_path("/tmp/out") == "/tmp/out"


def test_it_rejects_a_gcs_job_dir_and_asks_for_a_local_output_directory() -> None:
    field, message = only_violation(make_job(jobDir="gs://b/census"))
    assert field == "trainingInput.jobDir"
    assert "hpdash runs on local files" in message
    assert "give a local output directory" in message and "gsutil" not in message


def test_it_requires_hyperparameters_because_hpdash_only_tunes() -> None:
    field, message = only_violation(make_job(hyperparameters=None))
    assert field == "trainingInput.hyperparameters"
    assert "hpdash runs hyperparameter tuning jobs" in message


# ---------------------------------------------------------------------------------------------
# TrainingInput: machine fields, type-checked and stored


def test_it_accepts_every_training_input_field_of_the_discovery_doc() -> None:
    replica = {"imageUri": "", "tpuTfVersion": "2.1",
               "acceleratorConfig": {"count": "2", "type": "NVIDIA_TESLA_V100"},
               "diskConfig": {"bootDiskSizeGb": 100, "bootDiskType": "pd-ssd"},
               "containerCommand": ["python"], "containerArgs": ["-m", "x"]}
    job = make_job(
        scaleTier="CUSTOM", masterType="n1-highmem-8", workerType="n1-highmem-8",
        parameterServerType="n1-standard-4", evaluatorType="n1-standard-4", workerCount=2,
        parameterServerCount="1", evaluatorCount=1.0, masterConfig=replica, workerConfig=replica,
        parameterServerConfig=replica, evaluatorConfig=replica, region="us-central1",
        runtimeVersion="2.11", pythonVersion="3.7",
        scheduling={"maxRunningTime": "7200s", "maxWaitTime": "1800.5s", "priority": 1000},
        serviceAccount="sa@p.iam.gserviceaccount.com", network="projects/1/global/networks/n",
        encryptionConfig={"kmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"},
        enableWebAccess=False, useChiefInTfConfig=True, args=["--x"], jobDir="/tmp/j",
        packageUris=["/tmp/p.tgz"],
    )
    raw = ok(job).request["trainingInput"]
    assert raw["evaluatorCount"] == "1"
    assert raw["parameterServerCount"] == "1"
    assert raw["scheduling"] == {"maxRunningTime": "7200s", "maxWaitTime": "1800.5s",
                                 "priority": 1000}
    assert raw["useChiefInTfConfig"] is True


def test_it_rejects_an_unknown_scale_tier() -> None:
    field, message = only_violation(make_job(scaleTier="GIANT"))
    assert field == "trainingInput.scaleTier"
    assert "must be one of BASIC, STANDARD_1, PREMIUM_1, BASIC_GPU, BASIC_TPU, CUSTOM" in message


def test_it_says_enums_are_case_sensitive_for_a_lowercase_scale_tier() -> None:
    assert "did you mean CUSTOM?" in only_violation(make_job(scaleTier="custom"))[1]


def test_it_requires_master_type_for_the_custom_tier() -> None:
    assert only_violation(make_job(scaleTier="CUSTOM")) == (
        "trainingInput.masterType", "masterType is required when scaleTier is CUSTOM")


@pytest.mark.parametrize("count,type_", [("workerCount", "workerType"),
                                         ("parameterServerCount", "parameterServerType"),
                                         ("evaluatorCount", "evaluatorType")])
def test_it_requires_the_replica_type_when_its_count_is_positive(count: str, type_: str) -> None:
    job = make_job(scaleTier="CUSTOM", masterType="standard", **{count: 2})
    assert only_violation(job) == (
        f"trainingInput.{type_}", f"{type_} is required when {count} is greater than zero")


def test_it_allows_a_zero_count_without_its_type() -> None:
    assert ok(make_job(scaleTier="CUSTOM", masterType="standard", workerCount=0))


@pytest.mark.parametrize("tier", [None, "BASIC", "STANDARD_1"])
def test_it_rejects_counts_unless_the_tier_is_custom(tier: str | None) -> None:
    field, message = only_violation(make_job(scaleTier=tier, workerCount=3, workerType="standard"))
    assert field == "trainingInput.workerCount"
    assert "can only be used when scaleTier is CUSTOM" in message


@pytest.mark.parametrize("value", [-1, "-1", True, "three", 2.5, None, "2.0"])
def test_it_rejects_counts_that_are_not_non_negative_integers(value: Any) -> None:
    job = make_job(scaleTier="CUSTOM", masterType="standard", workerType="standard")
    job["trainingInput"]["workerCount"] = value
    assert only_violation(job)[0] == "trainingInput.workerCount"


def test_it_type_checks_replica_configs() -> None:
    job = make_job(masterConfig={"acceleratorConfig": {"count": "x", "type": "NVIDIA_TESLA_Z1"},
                                 "diskConfig": {"bootDiskSizeGb": -1, "bootDiskType": 3},
                                 "containerArgs": "--x", "imageUri": None, "gpu": 1})
    assert set(violations(job)) == {
        "trainingInput.masterConfig.acceleratorConfig.count",
        "trainingInput.masterConfig.acceleratorConfig.type",
        "trainingInput.masterConfig.diskConfig.bootDiskSizeGb",
        "trainingInput.masterConfig.diskConfig.bootDiskType",
        "trainingInput.masterConfig.containerArgs",
        "trainingInput.masterConfig.imageUri",
        "trainingInput.masterConfig.gpu",
    }


def test_a_master_image_is_the_trainer_with_its_command_and_args() -> None:
    job = ok(make_job(pythonModule=None, packageUris=None, masterConfig={
        "imageUri": "gcr.io/p/trainer:1", "containerCommand": ["python3", "-m", "t"],
        "containerArgs": ["--epochs=3"]}))
    assert job.definition.image == ContainerImage("gcr.io/p/trainer:1", ("python3", "-m", "t"),
                                                  ("--epochs=3",))
    assert job.definition.package is None


def test_a_master_image_with_a_python_module_is_refused_naming_both() -> None:
    field, message = only_violation(make_job(masterConfig={"imageUri": "gcr.io/p/t:1"}))
    assert field == "trainingInput.pythonModule"
    assert "cannot be given with masterConfig.imageUri" in message


@pytest.mark.parametrize("image", ["gcr.io/p/Trainer:1", "x y", "-v", "a\nb"])
def test_an_image_that_is_no_image_reference_is_refused(image: str) -> None:
    field, message = only_violation(make_job(pythonModule=None, packageUris=None,
                                             masterConfig={"imageUri": image}))
    assert field == "trainingInput.masterConfig.imageUri"
    assert "is not a container image reference" in message


@pytest.mark.parametrize("replica", ["workerConfig", "parameterServerConfig", "evaluatorConfig"])
def test_another_replicas_image_is_refused_by_name(replica: str) -> None:
    field, message = only_violation(make_job(**{replica: {"imageUri": "gcr.io/p/trainer:1"}}))
    assert field == f"trainingInput.{replica}.imageUri"
    assert "masterConfig.imageUri" in message


def test_it_rejects_a_replica_config_that_is_not_an_object() -> None:
    assert only_violation(make_job(workerConfig=["n1"])) == (
        "trainingInput.workerConfig", 'workerConfig must be an object, got a list (["n1"])')


@pytest.mark.parametrize("value", ["1h", "3600", 3600, "-5s", "1.5.5s", ""])
def test_it_rejects_scheduling_durations_that_are_not_seconds_strings(value: Any) -> None:
    field, message = only_violation(make_job(scheduling={"maxRunningTime": value}))
    assert field == "trainingInput.scheduling.maxRunningTime"
    assert 'such as "3600s"' in message


@pytest.mark.parametrize("value", [-1, 1001, "high", 0.5])
def test_it_rejects_a_scheduling_priority_outside_0_to_1000(value: Any) -> None:
    assert only_violation(make_job(scheduling={"priority": value}))[0] == (
        "trainingInput.scheduling.priority")


def test_it_rejects_an_unknown_scheduling_field() -> None:
    field, message = only_violation(make_job(scheduling={"maxRunTime": "60s"}))
    assert field == "trainingInput.scheduling.maxRunTime"
    assert 'Did you mean "maxRunningTime"?' in message


@pytest.mark.parametrize("field", ["enableWebAccess", "useChiefInTfConfig"])
def test_it_rejects_a_string_where_a_boolean_is_expected(field: str) -> None:
    assert only_violation(make_job(**{field: "true"})) == (
        f"trainingInput.{field}",
        f'{field} must be a boolean (true or false), got a string ("true")')


@pytest.mark.parametrize("field", ["region", "runtimeVersion", "pythonVersion", "serviceAccount",
                                   "network", "masterType"])
def test_it_rejects_non_strings_in_string_fields_with_a_quoting_hint(field: str) -> None:
    got_field, message = only_violation(make_job(**{field: 3.7}))
    assert got_field == f"trainingInput.{field}"
    assert "must be a string, got a number (3.7)" in message and "quote" in message


def test_it_type_checks_the_encryption_config() -> None:
    assert only_violation(make_job(encryptionConfig={"kmsKeyName": 1}))[0] == (
        "trainingInput.encryptionConfig.kmsKeyName")


def test_it_rejects_an_unknown_training_input_field_and_suggests_camel_case() -> None:
    field, message = only_violation(make_job(parameter_server_type="large_model"))
    assert field == "trainingInput.parameter_server_type"
    assert message.startswith(
        "Unknown name \"parameter_server_type\" at 'trainingInput': Cannot find field.")
    assert 'Did you mean "parameterServerType"?' in message


# ---------------------------------------------------------------------------------------------
# HyperparameterSpec


def test_it_fills_hyperparameter_defaults_in_the_spec() -> None:
    hp = ok(with_hp(maxTrials=None)).definition.hyperparameters
    assert hp.goal == "MAXIMIZE"
    assert hp.metric_tag == DEFAULT_METRIC_TAG == "training/hptuning/metric"
    assert (hp.max_trials, hp.max_parallel_trials, hp.max_failed_trials) == (1, 1, 0)
    assert hp.enable_early_stopping is False
    assert hp.resume_previous_job_id is None
    assert hp.algorithm == "ALGORITHM_UNSPECIFIED"


def test_it_reads_minimize() -> None:
    assert not ok(with_hp(goal="MINIMIZE")).definition.hyperparameters.maximize


def test_it_says_goal_is_case_sensitive() -> None:
    assert only_violation(with_hp(goal="minimize")) == (
        f"{HP}.goal", 'goal "minimize" is not valid: enum values are case-sensitive, '
                      "did you mean MINIMIZE?")


def test_it_rejects_an_unknown_hyperparameter_field_like_google() -> None:
    field, message = only_violation(with_hp(maxTrails=10))
    assert field == f"{HP}.maxTrails"
    assert message == ("Unknown name \"maxTrails\" at 'trainingInput.hyperparameters': "
                       'Cannot find field. Did you mean "maxTrials"?')


def test_it_rejects_hyperparameters_that_are_not_an_object() -> None:
    field, message = only_violation(make_job(hyperparameters=[{"maxTrials": 3}]))
    assert field == HP
    assert message.startswith("hyperparameters must be an object, got a list")


@pytest.mark.parametrize("tag", ["", "x" * 257])
def test_it_rejects_an_empty_or_overlong_metric_tag(tag: str) -> None:
    assert only_violation(with_hp(hyperparameterMetricTag=tag))[0] == (
        f"{HP}.hyperparameterMetricTag")


def test_it_accepts_a_metric_tag_of_256_characters() -> None:
    hp = ok(with_hp(hyperparameterMetricTag="m" * 256)).definition.hyperparameters
    assert hp.metric_tag == "m" * 256


@pytest.mark.parametrize("tag", ["timestamp", "trial", "global_step", "checkpoint_path"])
def test_it_rejects_a_metric_tag_that_hypertune_reserves(tag: str) -> None:
    field, message = only_violation(with_hp(hyperparameterMetricTag=tag))
    assert field == f"{HP}.hyperparameterMetricTag"
    assert "reserved" in message


@pytest.mark.parametrize("given,expected", [(4, 4), (4.0, 4), ("4", 4), (100_000, 100_000)])
def test_it_accepts_max_trials_as_int_integral_float_or_decimal_string(
    given: Any, expected: int
) -> None:
    assert ok(with_hp(maxTrials=given)).definition.hyperparameters.max_trials == expected


@pytest.mark.parametrize("value", [0, -1, 100_001, True, 2.5, "four", "4.0", " 4", [4],
                                   float("nan"), float("inf")])
def test_it_rejects_max_trials_that_are_not_integers_from_1_to_100000(value: Any) -> None:
    assert only_violation(with_hp(maxTrials=value))[0] == f"{HP}.maxTrials"


def test_it_says_a_boolean_is_not_an_integer() -> None:
    assert only_violation(with_hp(maxTrials=True))[1] == (
        "maxTrials must be an integer, got a boolean (true)")


@pytest.mark.parametrize("value", [0, 1001])
def test_it_rejects_max_parallel_trials_outside_1_to_1000(value: int) -> None:
    assert only_violation(with_hp(maxParallelTrials=value))[0] == f"{HP}.maxParallelTrials"


def test_it_accepts_max_failed_trials_up_to_max_trials() -> None:
    hp = ok(with_hp(maxTrials=4, maxFailedTrials=4)).definition.hyperparameters
    assert hp.max_failed_trials == 4


def test_it_rejects_max_failed_trials_above_max_trials() -> None:
    assert only_violation(with_hp(maxTrials=4, maxFailedTrials=5)) == (
        f"{HP}.maxFailedTrials", "maxFailedTrials (5) must be ≤ maxTrials (4)")


def test_it_compares_max_failed_trials_with_the_default_of_one_trial() -> None:
    assert only_violation(with_hp(maxTrials=None, maxFailedTrials=2))[0] == (
        f"{HP}.maxFailedTrials")


def test_it_rejects_negative_max_failed_trials() -> None:
    assert only_violation(with_hp(maxFailedTrials=-1))[0] == f"{HP}.maxFailedTrials"


def test_it_rejects_a_non_boolean_early_stopping_flag() -> None:
    assert only_violation(with_hp(enableTrialEarlyStopping="TRUE"))[0] == (
        f"{HP}.enableTrialEarlyStopping")


def test_it_rejects_an_invalid_resume_job_id() -> None:
    assert only_violation(with_hp(resumePreviousJobId="old-job"))[0] == (
        f"{HP}.resumePreviousJobId")


def test_it_lets_a_resumed_job_leave_params_out() -> None:
    hp = ok(with_hp(params=None, resumePreviousJobId="old_job")).definition.hyperparameters
    assert hp.params == ()
    assert hp.resume_previous_job_id == "old_job"


def test_it_lets_a_resumed_job_give_an_empty_params_list() -> None:
    assert ok(with_hp(params=[], resumePreviousJobId="old_job"))


@pytest.mark.parametrize("algorithm", ["ALGORITHM_UNSPECIFIED", "GRID_SEARCH", "RANDOM_SEARCH"])
def test_it_accepts_every_algorithm(algorithm: str) -> None:
    job = with_param({"parameterName": "n", "type": "INTEGER", "minValue": 1, "maxValue": 3},
                     algorithm=algorithm)
    assert ok(job).definition.hyperparameters.algorithm == algorithm


def test_it_rejects_an_unknown_algorithm() -> None:
    field, message = only_violation(with_hp(algorithm="BAYESIAN"))
    assert field == f"{HP}.algorithm"
    assert "must be one of ALGORITHM_UNSPECIFIED, GRID_SEARCH, RANDOM_SEARCH" in message


def test_it_requires_params() -> None:
    assert only_violation(with_hp(params=None)) == (
        f"{HP}.params", "params is required: list at least one parameter to tune")


def test_it_rejects_an_empty_params_list() -> None:
    assert only_violation(with_hp(params=[]))[0] == f"{HP}.params"


def test_it_rejects_params_that_are_not_a_list() -> None:
    field, message = only_violation(with_hp(params={"parameterName": "lr"}))
    assert field == f"{HP}.params"
    assert message.startswith("params must be a list")


def test_it_rejects_more_than_100_params() -> None:
    params = [{"parameterName": f"p{i}", "type": "INTEGER", "minValue": 0, "maxValue": 1}
              for i in range(101)]
    assert only_violation(with_hp(params=params)) == (
        f"{HP}.params", "params has 101 parameters; at most 100 are allowed")


def test_parse_hyperparameters_reports_under_the_given_path() -> None:
    spec = parse_hyperparameters({"params": [{"parameterName": "a", "type": "CATEGORICAL",
                                              "categoricalValues": ["x"]}]})
    assert isinstance(spec, HyperparameterSpec)
    with pytest.raises(SpecError) as info:
        parse_hyperparameters({"maxTrials": 0}, path="hp")
    assert {v.field for v in info.value.violations} == {"hp.maxTrials", "hp.params"}


# ---------------------------------------------------------------------------------------------
# ParameterSpec: names and types


def test_it_requires_a_parameter_name() -> None:
    assert only_violation(with_param({"type": "INTEGER", "minValue": 1, "maxValue": 2})) == (
        f"{HP}.params[0].parameterName", "parameterName is required")


def test_it_rejects_an_empty_parameter_name() -> None:
    job = with_param({"parameterName": "", "type": "INTEGER", "minValue": 1, "maxValue": 2})
    assert only_violation(job) == (f"{HP}.params[0].parameterName",
                                   "parameterName must not be empty")


@pytest.mark.parametrize("name", ["learning_rate", "first-layer-size", "x", "_a", "9lives",
                                  "n" * 128])
def test_it_accepts_parameter_names_that_are_safe_flags(name: str) -> None:
    job = with_param({"parameterName": name, "type": "INTEGER", "minValue": 1, "maxValue": 2})
    assert ok(job).definition.hyperparameters.params[0].name == name


@pytest.mark.parametrize("name", ["-lr", "--lr", "lr rate", "lr=1", "a.b", "lr;rm", "n" * 129,
                                  "ü"])
def test_it_rejects_parameter_names_that_are_not_safe_flags(name: str) -> None:
    job = with_param({"parameterName": name, "type": "INTEGER", "minValue": 1, "maxValue": 2})
    field, message = only_violation(job)
    assert field == f"{HP}.params[0].parameterName"
    assert "command-line flag" in message


def test_it_rejects_duplicate_parameter_names() -> None:
    p = {"parameterName": "lr", "type": "INTEGER", "minValue": 1, "maxValue": 2}
    assert only_violation(with_hp(params=[p, dict(p)])) == (
        f"{HP}.params[1].parameterName",
        'parameterName "lr" is already used by params[0]; parameter names must be unique')


def test_it_rejects_names_that_argparse_would_merge() -> None:
    a = {"parameterName": "num-layers", "type": "INTEGER", "minValue": 1, "maxValue": 2}
    b = {"parameterName": "num_layers", "type": "INTEGER", "minValue": 1, "maxValue": 2}
    field, message = only_violation(with_hp(params=[a, b]))
    assert field == f"{HP}.params[1].parameterName"
    assert "argparse" in message


def test_it_requires_a_parameter_type() -> None:
    field, message = only_violation(with_param({"parameterName": "a"}))
    assert field == f"{HP}.params[0].type"
    assert message == "type is required: one of DOUBLE, INTEGER, CATEGORICAL, DISCRETE"


def test_it_rejects_the_unspecified_parameter_type() -> None:
    job = with_param({"parameterName": "a", "type": "PARAMETER_TYPE_UNSPECIFIED"})
    field, message = only_violation(job)
    assert field == f"{HP}.params[0].type"
    assert "PARAMETER_TYPE_UNSPECIFIED is not allowed" in message


def test_it_rejects_a_lowercase_type_and_suggests_the_enum_name() -> None:
    job = with_param({"parameterName": "a", "type": "integer", "minValue": 1, "maxValue": 2})
    assert only_violation(job) == (
        f"{HP}.params[0].type",
        'type "integer" is not valid: enum values are case-sensitive, did you mean INTEGER?')


def test_it_rejects_an_unknown_parameter_field() -> None:
    job = with_param({"parameterName": "a", "type": "INTEGER", "minValue": 1, "maxValue": 2,
                      "feasiblePoints": [1]})
    assert only_violation(job)[0] == f"{HP}.params[0].feasiblePoints"


@pytest.mark.parametrize("item", [None, "lr", 3, ["lr"]])
def test_it_rejects_a_param_that_is_not_an_object(item: Any) -> None:
    field, message = only_violation(with_hp(params=[item]))
    assert field == f"{HP}.params[0]"
    assert message.startswith("params[0] must be an object, got ")


# ---------------------------------------------------------------------------------------------
# ParameterSpec: DOUBLE and INTEGER


@pytest.mark.parametrize("missing", ["minValue", "maxValue"])
@pytest.mark.parametrize("ptype", ["DOUBLE", "INTEGER"])
def test_it_requires_both_bounds_for_numeric_params(missing: str, ptype: str) -> None:
    p = {"parameterName": "a", "type": ptype, "minValue": 1, "maxValue": 2}
    del p[missing]
    assert only_violation(with_param(p)) == (
        f"{HP}.params[0].{missing}", f"{missing} is required for {ptype} parameters")


def test_it_rejects_min_value_above_max_value() -> None:
    job = with_param({"parameterName": "a", "type": "DOUBLE", "minValue": 10, "maxValue": 5})
    assert only_violation(job) == (f"{HP}.params[0].minValue",
                                   "minValue (10) must be ≤ maxValue (5)")


def test_it_accepts_min_value_equal_to_max_value() -> None:
    job = with_param({"parameterName": "a", "type": "DOUBLE", "minValue": 0.5, "maxValue": 0.5})
    p = ok(job).definition.hyperparameters.params[0]
    assert (p.min_value, p.max_value) == (0.5, 0.5)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "NaN",
                                   "Infinity", 10**400])
def test_it_rejects_non_finite_bounds(value: Any) -> None:
    job = with_param({"parameterName": "a", "type": "DOUBLE", "minValue": value, "maxValue": 1})
    assert only_violation(job)[0] == f"{HP}.params[0].minValue"


@pytest.mark.parametrize("value", ["low", True, None, [1], {"v": 1}, "1,5"])
def test_it_rejects_bounds_that_are_not_numbers(value: Any) -> None:
    job = with_param({"parameterName": "a", "type": "DOUBLE", "minValue": 0, "maxValue": value})
    field, message = only_violation(job)
    assert field == f"{HP}.params[0].maxValue"
    assert message.startswith("maxValue must be a number, got ")


def test_it_accepts_numeric_strings_for_bounds_like_proto3_json() -> None:
    job = with_param({"parameterName": "a", "type": "DOUBLE", "minValue": "1e-4",
                      "maxValue": "0.5"})
    p = ok(job).definition.hyperparameters.params[0]
    assert (p.min_value, p.max_value) == (1e-4, 0.5)


def test_it_rejects_non_integral_bounds_for_integer_params() -> None:
    job = with_param({"parameterName": "a", "type": "INTEGER", "minValue": 1.5, "maxValue": 4})
    assert only_violation(job) == (f"{HP}.params[0].minValue",
                                   "minValue (1.5) must be an integer for INTEGER parameters")


def test_it_accepts_integral_floats_as_integer_bounds() -> None:
    job = with_param({"parameterName": "a", "type": "INTEGER", "minValue": 40.0,
                      "maxValue": 400.0})
    assert ok(job).definition.hyperparameters.params[0].max_value == 400.0


@pytest.mark.parametrize("field,value", [("categoricalValues", ["a"]), ("discreteValues", [1])])
def test_it_rejects_value_lists_on_numeric_params(field: str, value: list[Any]) -> None:
    job = with_param({"parameterName": "a", "type": "DOUBLE", "minValue": 0, "maxValue": 1,
                      field: value})
    assert only_violation(job) == (f"{HP}.params[0].{field}",
                                   f"{field} must not be set for DOUBLE parameters")


# ---------------------------------------------------------------------------------------------
# ParameterSpec: CATEGORICAL


def cat(values: Any, **extra: Any) -> dict[str, Any]:
    return with_param({"parameterName": "c", "type": "CATEGORICAL", "categoricalValues": values,
                       **extra})


def test_it_requires_categorical_values() -> None:
    job = with_param({"parameterName": "c", "type": "CATEGORICAL"})
    assert only_violation(job)[0] == f"{HP}.params[0].categoricalValues"


def test_it_rejects_an_empty_category_list() -> None:
    assert only_violation(cat([]))[0] == f"{HP}.params[0].categoricalValues"


def test_it_rejects_duplicate_categories() -> None:
    assert only_violation(cat(["a", "b", "a"])) == (
        f"{HP}.params[0].categoricalValues[2]",
        'categoricalValues[2] "a" is a duplicate of categoricalValues[0]; categories must be '
        "unique")


def test_it_rejects_more_than_1000_categories() -> None:
    assert only_violation(cat([f"v{i}" for i in range(1001)])) == (
        f"{HP}.params[0].categoricalValues",
        "categoricalValues has 1001 values; at most 1000 are allowed")


def test_it_accepts_1000_categories() -> None:
    values = [f"c{i:04d}" for i in range(1000)]
    assert len(ok(cat(values)).definition.hyperparameters.params[0].categorical_values) == 1000


def test_1000_categories_of_1024_characters_are_too_large_for_a_trials_environment() -> None:
    """Each trial gets the whole trainingInput in TF_CONFIG, one environment string that Linux
    caps at 128 KiB: a 1 MB spec once passed and then failed every trial with E2BIG."""
    values = [f"{i:04d}" + "x" * 1020 for i in range(1000)]
    assert only_violation(cat(values))[0] == "trainingInput"


def test_it_rejects_a_category_longer_than_1024_characters() -> None:
    assert only_violation(cat(["a", "x" * 1025]))[0] == f"{HP}.params[0].categoricalValues[1]"


def test_it_tells_the_user_to_quote_a_yaml_boolean_category() -> None:
    data = load_config(
        "jobId: j\ntrainingInput:\n  pythonModule: t\n  hyperparameters:\n    params:\n"
        "    - parameterName: shuffle\n      type: CATEGORICAL\n"
        "      categoricalValues: [yes, 'no', 3]\n")
    found = violations(data)
    assert set(found) == {f"{HP}.params[0].categoricalValues[0]",
                          f"{HP}.params[0].categoricalValues[2]"}
    message = found[f"{HP}.params[0].categoricalValues[0]"]
    assert "must be a string, got a boolean (true)" in message
    assert "yes/no/on/off" in message and "quote" in message


def test_it_still_finds_duplicate_categories_next_to_a_wrongly_typed_one() -> None:
    assert set(violations(cat([True, "x", "x"]))) == {
        f"{HP}.params[0].categoricalValues[0]", f"{HP}.params[0].categoricalValues[2]"}


@pytest.mark.parametrize("field", ["minValue", "maxValue"])
def test_it_rejects_bounds_on_categorical_params(field: str) -> None:
    assert only_violation(cat(["a"], **{field: 1})) == (
        f"{HP}.params[0].{field}", f"{field} must not be set for CATEGORICAL parameters")


def test_it_rejects_a_scale_type_on_categorical_params() -> None:
    assert only_violation(cat(["a"], scaleType="UNIT_LINEAR_SCALE"))[0] == (
        f"{HP}.params[0].scaleType")


def test_it_accepts_scale_type_none_on_categorical_params() -> None:
    assert ok(cat(["a", "b"], scaleType="NONE"))


def test_it_rejects_discrete_values_on_categorical_params() -> None:
    assert only_violation(cat(["a"], discreteValues=[1]))[0] == f"{HP}.params[0].discreteValues"


def test_it_rejects_categorical_values_that_are_not_a_list() -> None:
    assert only_violation(cat("a,b"))[1] == (
        'categoricalValues must be a list, got a string ("a,b")')


# ---------------------------------------------------------------------------------------------
# ParameterSpec: DISCRETE


def disc(values: Any, **extra: Any) -> dict[str, Any]:
    return with_param({"parameterName": "d", "type": "DISCRETE", "discreteValues": values,
                       **extra})


def test_it_requires_discrete_values() -> None:
    job = with_param({"parameterName": "d", "type": "DISCRETE"})
    assert only_violation(job)[0] == f"{HP}.params[0].discreteValues"


def test_it_rejects_an_empty_discrete_list() -> None:
    assert only_violation(disc([]))[0] == f"{HP}.params[0].discreteValues"


def test_it_rejects_discrete_values_that_are_not_increasing() -> None:
    assert only_violation(disc([1, 3, 2])) == (
        f"{HP}.params[0].discreteValues[2]",
        "discreteValues must be strictly increasing, but discreteValues[2] (2) is not greater "
        "than discreteValues[1] (3)")


def test_it_rejects_repeated_discrete_values() -> None:
    assert only_violation(disc([1, 2, 2]))[0] == f"{HP}.params[0].discreteValues[2]"


def test_it_rejects_discrete_values_closer_than_1e_10() -> None:
    field, message = only_violation(disc([1.0, 1.0 + 1e-11]))
    assert field == f"{HP}.params[0].discreteValues[1]"
    assert "at least 1e-10 apart" in message


def test_it_rejects_more_than_1000_discrete_values() -> None:
    assert only_violation(disc(list(range(1001)))) == (
        f"{HP}.params[0].discreteValues",
        "discreteValues has 1001 values; at most 1000 are allowed")


def test_it_rejects_non_finite_or_non_numeric_discrete_values() -> None:
    assert set(violations(disc([1, float("nan"), "x", True, 5]))) == {
        f"{HP}.params[0].discreteValues[1]", f"{HP}.params[0].discreteValues[2]",
        f"{HP}.params[0].discreteValues[3]"}


def test_it_ignores_bounds_on_discrete_params() -> None:
    p = ok(disc([1, 2, 4], minValue=100, maxValue=0)).definition.hyperparameters.params[0]
    assert (p.min_value, p.max_value, p.discrete_values) == (None, None, (1.0, 2.0, 4.0))


def test_it_rejects_categorical_values_on_discrete_params() -> None:
    assert only_violation(disc([1], categoricalValues=["a"]))[0] == (
        f"{HP}.params[0].categoricalValues")


# ---------------------------------------------------------------------------------------------
# ParameterSpec: scaleType


def test_it_rejects_an_unknown_scale_type() -> None:
    job = with_param({"parameterName": "a", "type": "DOUBLE", "minValue": 1, "maxValue": 2,
                      "scaleType": "LOG"})
    assert only_violation(job)[0] == f"{HP}.params[0].scaleType"


def test_it_rejects_scale_type_unspecified_which_ml_v1_calls_none() -> None:
    job = with_param({"parameterName": "a", "type": "DOUBLE", "minValue": 1, "maxValue": 2,
                      "scaleType": "SCALE_TYPE_UNSPECIFIED"})
    assert "NONE" in only_violation(job)[1]


def test_it_rejects_log_scale_with_zero_min() -> None:
    job = with_param({"parameterName": "lr", "type": "DOUBLE", "minValue": 0, "maxValue": 1,
                      "scaleType": "UNIT_LOG_SCALE"})
    field, message = only_violation(job)
    assert field == f"{HP}.params[0].minValue"
    assert message.startswith("minValue (0) must be greater than 0 because scaleType is "
                              "UNIT_LOG_SCALE")


def test_it_rejects_reverse_log_scale_with_a_negative_min() -> None:
    job = with_param({"parameterName": "m", "type": "INTEGER", "minValue": -3, "maxValue": 10,
                      "scaleType": "UNIT_REVERSE_LOG_SCALE"})
    assert only_violation(job)[0] == f"{HP}.params[0].minValue"


def test_it_rejects_log_scale_over_discrete_values_starting_at_zero() -> None:
    assert only_violation(disc([0, 1, 10], scaleType="UNIT_LOG_SCALE"))[0] == (
        f"{HP}.params[0].discreteValues[0]")


def test_it_accepts_log_scales_over_strictly_positive_spaces() -> None:
    p = ok(disc([0.1, 1, 10], scaleType="UNIT_LOG_SCALE")).definition.hyperparameters
    assert p.params[0].is_log


# ---------------------------------------------------------------------------------------------
# GRID_SEARCH


def test_it_rejects_a_double_param_under_grid_search() -> None:
    job = with_hp(algorithm="GRID_SEARCH", params=[
        {"parameterName": "n", "type": "INTEGER", "minValue": 1, "maxValue": 3},
        {"parameterName": "lr", "type": "DOUBLE", "minValue": 0.1, "maxValue": 1},
    ])
    field, message = only_violation(job)
    assert field == f"{HP}.params[1].type"
    assert "GRID_SEARCH" in message


def test_it_rejects_a_grid_of_more_than_ten_million_points() -> None:
    params = [{"parameterName": f"p{i}", "type": "INTEGER", "minValue": 1, "maxValue": 10}
              for i in range(7)] + [
              {"parameterName": "c", "type": "CATEGORICAL", "categoricalValues": ["a", "b"]}]
    field, message = only_violation(with_hp(algorithm="GRID_SEARCH", params=params))
    assert field == f"{HP}.params"
    assert "10,000,000" in message


def test_it_accepts_a_grid_of_exactly_ten_million_points() -> None:
    params = [{"parameterName": f"p{i}", "type": "INTEGER", "minValue": 1, "maxValue": 10}
              for i in range(7)]
    assert ok(with_hp(algorithm="GRID_SEARCH", params=params))


def test_it_does_not_overflow_on_a_huge_integer_grid() -> None:
    params = [{"parameterName": f"p{i}", "type": "INTEGER", "minValue": -1e300, "maxValue": 1e300}
              for i in range(100)]
    assert only_violation(with_hp(algorithm="GRID_SEARCH", params=params))[0] == f"{HP}.params"


# ---------------------------------------------------------------------------------------------
# Reporting


def test_it_reports_every_violation_at_once() -> None:
    job = {
        "jobId": "bad-id",
        "labels": {"Team": "x"},
        "trainingInput": {
            "pythonModule": "trainer/task.py",
            "packageUris": ["gs://b/p.tar.gz"],
            "hyperparameters": {
                "goal": "maximize",
                "maxTrials": 0,
                "maxTrails": 3,
                "params": [
                    {"parameterName": "a", "type": "DOUBLE", "minValue": 10, "maxValue": 5},
                    {"parameterName": "b", "type": "integer", "minValue": 1, "maxValue": 2},
                    {"parameterName": "c", "type": "CATEGORICAL", "categoricalValues": []},
                ],
            },
        },
    }
    assert set(violations(job)) == {
        "jobId", "labels.Team", "trainingInput.pythonModule", "trainingInput.packageUris[0]",
        f"{HP}.goal", f"{HP}.maxTrials", f"{HP}.maxTrails", f"{HP}.params[0].minValue",
        f"{HP}.params[1].type", f"{HP}.params[2].categoricalValues",
    }


def test_spec_error_text_reads_like_google_field_violations() -> None:
    with pytest.raises(SpecError) as info:
        parse_job(with_hp(maxTrials=0))
    assert str(info.value) == (
        "Field: trainingInput.hyperparameters.maxTrials Error: maxTrials (0) must be at least 1")


def test_it_summarises_violations_past_200() -> None:
    with pytest.raises(SpecError) as info:
        parse_job(cat([i for i in range(300)]))
    assert len(info.value.violations) == 201
    assert info.value.violations[-1].description == "... and 100 more violations"


def test_it_quotes_odd_keys_in_paths() -> None:
    job = make_job()
    job["trainingInput"]["hyperparameters"]["max trials"] = 3
    assert f'{HP}["max trials"]' in violations(job)


# ---------------------------------------------------------------------------------------------
# Robustness: nothing but SpecError, for any JSON-like value


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(10 if depth < 4 else 7)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, 1, -1, 7, 10**30, 2**63, -(2**63) - 1])
    if choice == 3:
        return rng.choice([0.0, 0.5, -2.5, 1e308, float("nan"), float("inf"), 4.0])
    if choice == 4:
        return rng.choice(["", "x", "INTEGER", "DOUBLE", "GRID_SEARCH", "CUSTOM", "3600s",
                           "gs://b/x", "/abs", "file:///a", "7", "1e-3", "a.b", "-x", "é\x00"])
    if choice in (5, 6):
        return rng.choice(["trainer.task", "MAXIMIZE", "UNIT_LOG_SCALE", "lr"])
    if choice == 7:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["jobId", "labels", "trainingInput", "hyperparameters", "params", "type", "minValue",
            "maxValue", "parameterName", "categoricalValues", "discreteValues", "scaleType",
            "algorithm", "maxTrials", "workerCount", "scaleTier", "masterConfig", "x", 3, None]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def mutate(rng: random.Random, value: Any) -> Any:
    """Replace one randomly chosen node of ``value`` with a random value."""
    if not isinstance(value, dict | list) or not value or rng.random() < 0.25:
        return random_value(rng)
    if isinstance(value, dict):
        key = rng.choice(list(value))
        if rng.random() < 0.1:
            value = dict(value)
            del value[key]
            return value
        return {**value, key: mutate(rng, value[key])}
    i = rng.randrange(len(value))
    return value[:i] + [mutate(rng, value[i])] + value[i + 1:]


def test_it_raises_only_spec_error_for_random_json_like_values() -> None:
    rng = random.Random(1234)
    base = load_config(DOCS_EXAMPLE)
    base["jobId"] = "job_1"
    base["labels"] = {"team": "ml"}
    outcomes = {"ok": 0, "error": 0}
    for i in range(600):
        if i % 3 == 0:
            data = random_value(rng)
        else:
            data = copy.deepcopy(base)
            for _ in range(rng.randint(1, 3)):
                data = mutate(rng, data)
        for require in (True, False):
            try:
                parse_job(data, require_job_id=require)
                outcomes["ok"] += 1
            except SpecError as exc:
                assert exc.violations
                assert all(isinstance(v.field, str) and v.description for v in exc.violations)
                outcomes["error"] += 1
        try:
            parse_hyperparameters(data)
        except SpecError:
            pass
    assert outcomes["ok"] > 0 and outcomes["error"] > 0


def test_it_survives_deeply_nested_and_self_referencing_values() -> None:
    deep: Any = []
    for _ in range(50_000):
        deep = [deep]
    loop: list[Any] = []
    loop.append(loop)
    for bad in (deep, loop):
        for job in (make_job(args=bad), with_hp(params=bad), make_job(labels=bad),
                    make_job(masterConfig={"containerArgs": bad})):
            with pytest.raises(SpecError):
                parse_job(job)


def test_a_parsed_spec_is_plain_data() -> None:
    hp = parse_job(load_config(DOCS_EXAMPLE), require_job_id=False).definition.hyperparameters
    for p in hp.params:
        for x in (p.min_value, p.max_value, *p.discrete_values):
            assert x is None or (type(x) is float and math.isfinite(x))


def test_the_spec_package_imports_without_django() -> None:
    root = Path(__file__).resolve().parents[3]
    code = ("import sys, hpdash.core.spec, hpdash.core.spec.parse, hpdash.core.spec.space; "
            "assert 'django' not in sys.modules, 'django imported'")
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


# ---------------------------------------------------------------------------------------------
# Jobs that validate can run


def _hp_with(param: dict[str, Any]) -> dict[str, Any]:
    return {"goal": "MAXIMIZE", "maxTrials": 2, "params": [param]}


def test_a_double_range_that_overflows_is_refused():
    with pytest.raises(SpecError) as exc:
        parse_hyperparameters(_hp_with({"parameterName": "x", "type": "DOUBLE",
                                        "minValue": -1.7e308, "maxValue": 1.7e308}))
    assert exc.value.violations[0].field.endswith("params[0].maxValue")
    assert "overflows a double" in exc.value.violations[0].description


@pytest.mark.parametrize("name", ["job-dir", "job_dir"])
def test_a_parameter_may_not_replace_hpdashs_own_job_dir_flag(name):
    with pytest.raises(SpecError) as exc:
        parse_hyperparameters(_hp_with({"parameterName": name, "type": "DOUBLE",
                                        "minValue": 0, "maxValue": 1}))
    assert "would replace hpdash's own --job-dir flag" in str(exc.value)


def test_a_training_input_too_large_for_a_trials_environment_is_refused():
    job = {"jobId": "j", "trainingInput": {
        "pythonModule": "trainer.task", "args": ["--blob=" + "x" * 120_000],
        "hyperparameters": _hp_with({"parameterName": "x", "type": "DOUBLE", "minValue": 0,
                                     "maxValue": 1})}}
    with pytest.raises(SpecError) as exc:
        parse_job(job)
    assert exc.value.violations[0].field == "trainingInput"
    assert "TF_CONFIG" in exc.value.violations[0].description


def test_a_double_at_its_bound_is_exactly_the_bound_on_every_scale():
    from hpdash.core.spec.space import format_value, from_unit
    from hpdash.core.spec.types import ParameterSpec

    for scale in ("UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE"):
        p = ParameterSpec("lr", "DOUBLE", 0.001, 0.1, scale_type=scale)
        assert from_unit(p, 1.0) == 0.1 and format_value(p, from_unit(p, 1.0)) == "0.1"
        assert from_unit(p, 0.0) == 0.001
