"""One trial's plan: everything needed to run it, built once from the typed job.

The worker builds a :class:`TrialPlan` with :func:`plan_trial` and hands it to the runner;
nobody parses argv or the raw job dict back (the per-trial job dir, the metric file and the
time limit are fields here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hpdash.core.gpus import visible_devices
from hpdash.core.layout import DataLayout
from hpdash.core.spec import JobDefinition, ParamValue

from .command import aip_dirs, build_argv, build_env, trial_job_dir, vertex_env
from .limits import TrialLimits
from .process import RunAs


@dataclass(frozen=True)
class Placement:
    """Where an attempt of a trial runs: as which user, on which GPUs, within which limits;
    ``attempt`` names its own files (the metric file)."""

    run_as: RunAs | None = None  # the trial user (None: the service's own user)
    gpus: tuple[str, ...] = ()  # its devices: CUDA_VISIBLE_DEVICES ("" for none)
    limits: TrialLimits | None = None  # memory, CPUs, processes (None: not limited)
    network: bool = True  # False: none but its own loopback (the job asked: Runtime.network)
    attempt: int = 0  # Trial.attempt


@dataclass(frozen=True)
class TrialPlan:
    # What runs, then its arguments: the interpreter (``python -m <module> …``), or, for a
    # container trainer, the image (then what its entrypoint is given).
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path  # the trial's own directory in the data dir
    log_path: Path
    metric_file: Path  # CLOUD_ML_HP_METRIC_FILE
    metric_tag: str
    # ``<jobDir>/<trialId>`` as a local path (``--job-dir``), where TensorBoard event files
    # are looked for; None when the job has no jobDir.
    job_dir: Path | None
    time_limit: float  # seconds (scheduling.maxRunningTime)
    placement: Placement = Placement()  # as which user, on which GPUs
    # A container trainer's ``containerCommand`` (replaces the image's entrypoint; () keeps it).
    entrypoint: tuple[str, ...] = ()
    container: bool = False  # argv[0] is an image (the container executor runs the trial)

    @property
    def image(self) -> str | None:
        """The container image the trial runs in (``argv[0]``), or None for a process."""
        return self.argv[0] if self.container else None


def plan_trial(
    *,
    training: JobDefinition,
    layout: DataLayout,
    project: str,
    job_id: str,
    trial_id: int,
    params: Mapping[str, ParamValue],
    python: str,
    base_env: Mapping[str, str],
    pythonpath: Sequence[str] = (),
    placement: Placement = Placement(),
) -> TrialPlan:
    """With ``placement.run_as`` (a sandboxed trainer), HOME and TMPDIR are the trial's own
    directory: the trial user's own home is not its to write, and nothing of the service's is.
    ``CUDA_VISIBLE_DEVICES`` is always set: to ``placement.gpus``, or to ``""``.  The metric
    file is ``placement.attempt``'s own.  A package trainer of either API gets Vertex's ``AIP_*``
    directories: under ``<jobDir>/<trialId>/``, else under hpdash's stand-in for it
    (:meth:`DataLayout.sandbox_outputs`), either the same for every attempt: where a trainer
    checkpoints to resume.  A
    container trainer's environment is the contract's only (its image has its own): ``base_env``
    is not passed to it."""
    hp = training.hyperparameters
    image = training.image
    if image is not None:
        base_env = {}
    metric_file = layout.trial_metric_file(project, job_id, trial_id, placement.attempt)
    cwd = layout.sandbox_trial(project, job_id, trial_id)
    job_dir = trial_job_dir(training.job_dir, trial_id) if training.job_dir else None
    vertex = training.contract in ("vertex", "vertex_custom")
    if training.contract == "vertex_custom" and training.job_dir:
        job_dir = training.job_dir_path  # a CustomJob is one run: its outputs are the base's
    # Vertex passes no --job-dir: its trainers read the AIP_* directories instead.
    package = training.package
    argv = build_argv(image.image_uri if image else python,
                      package.module if package else None,
                      args=(*image.args, *training.args) if image else training.args,
                      trial_dir=None if vertex else job_dir, spec=hp, params=params)
    env = build_env({**base_env, **dict(training.env)}, job_id=job_id, trial_id=trial_id,
                    metric_tag=hp.metric_tag, metric_file=str(metric_file),
                    described=training.described, pythonpath=pythonpath)
    if vertex:
        env.update(vertex_env(job_dir, trial_id=trial_id, described=training.described))
    else:
        # Without a jobDir, a folder of hpdash's stands in for <jobDir>/<trialId> (not passed
        # as --job-dir): the trial's outputs and checkpoints outlive an attempt there too.
        job_dir = job_dir or str(layout.sandbox_outputs(project, job_id, trial_id))
        env.update(aip_dirs(job_dir))
    # Always set: a trial that was given no GPU must not see GPU 0 by default.
    env["CUDA_VISIBLE_DEVICES"] = visible_devices(placement.gpus)
    # The ids are nvidia-smi's, which count in PCI bus order; CUDA's default order (fastest
    # first) can differ on a mixed machine, and the trial would then use a GPU it was not
    # given.  A service that sets its own order keeps it (its HPDASH_GPUS follows it).
    env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    if placement.run_as is not None:
        env.update(HOME=str(cwd), TMPDIR=str(cwd))
    return TrialPlan(
        argv=tuple(argv), env=env, cwd=cwd,
        log_path=layout.trial_log(project, job_id, trial_id), metric_file=metric_file,
        metric_tag=hp.metric_tag, job_dir=Path(job_dir) if job_dir else None,
        time_limit=training.max_running_seconds, placement=placement,
        entrypoint=image.command if image else (), container=image is not None,
    )
