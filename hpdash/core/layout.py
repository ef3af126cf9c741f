"""Where things live in hpdash's data dir (``$HPDASH_DATA_DIR``), shared by the worker that
writes a trial's files, the dashboard that shows them, the CLI that tails them from a shared
filesystem, and ``make run``.  Pure: paths only, nothing is created here.

::

    <data>/hpdash.sqlite3                      the default database (0600, like every file)
    <data>/secret_key                          generated once
    <data>/redis/redis.sock, password          the embedded Redis and its password
    <data>/uploads/<random>/<file>             packages uploaded through the new-job form
    <data>/jobs/<project>/<jobId>/trials/<id>/trainer.log
                                               a trial's output and hpdash's notes
    <data>/packages/blobs/<sha256>             the jobs' packages by content hash (a tar each)
    <data>/packages/open/<sha256>/<name>       a blob unpacked, what staging copies from
    <data>/attempts/<marker>.json              what a local trial started, while it runs
    <data>/podman/containers.conf             podman's settings for this machine (written by
                                               the worker: hpdash/core/runner/podman.py)
    <data>/envs/<key>/                         a job's Python environment, by the hash of
                                               what it holds (hpdash/core/runner/envs.py)
    <data>/sandbox/<project>/<jobId>/          what a (sandboxed) trainer may reach:
        packages/                              the job's packages, copied when it starts
        env-key                                the key of the job's environment
        trials/<id>/                           the trial's cwd, HOME and TMPDIR, with
            hypertune-<attempt>/output.metrics where cloudml-hypertune writes its metric, a
                                               folder per attempt (a superseded trainer's
                                               writes never reach its re-run's)
        outputs/<id>/{checkpoints,model,logs}/ a trial's AIP_* directories without a jobDir:
                                               its own <jobDir>/<trialId>, kept across its
                                               attempts (a resuming trainer's checkpoints)
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
    def redis_password(self) -> Path:
        return self.redis_dir / "password"

    @property
    def redis_config(self) -> Path:
        return self.redis_dir / "redis.conf"

    @property
    def attempts(self) -> Path:
        """The local executor's record of each attempt it runs on this machine, so that what
        a dead worker's trainer left is found and ended by the next worker."""
        return self.root / "attempts"

    @property
    def podman(self) -> Path:
        """The ``containers.conf`` hpdash's podman calls use (the container executor)."""
        return self.root / "podman"

    @property
    def envs(self) -> Path:
        """The jobs' Python environments, each ``<key>/`` (read-only to trainers)."""
        return self.root / "envs"

    @property
    def uids(self) -> Path:
        """A lock file per trial uid, held by the worker whose trial runs as it (the box)."""
        return self.root / "uids"

    @property
    def sandbox(self) -> Path:
        """What sandboxed trainers may reach: their own trial dirs and their job's packages."""
        return self.root / "sandbox"

    def sandbox_job(self, project: str, job_id: str) -> Path:
        return self.sandbox / project / job_id

    def sandbox_packages(self, project: str, job_id: str) -> Path:
        """The job's packages, copied or unpacked when its first trial starts (read-only to
        trainers)."""
        return self.sandbox_job(project, job_id) / "packages"

    def sandbox_trial(self, project: str, job_id: str, trial_id: int | str) -> Path:
        """A trial's own writable directory (its cwd, HOME and TMPDIR), owned by the trial
        user."""
        return self.sandbox_job(project, job_id) / "trials" / str(trial_id)

    def sandbox_outputs(self, project: str, job_id: str, trial_id: int | str) -> Path:
        """A trial's outputs when its job names no jobDir: hpdash's stand-in for
        ``<jobDir>/<trialId>``, set up and kept across attempts as that is (``AIP_*`` lie
        there), but never passed as ``--job-dir``."""
        return self.sandbox_job(project, job_id) / "outputs" / str(trial_id)

    @property
    def package_store(self) -> Path:
        """The jobs' packages by content hash (:mod:`hpdash.core.runner.package_store`): kept
        by the server when a job is created, fetched into a worker machine's own."""
        return self.root / "packages"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    def job_dir(self, project: str, job_id: str) -> Path:
        return self.root / "jobs" / project / job_id

    def trial_dir(self, project: str, job_id: str, trial_id: int | str) -> Path:
        return self.job_dir(project, job_id) / "trials" / str(trial_id)

    def trial_log(self, project: str, job_id: str, trial_id: int | str) -> Path:
        return self.trial_dir(project, job_id, trial_id) / TRIAL_LOG

    def trial_metric_file(self, project: str, job_id: str, trial_id: int | str,
                          attempt: int = 0) -> Path:
        """The attempt's own metric file: a trainer of an earlier attempt that still runs (a
        stalled worker's) writes into its own, which the re-run never reads.  Its folder is
        the attempt's too, and the file keeps hypertune's own name, so that a container bound
        there at ``/tmp/hypertune`` reports even when its image drops the variable."""
        return (self.sandbox_trial(project, job_id, trial_id) / f"hypertune-{attempt}"
                / "output.metrics")
