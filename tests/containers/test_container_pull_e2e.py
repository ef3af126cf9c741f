"""Pulling from the registries a site names, end to end: a real registry (Debian's
docker-registry) on 127.0.0.1 holding the host-Python image, a stack (`manage.py serve`)
allowed to pull from it without TLS verification (HPDASH_CONTAINER_PULL_FROM,
HPDASH_CONTAINER_INSECURE_REGISTRIES).  A job naming an image only the registry has is accepted
at create, its trial pulls it (the trial log shows the pull) and succeeds; an allowed registry
that refuses connections fails the trial clearly within the pull timeout; `hpdash images` then
lists the pulled image and the registries the machine pulls from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import Stack, running_stack, wait_for_state

from hpdash.core.runner.podman import Podman

pytestmark = pytest.mark.e2e
HPDASH = str(Path(sys.executable).with_name("hpdash"))
REPORT = ("import hypertune, sys; x = float(sys.argv[-1].split('=', 1)[1]); "
          "hypertune.HyperTune().report_hyperparameter_tuning_metric("
          "hyperparameter_metric_tag='score', metric_value=-(x - 0.3) ** 2, global_step=1)")


@pytest.fixture(scope="module")
def pushed(podman: Podman, image: str, registry) -> Iterator[str]:
    """The host-Python image in the registry under a name no local image has."""
    name = f"{registry.host}/hpdash-e2e/python:pulled"
    podman.run("push", "--tls-verify=false", image, name, timeout=300)
    assert not podman.image_exists(name)
    yield name
    podman.run("rmi", name, check=False)  # the tag the pull made (the image is the host's)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, registry, pushed: str
          ) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("hpdash-pull")
    data.chmod(0o711)
    allowed = f"{registry.host},{registry.closed}"
    with running_stack(data, workers=1, HPDASH_CONTAINER_PULL_FROM=allowed,
                       HPDASH_CONTAINER_INSECURE_REGISTRIES=allowed,
                       HPDASH_CONTAINER_PULL_TIMEOUT="60") as s:
        yield s


def _job(job_id: str, image: str) -> dict[str, Any]:
    return {"jobId": job_id, "trainingInput": {
        "masterConfig": {"imageUri": image, "containerCommand": ["python3", "-c", REPORT]},
        "hyperparameters": {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score",
                            "maxTrials": 1, "maxFailedTrials": 1, "algorithm": "RANDOM_SEARCH",
                            "params": [{"parameterName": "x", "type": "DOUBLE",
                                        "minValue": 0, "maxValue": 1}]}}}


def _log(stack: Stack, job_id: str) -> str:
    return next((stack.data_dir / "jobs" / "p" / job_id / "trials").glob("*/trainer.log")
                ).read_text()


def test_an_image_only_an_allowed_registry_has_is_pulled_and_its_trial_succeeds(
        stack: Stack, podman: Podman, pushed: str, registry):
    ml = stack.ml()
    ml.projects().jobs().create(parent="projects/p", body=_job("pulled", pushed)).execute()
    job = wait_for_state(ml, "projects/p/jobs/pulled", timeout=180)
    assert job["state"] == "SUCCEEDED", (job, _log(stack, "pulled"))
    (trial,) = job["trainingOutput"]["trials"]
    x = float(trial["hyperparameters"]["x"])
    assert trial["finalMetric"]["objectiveValue"] == pytest.approx(-(x - 0.3) ** 2)
    log = _log(stack, "pulled")
    assert (f"[hpdash] pulling {pushed} from {registry.host} (HPDASH_CONTAINER_PULL_FROM, "
            "without TLS verification; at most 60 s)") in log
    assert "Writing manifest to image destination" in log  # podman's own output
    assert f"[hpdash] pulled {pushed} in " in log
    assert podman.image_exists(pushed)


def test_an_allowed_registry_that_refuses_fails_the_trial_clearly_and_soon(
        stack: Stack, registry):
    image = f"{registry.closed}/hpdash-e2e/nowhere:v1"
    ml = stack.ml()
    began = time.monotonic()
    ml.projects().jobs().create(parent="projects/p", body=_job("refused", image)).execute()
    job = wait_for_state(ml, "projects/p/jobs/refused", timeout=120)
    assert job["state"] == "FAILED"
    assert time.monotonic() - began < 60
    assert (f"FAILED: could not pull {image} from {registry.closed}: "
            in _log(stack, "refused"))
    assert "connection refused" in _log(stack, "refused")


def test_hpdash_images_lists_the_pulled_image_and_what_the_machine_pulls_from(
        stack: Stack, pushed: str, registry):
    # The supervisor records the machine's images every reconcile interval (10 s).
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPDASH_")}
    env.update(HPDASH_URL=stack.url, HPDASH_TOKEN=stack.token, HPDASH_PROJECT="p",
               HPDASH_CONFIG=str(stack.data_dir / "no-cli-config.yaml"))
    deadline = time.monotonic() + 60
    while True:
        res = subprocess.run([HPDASH, "images", "--format", "json"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        (machine,) = json.loads(res.stdout)
        if pushed in [i["name"] for i in machine["images"]]:
            break
        assert time.monotonic() < deadline, machine
        time.sleep(1)
    assert machine["runsContainers"] and machine["live"] is True
    assert machine["pullFrom"] == [registry.host, registry.closed]
    table = subprocess.run([HPDASH, "images"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert table.returncode == 0 and pushed in table.stdout
    assert f"pulls missing images from {registry.host}, {registry.closed}" in table.stdout
