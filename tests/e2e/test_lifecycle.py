"""Trial lifecycle end to end: failures, limits, early stopping, resume, timeouts, cancel."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from harness import QUADRATIC, Stack, alive, trainer_job, trainer_pids, wait_for_state

pytestmark = pytest.mark.e2e


def grid(*xs: float) -> dict[str, Any]:
    return {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "algorithm": "GRID_SEARCH",
            "maxTrials": len(xs), "maxParallelTrials": 1,
            "params": [{"parameterName": "x", "type": "DISCRETE", "discreteValues": list(xs)}]}


def test_max_failed_trials_fails_the_job_when_reached_and_says_why(stack: Stack):
    ml = stack.ml()
    hyper = {**grid(0.1, 0.2, 0.6, 0.7), "maxFailedTrials": 2}
    ml.projects().jobs().create(parent="projects/life", body=trainer_job(
        "maxfail_1", "e2etrainer.flaky", hyper)).execute()
    job = wait_for_state(ml, "projects/life/jobs/maxfail_1")
    assert job["state"] == "FAILED"
    assert job["errorMessage"] == ("Failing job: 2 trials failed (maxFailedTrials=2); "
                                   "last failure: trial 2: exit code 3")
    assert len(job["trainingOutput"]["trials"]) == 2  # no trial started after the limit


def test_a_job_with_some_failed_trials_can_still_succeed(stack: Stack):
    ml = stack.ml()
    hyper = {**grid(0.1, 0.6, 0.7, 0.8), "maxFailedTrials": 3}
    ml.projects().jobs().create(parent="projects/life", body=trainer_job(
        "somefail_1", "e2etrainer.flaky", hyper)).execute()
    job = wait_for_state(ml, "projects/life/jobs/somefail_1")
    assert job["state"] == "SUCCEEDED", job
    out = job["trainingOutput"]
    assert out["completedTrialCount"] == "3"
    assert [t["state"] for t in out["trials"]] == ["SUCCEEDED"] * 3 + ["FAILED"]
    assert out["trials"][0]["hyperparameters"]["x"] == "0.8"


def test_a_metric_that_is_nan_fails_the_trial_with_that_cause(stack: Stack):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/life", body=trainer_job(
        "nan_1", "e2etrainer.nan", {**QUADRATIC, "maxTrials": 1})).execute()
    job = wait_for_state(ml, "projects/life/jobs/nan_1")
    assert job["state"] == "FAILED" and "metric was nan" in job["errorMessage"]


def test_a_trial_past_max_running_time_is_stopped_and_fails(stack: Stack):
    ml = stack.ml()
    body = trainer_job("timeout_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 1},
                       args=["--sleep=60"])
    body["trainingInput"]["scheduling"] = {"maxRunningTime": "2s"}
    ml.projects().jobs().create(parent="projects/life", body=body).execute()
    job = wait_for_state(ml, "projects/life/jobs/timeout_1", timeout=60)
    assert job["state"] == "FAILED" and "timed out after 2 s" in job["errorMessage"]


def test_cancel_kills_the_trainer_processes(stack: Stack):
    ml = stack.ml()
    job_dir = stack.out_dir / "cancel_procs"
    ml.projects().jobs().create(parent="projects/life", body=trainer_job(
        "cancel_procs", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 4},
        args=["--sleep=60"], job_dir=str(job_dir))).execute()
    deadline = time.monotonic() + 60
    while len(list(job_dir.glob("*/pid.*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = trainer_pids(job_dir)
    assert len(pids) == 2 and all(alive(p) for p in pids)
    started = time.monotonic()
    ml.projects().jobs().cancel(name="projects/life/jobs/cancel_procs", body={}).execute()
    job = wait_for_state(ml, "projects/life/jobs/cancel_procs", timeout=30)
    assert job["state"] == "CANCELLED" and time.monotonic() - started < 15
    assert not any(alive(p) for p in pids)
    assert len(job["trainingOutput"]["trials"]) == 2  # nothing started after the cancel


def test_early_stopping_stops_losing_trials_and_keeps_the_best(stack: Stack):
    ml = stack.ml()
    steps = 20
    hyper = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 12,
             "maxParallelTrials": 1, "algorithm": "RANDOM_SEARCH",
             "enableTrialEarlyStopping": True,
             "params": [{"parameterName": "quality", "type": "DOUBLE", "minValue": 0.1,
                         "maxValue": 1.0}]}
    ml.projects().jobs().create(parent="projects/life", body=trainer_job(
        "early_1", "e2etrainer.curve", hyper, args=[f"--steps={steps}"])).execute()
    job = wait_for_state(ml, "projects/life/jobs/early_1", timeout=180)
    assert job["state"] == "SUCCEEDED", job
    trials = job["trainingOutput"]["trials"]
    assert job["trainingOutput"]["completedTrialCount"] == "12"
    stopped = [t for t in trials if t.get("isTrialStoppedEarly")]
    assert stopped, "some losing trials are stopped"
    for t in stopped:
        assert t["state"] == "SUCCEEDED" and int(t["finalMetric"]["trainingStep"]) < steps
    best_quality = max(float(t["hyperparameters"]["quality"]) for t in trials)
    best = trials[0]
    assert float(best["hyperparameters"]["quality"]) == best_quality
    assert "isTrialStoppedEarly" not in best and best["finalMetric"]["trainingStep"] == "20"
    _the_cli_marks_the_stopped_trials(stack, "early_1", {t["trialId"] for t in stopped})
    ran = sum(int(t["finalMetric"]["trainingStep"]) for t in trials)
    print(f"\nearly stopping: {len(stopped)}/12 trials stopped; "
          f"{1 - ran / (12 * steps):.0%} of trainer steps saved")


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPDASH_")}
    env.update(HPDASH_URL=stack.url, HPDASH_TOKEN=stack.token, HPDASH_PROJECT="life",
               HPDASH_CONFIG=str(stack.data_dir / "no-cli-config.yaml"))
    return subprocess.run([str(Path(sys.executable).parent / "hpdash"), *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def _the_cli_marks_the_stopped_trials(stack: Stack, job_id: str, stopped: set[str]) -> None:
    """``hpdash jobs describe`` notes them in its best-first table; ``stream-logs`` in their
    state lines and its progress line."""
    res = _cli(stack, "jobs", "describe", job_id)
    assert res.returncode == 0, res.stderr
    table = res.stdout.split("Training Output Trials\n")[1].splitlines()
    assert table[0].split()[-1] == "NOTE"
    noted = {line.split()[0] for line in table[1:] if line.endswith("stopped early")}
    assert noted == stopped
    assert not table[1].endswith("stopped early"), "the best trial comes first"
    res = _cli(stack, "jobs", "stream-logs", job_id)
    assert res.returncode == 0, res.stderr
    marked = {line.split()[1].rstrip("]") for line in res.stdout.splitlines()
              if "SUCCEEDED (stopped early): objective" in line}
    assert marked == stopped
    assert f"{len(stopped)} stopped early" in res.stderr


def test_a_resumed_job_learns_from_the_previous_one(stack: Stack):
    ml = stack.ml()
    hyper = {**QUADRATIC, "maxTrials": 12, "maxParallelTrials": 1}
    ml.projects().jobs().create(parent="projects/life", body=trainer_job(
        "cold_1", "e2etrainer.quadratic", hyper)).execute()
    cold = wait_for_state(ml, "projects/life/jobs/cold_1", timeout=120)
    assert cold["state"] == "SUCCEEDED"
    resume = trainer_job("warm_1", "e2etrainer.quadratic", {
        "resumePreviousJobId": "cold_1", "maxTrials": 4, "maxParallelTrials": 1})
    created = ml.projects().jobs().create(parent="projects/life", body=resume).execute()
    assert created["trainingInput"]["hyperparameters"]["goal"] == "MAXIMIZE"
    warm = wait_for_state(ml, "projects/life/jobs/warm_1", timeout=120)
    assert warm["state"] == "SUCCEEDED"
    assert sorted(t["trialId"] for t in warm["trainingOutput"]["trials"]) == ["1", "2", "3", "4"]

    def values(job: dict[str, Any], ids: set[str]) -> list[float]:
        return [t["finalMetric"]["objectiveValue"] for t in job["trainingOutput"]["trials"]
                if t["trialId"] in ids]

    # A warm start begins where the cold start ended: its first trials already beat the cold
    # start's first trials (which knew nothing).
    first_four = values(cold, {"1", "2", "3", "4"})
    assert max(values(warm, {"1", "2", "3", "4"})) > max(first_four)


def test_resuming_with_contradicting_params_or_from_a_missing_job_is_refused(stack: Stack):
    import json

    from googleapiclient.errors import HttpError

    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/life", body=trainer_job(
        "base_1", "e2etrainer.quadratic", {**QUADRATIC, "maxTrials": 1})).execute()
    wait_for_state(ml, "projects/life/jobs/base_1")
    for hp, field in (
        ({"resumePreviousJobId": "base_1", "maxTrials": 2, "goal": "MINIMIZE"},
         "trainingInput.hyperparameters.goal"),
        ({"resumePreviousJobId": "nope", "maxTrials": 2},
         "trainingInput.hyperparameters.resumePreviousJobId"),
    ):
        with pytest.raises(HttpError) as err:
            ml.projects().jobs().create(parent="projects/life", body=trainer_job(
                "resume_bad", "e2etrainer.quadratic", hp)).execute()
        violations = json.loads(err.value.content)["error"]["details"][0]["fieldViolations"]
        assert err.value.resp.status == 400 and violations[0]["field"] == field
    # Another project's job of the same name is not found either.
    with pytest.raises(HttpError) as err:
        ml.projects().jobs().create(parent="projects/other", body=trainer_job(
            "resume_bad", "e2etrainer.quadratic",
            {"resumePreviousJobId": "base_1", "maxTrials": 2})).execute()
    assert err.value.resp.status == 400
