"""stream-logs: trial logs through the API or from the server's data dir, prefixed with the
trial id, until the job ends; progress lines only from a server that serves no logs."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hpdash.cli.client import ApiError, ConnectionFailed
from hpdash.cli.logs import Streamer, _Tail, exit_code, progress_line


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedClient:
    """Answers get_job from a script; each answer may first run a side effect (write logs)."""

    project = "proj"

    def __init__(self, steps: list[tuple[Any, dict[str, Any] | Exception]]) -> None:
        self.steps = steps
        self.calls = 0

    def get_job(self, job_id: str, *, failures: bool = False) -> dict[str, Any]:
        action, answer = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if action:
            action()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def trial_log(self, job_id: str, trial_id: str, offset: int = 0) -> dict[str, Any]:
        raise ApiError(404, "NOT_FOUND", "No API method at /v1/projects/proj/jobs/j:x.")


class LogServingClient(ScriptedClient):
    """A server with the log method: each trial's log grows by the lines in ``logs``."""

    def __init__(self, steps: list[tuple[Any, dict[str, Any] | Exception]],
                 logs: dict[str, bytes]) -> None:
        super().__init__(steps)
        self.logs = logs

    def trial_log(self, job_id: str, trial_id: str, offset: int = 0) -> dict[str, Any]:
        if trial_id not in self.logs:
            raise ApiError(404, "NOT_FOUND", f"Job 'j' has no trial {trial_id}.")
        data = self.logs[trial_id]
        chunk = data[offset:offset + 4]  # tiny chunks: a line arrives in pieces
        return {"offset": str(offset), "nextOffset": str(offset + len(chunk)),
                "size": str(len(data)), "content": chunk.decode()}


def _job(state: str, *trials: tuple[str, str], max_trials: int = 2) -> dict[str, Any]:
    return {"jobId": "j", "state": state,
            "trainingInput": {"hyperparameters": {"maxTrials": max_trials}},
            "trainingOutput": {"trials": [
                {"trialId": tid, "state": st, "startTime": "t",
                 "hyperparameters": {"x": tid}} for tid, st in trials]}}


def _stream(client: ScriptedClient, data_dir: str = "") -> tuple[dict[str, Any], str, str]:
    clock, out, err = FakeClock(), io.StringIO(), io.StringIO()
    streamer = Streamer(client, "j", data_dir=data_dir, out=out, err=err,  # type: ignore[arg-type]
                        sleep=clock.sleep, clock=clock)
    job = streamer.run()
    return job, out.getvalue(), err.getvalue()


def _log(data_dir: Path, tid: str, text: str, also: tuple[str, str] | None = None) -> None:
    path = data_dir / "jobs" / "proj" / "j" / "trials" / tid / "trainer.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(text)
    if also:
        _log(data_dir, *also)


def test_trial_logs_are_prefixed_with_the_trial_id_until_the_job_ends(tmp_path: Path):
    steps: list[tuple[Any, dict[str, Any] | Exception]] = [
        (None, _job("QUEUED")),
        (lambda: _log(tmp_path, "1", "epoch 1\nepoch 2 (half"),
         _job("RUNNING", ("1", "RUNNING"))),
        (lambda: _log(tmp_path, "1", " a line)\n", also=("10", "ten\n")),
         _job("RUNNING", ("1", "SUCCEEDED"), ("10", "RUNNING"))),
        (lambda: _log(tmp_path, "10", "last words without newline"),
         _job("SUCCEEDED", ("1", "SUCCEEDED"), ("10", "SUCCEEDED"))),
    ]
    job, out, err = _stream(ScriptedClient(steps), str(tmp_path))
    assert job["state"] == "SUCCEEDED" and exit_code(job) == 0
    assert out.splitlines() == [
        "[trial 1] epoch 1",
        "[trial 1] epoch 2 (half a line)",
        "[trial 10] ten",
        "[trial 10] last words without newline",
    ]
    assert "[hpdash] job SUCCEEDED: 2/2 trials finished, 2 succeeded" in err.splitlines()
    assert "note:" not in err


def test_without_a_data_dir_the_logs_are_followed_through_the_api():
    logs = {"1": b"epoch 1\n"}

    def more() -> None:
        logs["1"] += b"epoch 2 done\nlast words"

    steps: list[tuple[Any, dict[str, Any] | Exception]] = [
        (None, _job("RUNNING", ("1", "RUNNING"))),
        (more, _job("SUCCEEDED", ("1", "SUCCEEDED"), max_trials=1)),
    ]
    job, out, _ = _stream(LogServingClient(steps, logs))
    assert exit_code(job) == 0
    assert out.splitlines() == ["[trial 1] epoch 1", "[trial 1] epoch 2 done",
                                "[trial 1] last words"]


def test_from_a_server_without_logs_only_state_changes_and_progress_are_shown():
    steps: list[tuple[Any, dict[str, Any] | Exception]] = [
        (None, _job("RUNNING", ("1", "RUNNING"))),
        (None, _job("RUNNING", ("1", "RUNNING"))),
        (None, _job("FAILED", ("1", "FAILED"), max_trials=3)),
    ]
    job, out, err = _stream(ScriptedClient(steps))
    assert exit_code(job) == 1
    assert out.splitlines() == ["[trial 1] RUNNING x=1", "[trial 1] FAILED"]
    lines = err.splitlines()
    assert "pass --data-dir" in lines[0]
    assert lines[1:] == ["[hpdash] job RUNNING: 0/2 trials finished, 1 running",
                         "[hpdash] job FAILED: 1/3 trials finished, 1 failed"]


def test_a_wrong_data_dir_is_pointed_out(tmp_path: Path):
    steps: list[tuple[Any, dict[str, Any] | Exception]] = [
        (None, _job("RUNNING", ("1", "RUNNING"))),
        (None, _job("SUCCEEDED", ("1", "SUCCEEDED"))),
    ]
    _, _, err = _stream(ScriptedClient(steps), str(tmp_path))
    assert "no log for trial 1" in err and "HPDASH_DATA_DIR" in err


def test_a_server_restart_while_streaming_is_waited_out():
    down = ConnectionFailed("cannot reach hpdash at http://x: refused")
    steps: list[tuple[Any, dict[str, Any] | Exception]] = [
        (None, _job("RUNNING")), (None, down), (None, down), (None, _job("SUCCEEDED"))]
    job, _, err = _stream(ScriptedClient(steps))
    assert job["state"] == "SUCCEEDED"
    assert err.count("retrying") == 1


def test_a_server_gone_for_good_ends_the_stream():
    steps: list[tuple[Any, dict[str, Any] | Exception]] = [
        (None, _job("RUNNING")), (None, ConnectionFailed("gone"))]
    with pytest.raises(ConnectionFailed):
        _stream(ScriptedClient(steps))


def test_the_tail_survives_a_log_rewritten_from_scratch(tmp_path: Path):
    path = tmp_path / "trainer.log"
    tail = _Tail(path)
    assert tail.read() == [] and not tail.seen
    path.write_text("one\ntwo\n")
    assert tail.read() == ["one", "two"]
    path.write_text("new\n")
    assert tail.read() == ["new"]


def test_progress_counts_finished_trials_against_max_trials():
    assert progress_line(_job("RUNNING", ("1", "SUCCEEDED"), ("2", "CANCELLED"), ("3", "RUNNING"),
                              max_trials=5)) == (
        "[hpdash] job RUNNING: 2/5 trials finished, 1 succeeded, 1 cancelled, 1 running")


def test_the_cli_never_imports_django():
    code = ("import sys\n"
            "import hpdash.cli.main\n"
            "hpdash.cli.main.build_parser()\n"
            "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def _early(job: dict[str, Any], tid: str, step: str = "7") -> dict[str, Any]:
    for t in job["trainingOutput"]["trials"]:
        if t["trialId"] == tid:
            t.update(isTrialStoppedEarly=True,
                     finalMetric={"trainingStep": step, "objectiveValue": 0.25})
    return job


def test_an_early_stopped_trial_is_marked_in_its_state_line_and_the_progress():
    steps: list[tuple[Any, dict[str, Any] | Exception]] = [
        (None, _job("RUNNING", ("1", "RUNNING"), ("2", "RUNNING"))),
        (None, _early(_job("SUCCEEDED", ("1", "SUCCEEDED"), ("2", "SUCCEEDED")), "2")),
    ]
    _, out, err = _stream(ScriptedClient(steps))
    assert "[trial 2] SUCCEEDED (stopped early): objective 0.25 at step 7" in out.splitlines()
    assert "[trial 1] SUCCEEDED" in out.splitlines()
    assert err.splitlines()[-1] == (
        "[hpdash] job SUCCEEDED: 2/2 trials finished, 2 succeeded, 1 stopped early")


def test_with_logs_an_early_stop_is_still_announced(tmp_path: Path):
    steps: list[tuple[Any, dict[str, Any] | Exception]] = [
        (lambda: _log(tmp_path, "1", "epoch 1\n", also=("2", "epoch 1\n")),
         _job("RUNNING", ("1", "RUNNING"), ("2", "RUNNING"))),
        (None, _early(_job("SUCCEEDED", ("1", "SUCCEEDED"), ("2", "SUCCEEDED")), "1", "3")),
    ]
    _, out, _ = _stream(ScriptedClient(steps), data_dir=str(tmp_path))
    assert out.splitlines() == ["[trial 1] epoch 1", "[trial 2] epoch 1",
                                "[trial 1] SUCCEEDED (stopped early): objective 0.25 at step 3"]
