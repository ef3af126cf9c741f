"""Migrations: they build the schema from an empty database, carry the first release's data
forward, run backwards, and match the models (no missing migration)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

ROOT = Path(__file__).resolve().parents[1]
FIRST = [("hpdash", "0001_initial")]
HP = {"goal": "MINIMIZE", "hyperparameterMetricTag": "loss", "maxTrials": 3,
      "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.001, "maxValue": 0.1,
                  "scaleType": "UNIT_LOG_SCALE"}]}


def _latest(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "hpdash"]


def _manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_migrate_builds_an_empty_database_and_runs_backwards_and_forwards(tmp_path):
    """What a first `make run` does: `manage.py migrate` on a data dir with no database."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(HPDASH_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="hpdash.settings")
    _manage(env, "migrate", "--noinput")
    db = tmp_path / "hpdash.sqlite3"
    with sqlite3.connect(db) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"hpdash_job", "hpdash_trial", "hpdash_measurement", "hpdash_apitoken",
            "hpdash_project", "hpdash_project_members"} <= tables
    # The plan, then every hpdash migration reversed and applied again: the same commands, run
    # by one interpreter (a process of their own each took seconds to start).
    plan, back, forth = _manage(env, "shell", "-c", (
        "from django.core.management import call_command as c\n"
        "c('showmigrations', '--plan')\nprint('-- back --')\n"
        "c('migrate', 'hpdash', 'zero', interactive=False, verbosity=0)\n"
        "c('showmigrations', '--plan')\nprint('-- forth --')\n"
        "c('migrate', interactive=False, verbosity=0)\nc('showmigrations', '--plan')\n"
    )).replace("-- forth --", "-- back --").split("-- back --")
    assert "[X]  hpdash.0001_initial" in plan and "[ ]" not in plan, plan
    assert "[ ]  hpdash.0001_initial" in back, back
    assert "[X]  hpdash.0001_initial" in forth and "[ ]" not in forth, forth


@pytest.mark.django_db
def test_the_models_need_no_new_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        pytest.fail(f"makemigrations --check found model changes without a migration "
                    f"(exit {exc.code}):\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_data_written_under_the_first_schema_survives_every_later_migration():
    executor = MigrationExecutor(connection)
    latest = _latest(executor)
    assert latest != FIRST, "only one migration: nothing to carry forward"
    try:
        executor.migrate(FIRST)
        assert "hpdash_project" not in connection.introspection.table_names()
        old = executor.loader.project_state(FIRST).apps
        user = old.get_model("auth", "User").objects.create(username="olduser")
        job_model = old.get_model("hpdash", "Job")
        done = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        job = job_model.objects.create(
            project="legacy", job_id="old_1", owner=user, labels={"team": "vision"},
            training_input={"pythonModule": "trainer.task", "hyperparameters": HP},
            goal="MINIMIZE", metric_tag="loss", algorithm="ALGORITHM_UNSPECIFIED", max_trials=3,
            max_parallel_trials=1, seed=42, etag="abc=", state="SUCCEEDED", end_time=done)
        trial_model = old.get_model("hpdash", "Trial")
        trials = [trial_model.objects.create(
            job=job, trial_id=i, params={"lr": 0.01 * i}, state="SUCCEEDED",
            final_value=1.0 / i, final_step=10, end_time=done) for i in (1, 2, 3)]
        old.get_model("hpdash", "Measurement").objects.bulk_create([
            old.get_model("hpdash", "Measurement")(trial=t, step=s, value=s / 10, reported_at=done)
            for t in trials for s in range(10)])
        old.get_model("hpdash", "ApiToken").objects.create(
            user=user, prefix="hpd_old", token_hash="0" * 64)

        executor.loader.build_graph()  # the graph as it is now applied
        executor.migrate(latest)

        new = executor.loader.project_state(latest).apps
        job = new.get_model("hpdash", "Job").objects.get(project="legacy", job_id="old_1")
        assert (job.owner.username, job.labels, job.state, job.end_time) == (
            "olduser", {"team": "vision"}, "SUCCEEDED", done)
        assert job.request == {"trainingInput": {"pythonModule": "trainer.task",
                                                 "hyperparameters": HP}}
        assert job.family == "mlv1"
        assert sorted(job.trials.values_list("trial_id", "final_value")) == [
            (1, 1.0), (2, 0.5), (3, 1.0 / 3)]
        assert new.get_model("hpdash", "Measurement").objects.filter(trial__job=job).count() == 30
        assert new.get_model("hpdash", "ApiToken").objects.get(prefix="hpd_old").user == job.owner
        # The job's project now exists, with nobody in it: the first user to submit a job in
        # "legacy" does not get to own it (an administrator adds members).
        project = new.get_model("hpdash", "Project").objects.get(name="legacy")
        assert job.project_id == "legacy" and not project.members.exists()
        project.members.add(job.owner)
        assert list(project.members.values_list("username", flat=True)) == ["olduser"]

        # And the application reads the old rows as its own.
        from hpdash.api.mlv1.serializers import job_resource
        from hpdash.models import Job

        current = Job.objects.get(job_id="old_1")
        assert current.spec.metric_tag == "loss" and current.spec.params[0].name == "lr"
        assert current.definition.package and current.definition.package.module == (
            "trainer.task")
        resource = job_resource(current)
        assert resource["trainingOutput"]["completedTrialCount"] == "3"
        assert resource["trainingOutput"]["trials"][0]["trialId"] == "3"  # best (lowest) first
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(_latest(executor))  # leave the test database as every test expects it
