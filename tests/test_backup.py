import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_backup_taken_while_running_restores_every_job(tmp_path):
    env = {**os.environ, "HPDASH_DATA_DIR": str(tmp_path / "data"),
           "DJANGO_SETTINGS_MODULE": "hpdash.settings"}
    env.pop("DATABASE_URL", None)

    def manage(*args: str) -> str:
        return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env,
                              cwd=ROOT, check=True, capture_output=True, text=True).stdout

    # A database with a job (one interpreter for both commands: each takes seconds to start).
    manage("shell", "-c", "from django.core.management import call_command as c\n"
           "c('migrate', verbosity=0)\nc('seed_demo_job', job_id='kept', trials=5)")
    manage("backup", str(tmp_path / "backup.sqlite3"))
    # Restore: the backup becomes the database of a fresh data dir.
    restored = tmp_path / "restored"
    restored.mkdir()
    (tmp_path / "backup.sqlite3").rename(restored / "hpdash.sqlite3")
    with sqlite3.connect(restored / "hpdash.sqlite3") as db:
        jobs = db.execute("SELECT job_id FROM hpdash_job").fetchall()
        trials = db.execute("SELECT count(*) FROM hpdash_trial").fetchone()[0]
    assert jobs == [("kept",)] and trials == 5
    env["HPDASH_DATA_DIR"] = str(restored)
    assert "No migrations to apply" in manage("migrate")
