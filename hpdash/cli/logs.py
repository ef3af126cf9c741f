"""``jobs stream-logs``: follow a job until it ends.

Every trial's log is followed and each line printed as ``[trial N] line``, through hpdash's
log extension of the API (``…/jobs/JOB:hpdashTrialLog``, Google's jobs served logs through
Cloud Logging instead): any user who may see the job can follow it, without access to the
server's files.  With ``--data-dir``/``HPDASH_DATA_DIR`` (the same machine or a shared
filesystem) the logs are read from ``jobs/<project>/<jobId>/trials/<id>/trainer.log`` there
instead.  From a server without the extension, only progress is shown: one line per trial
state change.  Either way the job itself is polled through the API (about once a second) to
learn which trials exist and when the job ends. A trial stopped early
(``isTrialStoppedEarly``) is announced either way, as ``[trial N] SUCCEEDED (stopped early):
objective V at step S``, and counted in the progress line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hpdash.cli.client import ApiError, Client, ConnectionFailed
from hpdash.core.layout import DataLayout

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


class _Tail:
    """Complete lines appended to a file since the last read (survives truncation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pos = 0
        self.partial = b""
        self.seen = False  # the file has existed at some point

    def read(self, final: bool = False) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, 2)
                if size < self.pos:  # rewritten from scratch
                    self.pos, self.partial = 0, b""
                f.seek(self.pos)
                chunk = f.read()
                self.pos = f.tell()
                self.seen = True
        except FileNotFoundError:
            chunk = b""
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = lines.pop()
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]


class _ApiTail:
    """Complete lines of a trial's log read through the API since the last read."""

    MAX_CHUNKS = 8  # per read: up to 8 MiB, the rest at the next

    def __init__(self, client: Client, job_id: str, trial_id: str) -> None:
        self.client, self.job_id, self.trial_id = client, job_id, trial_id
        self.pos = 0
        self.partial = ""
        self.seen = True  # the API says when there is no log; nothing to warn about
        self.path = f"trial {trial_id} through the API"

    def read(self, final: bool = False) -> list[str]:
        text = ""
        for _ in range(self.MAX_CHUNKS):
            answer = self.client.trial_log(self.job_id, self.trial_id, self.pos)
            start, end = int(answer.get("offset", 0)), int(answer.get("nextOffset", 0))
            if start < self.pos:  # rewritten from scratch
                self.partial = ""
            content = str(answer.get("content", ""))
            text += content
            self.pos = end
            if not content or end >= int(answer.get("size", 0)):
                break
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        if final and self.partial:
            lines.append(self.partial)
            self.partial = ""
        return [line.rstrip("\r") for line in lines]


def _old_server(exc: ApiError) -> bool:
    """The server has no log method (an ml v1 server that is not hpdash, or an older one)."""
    return exc.status == "UNIMPLEMENTED" or exc.message.startswith("No API method")


def _trial_sort_key(tid: str) -> tuple[int, int, str]:
    return (0, int(tid), "") if tid.isdigit() else (1, 0, tid)


def max_trials(job: dict[str, Any]) -> int:
    hp = (job.get("trainingInput") or {}).get("hyperparameters") or {}
    try:
        return int(hp.get("maxTrials") or 1)
    except (TypeError, ValueError):
        return 1


def progress_line(job: dict[str, Any]) -> str:
    trials = (job.get("trainingOutput") or {}).get("trials") or []
    states = [t.get("state", "") for t in trials]
    finished = sum(s in TERMINAL for s in states)
    parts = [f"{finished}/{max_trials(job)} trials finished"]
    for state, word in (("SUCCEEDED", "succeeded"), ("FAILED", "failed"),
                        ("CANCELLED", "cancelled"), ("RUNNING", "running")):
        n = states.count(state)
        if n:
            parts.append(f"{n} {word}")
        if state == "SUCCEEDED" and (early := sum(bool(t.get("isTrialStoppedEarly"))
                                                  for t in trials)):
            parts.append(f"{early} stopped early")
    return f"[hpdash] job {job.get('state', '?')}: " + ", ".join(parts)


def _trial_change(trial: dict[str, Any]) -> str:
    tid, state = trial.get("trialId", "?"), trial.get("state", "?")
    if state == "RUNNING":
        hps = " ".join(f"{k}={v}" for k, v in (trial.get("hyperparameters") or {}).items())
        return f"[trial {tid}] RUNNING {hps}".rstrip()
    if trial.get("isTrialStoppedEarly"):
        state = f"{state} (stopped early)"
    metric = trial.get("finalMetric")
    if metric:
        return (f"[trial {tid}] {state}: objective {metric.get('objectiveValue')} at step "
                f"{metric.get('trainingStep')}")
    return f"[trial {tid}] {state}"


@dataclass
class Streamer:
    client: Client
    job_id: str
    data_dir: str = ""
    out: TextIO | None = None
    err: TextIO | None = None
    poll_interval: float = 1.0
    read_interval: float = 0.25
    # How long the server may be unreachable before giving up (a restart is not an error).
    unreachable_timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    tails: dict[str, _Tail | _ApiTail] = field(default_factory=dict)
    trial_states: dict[str, str] = field(default_factory=dict)
    last_progress: str = ""
    unreachable: bool = False
    # How long a started trial's log may be missing before we warn that --data-dir is wrong.
    missing_grace: float = 5.0
    missing_since: dict[str, float] = field(default_factory=dict)
    warned_missing: bool = False
    api_logs: bool = True  # follow logs through the API (until the server says it cannot)

    def _print(self, text: str, stream: TextIO | None) -> None:
        print(text, file=stream, flush=True)

    def _layout(self) -> DataLayout:
        return DataLayout(Path(self.data_dir).expanduser())

    def _job_dir(self) -> Path:
        return self._layout().job_dir(self.client.project, self.job_id)

    def _trial_ids(self, job: dict[str, Any]) -> list[str]:
        ids = {str(t.get("trialId")) for t in (job.get("trainingOutput") or {}).get("trials")
               or [] if t.get("trialId") is not None}
        trials_dir = self._job_dir() / "trials"
        if self.data_dir and trials_dir.is_dir():
            ids.update(p.name for p in trials_dir.iterdir() if p.name.isdigit())
        return sorted(ids, key=_trial_sort_key)

    @property
    def logs(self) -> bool:
        """Whether trial logs are followed (from the data dir, or through the API)."""
        return bool(self.data_dir) or self.api_logs

    def _follow_logs(self, ids: list[str], final: bool = False) -> None:
        for tid in ids:
            tail = self.tails.get(tid)
            if tail is None:
                tail = self.tails[tid] = _Tail(
                    self._layout().trial_log(self.client.project, self.job_id, tid)
                ) if self.data_dir else _ApiTail(self.client, self.job_id, tid)
            try:
                lines = tail.read(final)
            except ApiError as exc:
                if not _old_server(exc):
                    continue  # a trial that has no log yet
                self.api_logs = False
                self._print("[hpdash] note: this server serves no trial logs; showing progress "
                            "only. To follow the trials' logs, pass --data-dir (or set "
                            "HPDASH_DATA_DIR) to the server's data directory (same machine or "
                            "shared filesystem).", self.err)
                return
            for line in lines:
                self._print(f"[trial {tid}] {line}", self.out)

    def _check_logs_exist(self, job: dict[str, Any]) -> None:
        """Warn once when a trial has started (per the API) but its log never shows up."""
        if self.warned_missing:
            return
        for t in (job.get("trainingOutput") or {}).get("trials") or []:
            tid = str(t.get("trialId"))
            if not t.get("startTime") or (tail := self.tails.get(tid)) is None or tail.seen:
                continue
            first = self.missing_since.setdefault(tid, self.clock())
            if self.clock() - first >= self.missing_grace or job.get("state") in TERMINAL:
                self.warned_missing = True
                self._print(f"[hpdash] warning: no log for trial {tid} at {tail.path}; is "
                            "--data-dir the server's data directory (its HPDASH_DATA_DIR)?",
                            self.err)
                return

    def _report_states(self, job: dict[str, Any]) -> None:
        trials = sorted((job.get("trainingOutput") or {}).get("trials") or [],
                        key=lambda t: _trial_sort_key(str(t.get("trialId", ""))))
        for t in trials:
            tid, state = str(t.get("trialId")), str(t.get("state", ""))
            if self.trial_states.get(tid) != state:
                self.trial_states[tid] = state
                # With logs, the trial's own lines say what it does; that it was stopped
                # early is hpdash's decision, so it is printed either way.
                if not self.logs or t.get("isTrialStoppedEarly"):
                    self._print(_trial_change(t), self.out)

    def _progress(self, job: dict[str, Any]) -> None:
        line = progress_line(job)
        if line != self.last_progress:
            self.last_progress = line
            self._print(line, self.err)

    def _get(self, since_ok: float) -> dict[str, Any] | None:
        try:
            job = self.client.get_job(self.job_id)
        except ConnectionFailed as exc:
            if self.clock() - since_ok > self.unreachable_timeout:
                raise
            if not self.unreachable:
                self.unreachable = True
                self._print(f"[hpdash] {exc}; retrying", self.err)
            return None
        self.unreachable = False
        return job

    def run(self) -> dict[str, Any]:
        """Stream until the job ends and return it (API errors and a server unreachable for
        ``unreachable_timeout`` seconds raise)."""
        if self.data_dir and not Path(self.data_dir).expanduser().is_dir():
            self._print(f"[hpdash] warning: --data-dir {self.data_dir} is not a directory "
                        "here; trial logs cannot be read", self.err)
        ok_at = self.clock()
        next_poll = self.clock()
        job: dict[str, Any] = {}
        while True:
            if self.clock() >= next_poll:
                fresh = self._get(ok_at)
                next_poll = self.clock() + self.poll_interval
                if fresh is not None:
                    ok_at, job = self.clock(), fresh
                    done = job.get("state") in TERMINAL
                    if self.logs:
                        # After the job ended, trials have written their last lines.
                        self._follow_logs(self._trial_ids(job), final=done)
                    if self.data_dir:
                        self._check_logs_exist(job)
                    self._report_states(job)
                    self._progress(job)
                    if done:
                        return job
            if self.data_dir and job:
                self._follow_logs(self._trial_ids(job))
            self.sleep(self.read_interval if self.data_dir else self.poll_interval)


def final_message(job: dict[str, Any]) -> str:
    state = job.get("state", "?")
    msg = f"Job [{job.get('jobId')}] {state}."
    if job.get("errorMessage"):
        msg += f" {job['errorMessage']}"
    return msg


def exit_code(job: dict[str, Any]) -> int:
    return 0 if job.get("state") == "SUCCEEDED" else 1
