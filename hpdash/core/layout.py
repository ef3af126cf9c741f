"""Where things live in hpdash's data dir (``$HPDASH_DATA_DIR``), shared by the worker that
writes a trial's files, the dashboard that shows them, the CLI that tails them from a shared
filesystem, and ``make run``.  Pure: paths only, nothing is created here.

::

    <data>/hpdash.sqlite3                      the default database
    <data>/secret_key                          generated once (0600)
    <data>/redis/redis.sock                    the embedded Redis
    <data>/uploads/<random>/<file>             packages uploaded through the new-job form
    <data>/jobs/<project>/<jobId>/packages/    the job's unpacked archives
    <data>/jobs/<project>/<jobId>/trials/<id>/ a trial's working directory (its cwd), with
        trainer.log                            its output and hpdash's notes
        hypertune/output.metrics               where cloudml-hypertune writes its metric
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TRIAL_LOG = "trainer.log"


@dataclass(frozen=True)
class DataLayout:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "hpdash.sqlite3"

    @property
    def secret_key(self) -> Path:
        return self.root / "secret_key"

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def redis_socket(self) -> Path:
        return self.redis_dir / "redis.sock"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    def job_dir(self, project: str, job_id: str) -> Path:
        return self.root / "jobs" / project / job_id

    def packages_dir(self, project: str, job_id: str) -> Path:
        return self.job_dir(project, job_id) / "packages"

    def trial_dir(self, project: str, job_id: str, trial_id: int | str) -> Path:
        return self.job_dir(project, job_id) / "trials" / str(trial_id)

    def trial_log(self, project: str, job_id: str, trial_id: int | str) -> Path:
        return self.trial_dir(project, job_id, trial_id) / TRIAL_LOG

    def trial_metric_file(self, project: str, job_id: str, trial_id: int | str) -> Path:
        return self.trial_dir(project, job_id, trial_id) / "hypertune" / "output.metrics"
