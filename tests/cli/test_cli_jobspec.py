"""gcloud's precedence: the --config Job, overridden by flags, args after `--` replacing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hpdash.cli.jobspec import (
    SubmitOptions,
    UsageError,
    build_job,
    load_config,
    parse_labels,
    scale_tier,
)
from hpdash.cli.main import split_user_args

CONFIG = {
    "jobId": "from_file",
    "labels": {"team": "file"},
    "trainingInput": {
        "pythonModule": "trainer.file",
        "args": ["--epochs=5", "--greeting=file"],
        "region": "file-region",
        "scaleTier": "CUSTOM",
        "masterType": "complex_model_m",
        "packageUris": ["/from/file.tar.gz"],
        "hyperparameters": {"maxTrials": 3},
    },
}


def test_the_config_file_is_sent_as_is_apart_from_the_positional_job_id():
    job = build_job(CONFIG, SubmitOptions(job_id="cli_job"))
    assert job["jobId"] == "cli_job"
    assert job["labels"] == {"team": "file"}
    assert job["trainingInput"] == CONFIG["trainingInput"]
    assert CONFIG["jobId"] == "from_file", "the loaded config is not mutated"


def test_flags_override_the_config_files_training_input_fields():
    opts = SubmitOptions(job_id="j", module_name="trainer.cli", region="cli-region",
                         scale_tier="basic-gpu", runtime_version="2.11", python_version="3.7",
                         job_dir="/out/j")
    ti = build_job(CONFIG, opts)["trainingInput"]
    assert ti["pythonModule"] == "trainer.cli"
    assert ti["region"] == "cli-region"
    assert ti["scaleTier"] == "BASIC_GPU"
    assert ti["runtimeVersion"] == "2.11" and ti["pythonVersion"] == "3.7"
    assert ti["jobDir"] == "/out/j"
    assert ti["masterType"] == "complex_model_m", "fields without a flag are kept"
    assert ti["hyperparameters"] == {"maxTrials": 3}


def test_args_after_double_dash_replace_the_config_args_instead_of_merging():
    job = build_job(CONFIG, SubmitOptions(job_id="j", user_args=["--epochs=2"]))
    assert job["trainingInput"]["args"] == ["--epochs=2"]


def test_without_double_dash_the_config_args_are_kept_and_a_bare_double_dash_clears_them():
    assert build_job(CONFIG, SubmitOptions(job_id="j"))["trainingInput"]["args"] == [
        "--epochs=5", "--greeting=file"]
    assert build_job(CONFIG, SubmitOptions(job_id="j", user_args=[]))["trainingInput"][
        "args"] == []


def test_the_command_line_splits_at_the_first_double_dash_only():
    own, user = split_user_args(["jobs", "submit", "training", "j", "--", "--a", "--", "b"])
    assert own == ["jobs", "submit", "training", "j"]
    assert user == ["--a", "--", "b"]
    assert split_user_args(["jobs", "list"]) == (["jobs", "list"], None)


def test_labels_flags_replace_the_config_labels():
    job = build_job(CONFIG, SubmitOptions(job_id="j", labels=["owner=alice,env=dev"]))
    assert job["labels"] == {"owner": "alice", "env": "dev"}


def test_packages_replace_the_config_package_uris_and_local_paths_become_absolute(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    opts = SubmitOptions(job_id="j", packages=["dist/a.tar.gz,file:///abs/b.whl", "c"])
    uris = build_job(CONFIG, opts, built_packages=["/staged/t.tar.gz"])["trainingInput"][
        "packageUris"]
    assert uris == [str(tmp_path / "dist/a.tar.gz"), "file:///abs/b.whl", str(tmp_path / "c"),
                    "/staged/t.tar.gz"]


def test_a_relative_job_dir_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert build_job({}, SubmitOptions(job_id="j", job_dir="out"))["trainingInput"][
        "jobDir"] == os.path.join(str(tmp_path), "out")


def test_without_a_config_the_job_is_built_from_flags_alone():
    job = build_job({}, SubmitOptions(job_id="j", module_name="m", user_args=["--x"]))
    assert job == {"jobId": "j", "trainingInput": {"pythonModule": "m", "args": ["--x"]}}


@pytest.mark.parametrize(("choice", "enum"), [
    ("basic", "BASIC"), ("standard-1", "STANDARD_1"), ("premium-1", "PREMIUM_1"),
    ("basic-gpu", "BASIC_GPU"), ("basic-tpu", "BASIC_TPU"), ("custom", "CUSTOM"),
    ("STANDARD_1", "STANDARD_1"),
])
def test_scale_tier_choices_map_to_the_api_enum(choice: str, enum: str):
    assert scale_tier(choice) == enum


def test_an_unknown_scale_tier_names_the_choices():
    with pytest.raises(UsageError, match="basic, standard-1, premium-1"):
        scale_tier("huge")


def test_labels_parse_comma_separated_and_repeated_flags_later_wins():
    assert parse_labels(["a=1,b=2", "b=3", "empty="]) == {"a": "1", "b": "3", "empty": ""}


@pytest.mark.parametrize("bad", ["novalue", "=v", "a=1,oops"])
def test_labels_without_key_value_are_refused(bad: str):
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_labels([bad])


def test_the_config_may_be_yaml_or_json(tmp_path: Path):
    y = tmp_path / "c.yaml"
    y.write_text("trainingInput:\n  args: [--a]\n  hyperparameters:\n"
                 "    enableTrialEarlyStopping: True\n")
    assert load_config(str(y)) == {"trainingInput": {
        "args": ["--a"], "hyperparameters": {"enableTrialEarlyStopping": True}}}
    j = tmp_path / "c.json"
    j.write_text(json.dumps(CONFIG))
    assert load_config(str(j)) == CONFIG
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_config(str(empty)) == {}


@pytest.mark.parametrize(("text", "match"), [
    ("- a\n- b\n", "must be a YAML/JSON mapping at the top level"),
    ("trainingInput: [1]\n", "trainingInput .* must be a mapping"),
    ("a: [\n", "not valid YAML"),
])
def test_a_config_that_is_not_a_job_is_a_usage_error(tmp_path: Path, text: str, match: str):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(UsageError, match=match):
        load_config(str(p))


def test_a_missing_config_file_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match="cannot read"):
        load_config(str(tmp_path / "nope.yaml"))


def test_a_billion_laughs_config_is_refused_without_expanding_it(tmp_path: Path):
    """The CLI loads --config with the server's hardened loader (a plain safe_load took
    1.3 GB on this document)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\ntrainingInput: *a8\n")
    with pytest.raises(UsageError, match="alias"):
        load_config(str(bomb))


# --- gcloud's machine flags


MACHINES = SubmitOptions(
    job_id="j", scale_tier="custom", master_machine_type="n1-standard-8",
    master_accelerator="count=2,type=nvidia-tesla-t4", worker_machine_type="n1-standard-4",
    worker_count=3, worker_accelerator="type=NVIDIA_TESLA_K80",
    parameter_server_machine_type="n1-highmem-2", parameter_server_count=1,
    parameter_server_accelerator="type=nvidia-tesla-p4,count=4", use_chief_in_tf_config=True)


def test_the_machine_flags_map_onto_training_input_as_gcloud_does():
    assert build_job({}, MACHINES)["trainingInput"] == {
        "scaleTier": "CUSTOM",
        "masterType": "n1-standard-8",
        "masterConfig": {"acceleratorConfig": {"count": "2", "type": "NVIDIA_TESLA_T4"}},
        "workerType": "n1-standard-4",
        "workerCount": "3",
        "workerConfig": {"acceleratorConfig": {"count": "1", "type": "NVIDIA_TESLA_K80"}},
        "parameterServerType": "n1-highmem-2",
        "parameterServerCount": "1",
        "parameterServerConfig": {"acceleratorConfig": {"count": "4", "type": "NVIDIA_TESLA_P4"}},
        "useChiefInTfConfig": True,
    }


def test_machine_flags_override_the_config_and_keep_the_rest_of_its_replica_configs():
    config = {"trainingInput": {
        "scaleTier": "CUSTOM", "masterType": "complex_model_m", "workerType": "complex_model_m",
        "workerCount": 9,
        "masterConfig": {"acceleratorConfig": {"count": "8", "type": "NVIDIA_TESLA_V100"},
                         "diskConfig": {"bootDiskSizeGb": 200}}}}
    ti = build_job(config, SubmitOptions(
        job_id="j", master_machine_type="n1-standard-8", worker_count=2,
        master_accelerator="type=nvidia-tesla-t4"))["trainingInput"]
    assert ti["masterType"] == "n1-standard-8"
    assert ti["workerCount"] == "2" and ti["workerType"] == "complex_model_m"
    assert ti["masterConfig"] == {"acceleratorConfig": {"count": "1", "type": "NVIDIA_TESLA_T4"},
                                  "diskConfig": {"bootDiskSizeGb": 200}}
    assert config["trainingInput"]["masterType"] == "complex_model_m", "config not mutated"


def test_machine_flags_do_not_set_the_scale_tier_like_gcloud():
    ti = build_job({}, SubmitOptions(job_id="j", master_machine_type="n1-standard-8",
                                     worker_machine_type="n1-standard-4", worker_count=2))[
        "trainingInput"]
    assert "scaleTier" not in ti
    assert ti["workerCount"] == "2"


@pytest.mark.parametrize("value,why", [
    ("count=2", "type is required"),
    ("", "type is required"),
    ("type=nvidia-tesla-z9", "invalid type 'nvidia-tesla-z9' (choose from nvidia-tesla-k80,"),
    ("type=accelerator-type-unspecified", "invalid type"),
    ("count=0,type=nvidia-tesla-t4", "count must be greater than 0"),
    ("count=two,type=nvidia-tesla-t4", "count must be an integer, got 'two'"),
    ("type=nvidia-tesla-t4,gpus=2", "expected count=N,type=TYPE, got 'gpus=2'"),
    ("nvidia-tesla-t4", "expected count=N,type=TYPE"),
    ("type=nvidia-tesla-t4,type=nvidia-tesla-k80", "type is given twice"),
])
@pytest.mark.parametrize("flag,field", [("--master-accelerator", "master_accelerator"),
                                        ("--worker-accelerator", "worker_accelerator")])
def test_a_bad_accelerator_is_refused_naming_the_flag(value: str, why: str, flag: str,
                                                      field: str):
    accelerator: dict[str, Any] = {field: value}
    opts = SubmitOptions(job_id="j", worker_machine_type="w", worker_count=1, **accelerator)
    with pytest.raises(UsageError) as exc:
        build_job({}, opts)
    assert str(exc.value).startswith(f"{flag}: ")
    assert why in str(exc.value)


@pytest.mark.parametrize("opts,flag,needs", [
    (SubmitOptions(job_id="j", worker_machine_type="w"), "--worker-machine-type",
     "--worker-count"),
    (SubmitOptions(job_id="j", worker_count=2), "--worker-count", "--worker-machine-type"),
    (SubmitOptions(job_id="j", parameter_server_machine_type="p"),
     "--parameter-server-machine-type", "--parameter-server-count"),
    (SubmitOptions(job_id="j", parameter_server_count=1), "--parameter-server-count",
     "--parameter-server-machine-type"),
])
def test_a_machine_type_needs_its_count_and_a_count_its_machine_type(
        opts: SubmitOptions, flag: str, needs: str):
    with pytest.raises(UsageError, match=f"^{flag} needs {needs} "):
        build_job({}, opts)


def test_the_other_half_of_a_machine_pair_may_come_from_the_config():
    config = {"trainingInput": {"workerCount": "4", "parameterServerType": "ps"}}
    ti = build_job(config, SubmitOptions(job_id="j", worker_machine_type="w",
                                         parameter_server_count=2))["trainingInput"]
    assert (ti["workerType"], ti["workerCount"]) == ("w", "4")
    assert (ti["parameterServerType"], ti["parameterServerCount"]) == ("ps", "2")


def test_the_custom_tier_needs_a_master_machine_type_from_the_flag_or_the_config():
    with pytest.raises(UsageError, match="^--master-machine-type is required when "
                                         "--scale-tier is custom"):
        build_job({}, SubmitOptions(job_id="j", scale_tier="custom"))
    ti = build_job({"trainingInput": {"masterType": "n1-standard-4"}},
                   SubmitOptions(job_id="j", scale_tier="custom"))["trainingInput"]
    assert ti["scaleTier"] == "CUSTOM" and ti["masterType"] == "n1-standard-4"
