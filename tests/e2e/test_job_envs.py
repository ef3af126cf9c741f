"""Each job runs in a Python environment of its own: two jobs pin different versions of one
package in their packages' dependencies and each trial imports its own; a third job with the
same packages as the first reuses its environment; a requirement that cannot be installed fails
the trial with the installer's words; hpdash's own environment is never touched.

Offline: the wheels are built here, and the server's index settings (PIP_FIND_LINKS and
PIP_NO_INDEX, passed on to uv) point at a local directory of them.  The tests share one
stack, whose workers count as lost after 2 s without a heartbeat: builds heartbeat."""

from __future__ import annotations

import base64
import glob
import hashlib
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import Stack, running_stack, wait_for_state

pytestmark = pytest.mark.e2e

HYPER = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 1,
         "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}
TASK = """\
import hypertune, pinme
print("pinme", pinme.VERSION, "from", pinme.__file__)
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=float(pinme.VERSION), global_step=1)
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(into: Path, name: str, version: str, files: dict[str, str],
          requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel, written by hand (no build tool, no index)."""
    info = f"{name}-{version}.dist-info"
    entries = {**files,
               f"{info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                    + "".join(f"Requires-Dist: {r}\n" for r in requires)),
               f"{info}/WHEEL": ("Wheel-Version: 1.0\nGenerator: hpdash-tests\n"
                                 "Root-Is-Purelib: true\nTag: py3-none-any\n")}
    record = "".join(f"{path},sha256={_b64(text.encode())},{len(text.encode())}\n"
                     for path, text in entries.items()) + f"{info}/RECORD,,\n"
    path = into / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name_in, text in {**entries, f"{info}/RECORD": record}.items():
            zf.writestr(name_in, text)
    return path


@pytest.fixture(scope="module")
def wheelhouse() -> Iterator[Path]:
    """pinme 1.0 and 2.0, and setuptools (to build a source tree offline), in a directory the
    trial user can read, as an admin's find-links directory would be."""
    setuptools = sorted(glob.glob("/usr/share/python-wheels/setuptools-*.whl"))
    if not setuptools:
        pytest.skip("no setuptools wheel on this machine (Debian's python3-pip-whl)")
    house = Path(tempfile.mkdtemp(prefix="hpdash-wheels-"))
    house.chmod(0o755)
    for version in ("1.0", "2.0"):
        wheel(house, "pinme", version, {"pinme/__init__.py": f"VERSION = {version!r}\n"})
    shutil.copy(setuptools[-1], house)
    for path in house.iterdir():
        path.chmod(0o644)
    yield house
    shutil.rmtree(house)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Stack]:
    """Offline package installs from the wheelhouse; a worker silent for 2 s counts as lost
    (checked every 0.5 s), so a build that did not heartbeat would be taken for one."""
    data = tmp_path_factory.mktemp("envs")
    data.chmod(0o711)  # the trial user passes through to its sandbox
    with running_stack(data / "data", workers=2, PIP_FIND_LINKS=str(wheelhouse),
                       PIP_NO_INDEX="1", HPDASH_HEARTBEAT_TIMEOUT="2",
                       HPDASH_RECONCILE_INTERVAL="0.5") as s:
        yield s


def _source_tree(root: Path, name: str, pin: str) -> Path:
    """A trainer as AI Platform samples ship one: setup.py with install_requires."""
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    (root / name / "task.py").write_text(TASK)
    (root / "setup.py").write_text(textwrap.dedent(f"""\
        from setuptools import setup
        setup(name={name!r}, version="1.0", packages=[{name!r}],
              install_requires=[{pin!r}])
        """))
    return root


def _job(job_id: str, module: str, package: Path) -> dict[str, Any]:
    return {"jobId": job_id, "trainingInput": {
        "pythonModule": module, "packageUris": [str(package)], "hyperparameters": HYPER}}


def _server_packages() -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze"],
                         capture_output=True, text=True, check=True)
    return sorted(out.stdout.splitlines())


def test_each_job_imports_the_version_its_package_pins_and_a_second_job_reuses_the_env(
        stack: Stack, tmp_path: Path):
    before = _server_packages()
    one = _source_tree(tmp_path / "one", "pinned_one", "pinme==1.0")
    two = wheel(tmp_path, "pinned_two", "1.0", {"pinned_two/__init__.py": "",
                                                "pinned_two/task.py": TASK},
                requires=("pinme==2.0",))
    nine = wheel(tmp_path, "pinned_nine", "1.0", {"pinned_nine/__init__.py": "",
                                                  "pinned_nine/task.py": TASK},
                 requires=("pinme==9.0",))
    ml = stack.ml()
    jobs = {"one": _job("one", "pinned_one.task", one),
            "two": _job("two", "pinned_two.task", two),
            "nine": _job("nine", "pinned_nine.task", nine)}
    for body in jobs.values():
        ml.projects().jobs().create(parent="projects/envs", body=body).execute()
    done = {name: wait_for_state(ml, f"projects/envs/jobs/{name}", timeout=240)
            for name in jobs}
    # The same packages again: the environment is found, not built.
    ml.projects().jobs().create(parent="projects/envs",
                                body=_job("one_again", "pinned_one.task", one)).execute()
    again = wait_for_state(ml, "projects/envs/jobs/one_again", timeout=120)
    logs = {name: (stack.data_dir / "jobs" / "envs" / name / "trials" / "1" /
                   "trainer.log").read_text() for name in (*jobs, "one_again")}

    for name, version in (("one", 1.0), ("two", 2.0)):
        assert done[name]["state"] == "SUCCEEDED", (done[name], logs[name])
        best = done[name]["trainingOutput"]["trials"][0]
        assert best["finalMetric"]["objectiveValue"] == version
        assert "building Python environment" in logs[name]
        assert f"pinme {version}" in logs[name]
    assert again["state"] == "SUCCEEDED", logs["one_again"]
    assert again["trainingOutput"]["trials"][0]["finalMetric"]["objectiveValue"] == 1.0
    assert "building" not in logs["one_again"] and "(cached)" in logs["one_again"]

    assert done["nine"]["state"] == "FAILED"
    reason = done["nine"]["errorMessage"]
    assert "cannot install the job's packages" in reason and "pinme==9.0" in reason, reason

    assert _server_packages() == before  # hpdash's own environment: no pinme, nothing new


def _slow_tree(root: Path, name: str, seconds: float) -> Path:
    """A source tree whose setup.py takes ``seconds`` to run (as a heavy build would)."""
    _source_tree(root, name, "pinme==1.0")
    setup = (root / "setup.py").read_text()
    (root / "setup.py").write_text(f"import time; time.sleep({seconds})\n{setup}")
    return root


def test_a_long_build_keeps_its_trial_alive_and_a_cancel_stops_it(stack: Stack,
                                                                  tmp_path: Path):
    slow = _slow_tree(tmp_path / "slow", "slow_one", 6)
    endless = _slow_tree(tmp_path / "endless", "endless_one", 600)
    # A worker silent for 2 s counts as lost (the stack's settings): a build that heartbeats
    # is not.
    ml = stack.ml()
    for body in (_job("slow", "slow_one.task", slow),
                 _job("endless", "endless_one.task", endless)):
        ml.projects().jobs().create(parent="projects/envs", body=body).execute()
    log = stack.data_dir / "jobs" / "envs" / "endless" / "trials" / "1" / "trainer.log"
    deadline = time.monotonic() + 60
    while "building Python environment" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the endless build never started"
        time.sleep(0.2)
    time.sleep(3)  # past the heartbeat timeout, mid-build
    ml = stack.ml()  # a new connection: the idle one may have been closed meanwhile
    ml.projects().jobs().cancel(name="projects/envs/jobs/endless", body={}).execute()
    cancelled_at = time.monotonic()
    endless_job = wait_for_state(ml, "projects/envs/jobs/endless", timeout=60)
    took = time.monotonic() - cancelled_at
    slow_job = wait_for_state(ml, "projects/envs/jobs/slow", timeout=180)
    slow_log = (stack.data_dir / "jobs" / "envs" / "slow" / "trials" / "1" /
                "trainer.log").read_text()
    assert slow_job["state"] == "SUCCEEDED", slow_log
    assert "attempt 2" not in slow_log  # never taken for a lost worker and run again
    assert endless_job["state"] == "CANCELLED" and took < 20, (endless_job, took)
    assert "build was stopped: cancelled" in log.read_text()
