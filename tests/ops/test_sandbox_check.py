"""The start-up check of the sandbox: the trial user must be able to run the interpreters jobs'
environments are built from; when it cannot, the message names the path, its owner and mode,
and what to change (and never tells root to run as root)."""

from __future__ import annotations

import os
import pwd
import shutil
import sys

import pytest

from hpdash.core.runner.sandbox import TrialUser
from hpdash.ops.config import base_python
from hpdash.ops.sandbox import sandbox_problem

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


@pytest.fixture
def nobody() -> TrialUser:
    entry = pwd.getpwnam("nobody")
    return TrialUser("nobody", entry.pw_uid, entry.pw_gid)


def test_the_base_interpreter_passes_wherever_hpdash_was_cloned(nobody):
    # hpdash's own checkout (this one may be in a 0700 home) is not needed by a trial.
    assert sandbox_problem(nobody, [base_python()]) is None


def test_an_interpreter_in_a_private_directory_is_named_with_its_owner_mode_and_fix(
        nobody, tmp_path):
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    python = private / "python3"
    shutil.copy(os.path.realpath(sys.executable), python)
    problem = sandbox_problem(nobody, [str(python)])
    assert problem is not None
    assert f"{private} (owner root, mode 700)" in problem
    assert f"chmod o+x {private}" in problem and "HPDASH_PYTHONS" in problem
    assert "as root" not in problem


def test_a_restart_keeps_the_jobs_environments_passable_by_the_trial_user(nobody, tmp_path):
    import stat

    from hpdash.ops.paths import secure_data_dir

    data = tmp_path / "data"
    for _ in range(2):  # the first start, then a restart that tightens what it finds
        secure_data_dir(data, nobody.gid)
    for shared in (data / "sandbox", data / "envs"):
        st = shared.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o710, nobody.gid)
    os.umask(0o022)
