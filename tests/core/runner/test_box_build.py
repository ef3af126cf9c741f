"""A job's environment is built in the box (root and bubblewrap): its ``setup.py`` is a
trainer's code, run as a leased uid in namespaces of its own.  A hostile ``setup.py`` reads
nothing of the data dir, no other job's packages, no process outside its box; a plain one
still builds from the server's find-links directory (bound read-only into the box)."""

from __future__ import annotations

import glob
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hpdash.core.layout import DataLayout
from hpdash.core.runner import ExecutorConfig
from hpdash.core.runner.box import BoxSettings
from hpdash.core.runner.executor import PrepareError
from hpdash.core.runner.executors.local import LocalExecutor
from hpdash.core.runner.limits import GIB, TrialLimits
from hpdash.core.runner.sandbox import TrialUser
from hpdash.core.spec import JobDefinition, parse_job
from hpdash.ops.config import base_python, uv_binary

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap"),
                                reason="the box needs root and bubblewrap (CI has both)")

UIDS = range(251000, 251010)
TOKEN = "hpd_" + "s3cr3t" * 6
# What a hostile setup.py tries, as it runs in the build: each probe's outcome, then it fails
# the build so that uv shows its output (which ends in the trial log and the failure).
HOSTILE_SETUP = '''
import json, os, sys
data, other = {data!r}, {other!r}
def probe(fn):
    try:
        return "READ " + repr(fn())[:80]
    except Exception as exc:
        return "denied " + type(exc).__name__
def cmdlines():
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                found.append(open(f"/proc/{{pid}}/cmdline", "rb").read())
            except OSError:
                pass
    return [c for c in found if b"hpd_" in c]
report = {{
    "secret_key": probe(lambda: open(os.path.join(data, "secret_key")).read()),
    "data_dir": probe(lambda: os.listdir(data)),
    "other_job": probe(lambda: open(other).read()),
    "other_env": probe(lambda: os.listdir(os.path.join(data, "envs"))),
    "cmdlines": probe(lambda: cmdlines() or (_ for _ in ()).throw(LookupError())),
    "uid": os.getuid(),
}}
print("REPORT " + json.dumps(report), file=sys.stderr, flush=True)
sys.exit(1)
'''
PLAIN_SETUP = '''
from setuptools import setup
setup(name="plainjob", version="1.0", packages=["plainjob"])
'''


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    """setuptools, offline, in a directory of the admin's (PIP_FIND_LINKS)."""
    wheels = sorted(glob.glob("/usr/share/python-wheels/setuptools-*.whl"))
    if not wheels:
        pytest.skip("no setuptools wheel on this machine (Debian's python3-pip-whl)")
    house = tmp_path / "wheels"
    house.mkdir()
    house.chmod(0o755)
    (house / Path(wheels[-1]).name).write_bytes(Path(wheels[-1]).read_bytes())
    (house / Path(wheels[-1]).name).chmod(0o644)  # as any index is: readable by all
    return house


@pytest.fixture
def executor(tmp_path: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch) -> LocalExecutor:
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    entry = pwd.getpwnam("nobody")
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 0, entry.pw_gid)  # as the service makes it: the trial user's group passes
    data.chmod(0o710)
    (data / "secret_key").write_text("the service's secret")
    (data / "secret_key").chmod(0o600)
    box = BoxSettings(bwrap=shutil.which("bwrap") or "", uids=UIDS, share_gid=entry.pw_gid,
                      defaults=TrialLimits(memory_bytes=2 * GIB, cpus=1.0, processes=256))
    return LocalExecutor(ExecutorConfig(
        layout=DataLayout(data), python=sys.executable,
        user=TrialUser("nobody", entry.pw_uid, entry.pw_gid), pythons={"b": base_python()},
        uv=uv_binary(), box=box))


def _job(job_id: str, package: Path) -> JobDefinition:
    return parse_job({"jobId": job_id, "trainingInput": {
        "pythonModule": "x.task", "packageUris": [str(package)], "hyperparameters": {
            "goal": "MAXIMIZE", "hyperparameterMetricTag": "score", "maxTrials": 1,
            "params": [{"parameterName": "lr", "type": "DOUBLE", "minValue": 0.01,
                        "maxValue": 0.1}]}}}).definition


def _tree(root: Path, setup: str, name: str = "plainjob") -> Path:
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    (root / "setup.py").write_text(textwrap.dedent(setup))
    return root


def test_a_hostile_setup_py_reads_nothing_of_the_data_dir_other_jobs_or_processes(
        executor: LocalExecutor, tmp_path: Path):
    layout = executor.layout
    # Another job of another project, already prepared: its packages are staged (readable by
    # the trial user's group) and its environment is built.
    other_pkg = tmp_path / "other" / "otherjob"
    other_pkg.mkdir(parents=True)
    (other_pkg / "__init__.py").write_text("")
    (other_pkg / "weights.py").write_text("PRIVATE = 'the other team's model'\n")
    staged = executor.prepare(training=_job("other", other_pkg), project="theirs",
                              job_id="other").pythonpath
    other = Path(staged[0]) / "otherjob" / "weights.py"
    assert other.exists()
    # A process of the service's with a token on its command line.
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", TOKEN])
    log = tmp_path / "trainer.log"
    try:
        hostile = _tree(tmp_path / "hostile", HOSTILE_SETUP.format(data=str(layout.root),
                                                                   other=str(other)))
        with pytest.raises(PrepareError, match="cannot install the job's packages"):
            executor.prepare(training=_job("hostile", hostile), project="mine",
                             job_id="hostile", log=log)
    finally:
        holder.kill()
        holder.wait()
    found = re.search(r"REPORT (\{.*\})", log.read_text())
    assert found, log.read_text()
    report = json.loads(found.group(1))
    for probe in ("secret_key", "data_dir", "other_job", "other_env", "cmdlines"):
        assert report[probe].startswith("denied"), (probe, report)
    assert report["uid"] in UIDS  # a leased uid, not the shared trial user
    assert TOKEN not in log.read_text()


def test_a_plain_setup_py_builds_in_the_box_from_the_servers_find_links(
        executor: LocalExecutor, tmp_path: Path):
    log = tmp_path / "trainer.log"
    runtime = executor.prepare(training=_job("plain", _tree(tmp_path / "plain", PLAIN_SETUP)),
                               project="mine", job_id="plain", log=log)
    env = Path(runtime.python).parent.parent
    assert env.parent == executor.layout.envs, runtime
    assert glob.glob(str(env / "lib" / "python*" / "site-packages" / "plainjob")), log.read_text()
    # Sealed: the service's, not the build's leased uid's.
    assert env.stat().st_uid == 0 and not any(
        p.stat().st_uid in UIDS for p in env.rglob("*") if not p.is_symlink())
