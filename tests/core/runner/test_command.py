import json

from hpdash.core.runner.command import build_argv, build_env, trial_job_dir
from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec, ParamValue

SPEC = HyperparameterSpec(params=(
    ParameterSpec("hidden1", "INTEGER", 40, 400),
    ParameterSpec("learning_rate", "DOUBLE", 1e-4, 1.0, scale_type="UNIT_LOG_SCALE"),
    ParameterSpec("numRnnCells", "DISCRETE", discrete_values=(1.0, 2.0, 4.0)),
    ParameterSpec("cell", "CATEGORICAL", categorical_values=("256 128 64", "LSTM")),
))
PARAMS: dict[str, ParamValue] = {
    "hidden1": 123, "learning_rate": 0.072136064767837529, "numRnnCells": 2.0,
    "cell": "256 128 64"}


def test_argv_puts_user_args_then_job_dir_then_one_flag_per_param_in_spec_order():
    argv = build_argv("/py", "trainer.task", args=["--train-steps", "100"],
                      trial_dir="/data/out/3", spec=SPEC, params=PARAMS)
    assert argv == [
        "/py", "-m", "trainer.task", "--train-steps", "100", "--job-dir", "/data/out/3",
        "--hidden1=123", "--learning_rate=0.07213606476783753", "--numRnnCells=2",
        "--cell=256 128 64",
    ]


def test_argv_has_no_job_dir_when_the_job_has_none():
    argv = build_argv("/py", "m", args=[], trial_dir=None, spec=SPEC, params=PARAMS)
    assert "--job-dir" not in argv


def test_trial_job_dir_accepts_file_uris_and_trailing_slashes():
    assert trial_job_dir("file:///data/out/", 7) == "/data/out/7"
    assert trial_job_dir("/data/out", 7) == "/data/out/7"


def test_trial_job_dir_decodes_file_localhost_and_percent_escapes():
    # Once reached the trainer as the relative path "localhost/srv/out/1".
    assert trial_job_dir("file://localhost/srv/out", 1) == "/srv/out/1"
    assert trial_job_dir("file:///srv/my%20out", 2) == "/srv/my out/2"


def test_env_carries_the_ai_platform_trial_variables():
    env = build_env({"PATH": "/bin", "DATABASE_URL": "postgres://secret", "HPDASH_X": "1"},
                    job_id="census_1", trial_id=4, metric_tag="accuracy",
                    metric_file="/tmp/m/output.metrics",
                    described={"python_module": "trainer.task", "job_dir": "/out"},
                    pythonpath=["/pkgs/a"])
    tf_config = json.loads(env["TF_CONFIG"])
    assert tf_config["task"] == {"type": "master", "index": 0, "trial": "4", "cloud": "hpdash"}
    assert tf_config["environment"] == "cloud"
    assert tf_config["job"] == {"python_module": "trainer.task", "job_dir": "/out"}
    assert "master" in tf_config["cluster"]
    assert env["CLOUD_ML_JOB_ID"] == "census_1"
    assert env["CLOUD_ML_TRIAL_ID"] == "4"
    assert env["CLOUD_ML_HP_METRIC_TAG"] == "accuracy"
    assert env["CLOUD_ML_HP_METRIC_FILE"] == "/tmp/m/output.metrics"
    assert env["PYTHONPATH"] == "/pkgs/a"
    assert env["PATH"] == "/bin"


def test_env_hides_the_services_own_secrets_from_trainers():
    env = build_env({"DATABASE_URL": "postgres://u:pw@h/db", "REDIS_URL": "redis://h",
                     "SECRET_KEY": "k", "HPDASH_DATA_DIR": "/var", "DJANGO_SETTINGS_MODULE": "x"},
                    job_id="j", trial_id=1, metric_tag="t", metric_file="/m",
                    described={})
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "HPDASH_DATA_DIR",
                 "DJANGO_SETTINGS_MODULE"):
        assert name not in env
