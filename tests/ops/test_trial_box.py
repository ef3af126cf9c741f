"""The trial box's settings: on by default for a root service with bubblewrap, each knob
refused by name when malformed, and what make run says about it."""

from __future__ import annotations

import os
import shutil

import pytest
from django.core.exceptions import ImproperlyConfigured

from hpdash.core.layout import DataLayout
from hpdash.core.runner.box import BoxSettings
from hpdash.core.runner.limits import GIB, MIB
from hpdash.core.runner.sandbox import TrialUser
from hpdash.ops.trial_box import box_problem, box_report, default_limits, trial_box_from_env

NOBODY = TrialUser("nobody", 65534, 65534)
boxable = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap"),
                             reason="boxing needs root and bubblewrap (CI has both)")


@pytest.fixture
def bare_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith("HPDASH_TRIAL_")]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@boxable
def test_a_root_service_with_bubblewrap_boxes_trials_by_default(bare_env):
    box = trial_box_from_env(NOBODY)
    assert box is not None
    assert (box.uids.start, box.uids.stop) == (200000, 265536)
    assert box.network and box.share_gid == 65534
    assert box.defaults.memory_bytes == 15 * GIB and box.defaults.cpus == 4.0
    assert box.defaults.processes == 4096
    assert "each trial in its own namespaces" in box_report(box, NOBODY)[0]


def test_trials_are_unboxed_when_asked_and_make_run_says_what_that_leaves_out(bare_env):
    bare_env.setenv("HPDASH_TRIAL_BOX", "off")
    assert trial_box_from_env(NOBODY) is None
    assert "no memory, CPU or process limits" in box_report(None, NOBODY)[0]


def test_no_trial_user_means_no_box_and_on_refuses_to_start_without_one(bare_env):
    assert trial_box_from_env(None) is None
    bare_env.setenv("HPDASH_TRIAL_BOX", "on")
    with pytest.raises(ImproperlyConfigured, match="HPDASH_TRIAL_BOX=on, but .*trial user"):
        trial_box_from_env(None)


@boxable
def test_the_knobs_are_read_from_their_variables(bare_env):
    for name, value in {"HPDASH_TRIAL_UIDS": "300000-300099", "HPDASH_TRIAL_NETWORK": "none",
                        "HPDASH_TRIAL_MEMORY": "512M", "HPDASH_TRIAL_CPUS": "1.5",
                        "HPDASH_TRIAL_MAX_PROCESSES": "64"}.items():
        bare_env.setenv(name, value)
    box = trial_box_from_env(NOBODY)
    assert box is not None
    assert box.uids == range(300000, 300100) and not box.network
    assert (box.defaults.memory_bytes, box.defaults.cpus, box.defaults.processes) == (
        512 * MIB, 1.5, 64)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("HPDASH_TRIAL_UIDS", "lots", "HPDASH_TRIAL_UIDS must be a range"),
    ("HPDASH_TRIAL_UIDS", "9-3", "is empty"),
    ("HPDASH_TRIAL_UIDS", f"{os.geteuid()}-{os.geteuid() + 5}", "holds hpdash's own uid"),
    ("HPDASH_TRIAL_NETWORK", "some", "HPDASH_TRIAL_NETWORK must be one of host, none"),
    ("HPDASH_TRIAL_MEMORY", "plenty", "HPDASH_TRIAL_MEMORY: 'plenty' is not a size"),
    ("HPDASH_TRIAL_BOX", "maybe", "HPDASH_TRIAL_BOX must be one of auto, on, off"),
    ("HPDASH_TRIAL_MAX_PROCESSES", "-3", "HPDASH_TRIAL_MAX_PROCESSES must be an integer"),
])
def test_a_malformed_knob_is_refused_by_name(bare_env, name, value, message):
    bare_env.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        trial_box_from_env(NOBODY)


def test_zero_means_no_limit(bare_env):
    bare_env.setenv("HPDASH_TRIAL_MEMORY", "0")
    bare_env.setenv("HPDASH_TRIAL_MAX_PROCESSES", "0")
    limits = default_limits()
    assert limits.memory_bytes is None and limits.processes is None


@boxable
def test_make_run_checks_that_a_boxed_trainer_can_import_what_trainers_import(
        bare_env, tmp_path):
    box = trial_box_from_env(NOBODY)
    assert box is not None
    layout = DataLayout(tmp_path / "data")
    assert box_problem(box, layout) is None
    # The system's Python has no cloudml-hypertune: said, with what to change.
    problem = box_problem(box, layout, python="/usr/bin/python3")
    assert problem is not None and "cannot run /usr/bin/python3" in problem
    assert "ModuleNotFoundError" in problem and "HPDASH_TRIAL_BOX=off" in problem


def _start_log(caplog, settings, monkeypatch, box) -> str:
    """What `make run` logs at start about trainers, with this box (None: unboxed)."""
    import logging

    from hpdash.ops import supervisor

    monkeypatch.setattr(supervisor, "box_problem", lambda box, layout: None)
    monkeypatch.setattr(supervisor, "sandbox_problem", lambda user, pythons: None)
    settings.TRIAL_USER, settings.TRIAL_BOX = NOBODY, box
    with caplog.at_level(logging.INFO, logger="hpdash.ops.supervisor"):
        supervisor.Supervisor()._check_sandbox()
    return "\n".join(r.getMessage() for r in caplog.records)


def test_make_run_says_boxed_trainers_run_as_uids_of_their_own_not_as_the_trial_user(
        caplog, settings, monkeypatch):
    box = BoxSettings(bwrap="/usr/bin/bwrap", uids=range(200000, 265536), share_gid=65534)
    log = _start_log(caplog, settings, monkeypatch, box)
    assert ("each trial in its own namespaces (bubblewrap), as a uid of its own from "
            "200000-265535 (and nobody's group, HPDASH_TRIAL_USER's, to read its job's "
            "packages), network shared with the host") in log
    assert "run as nobody" not in log and "unboxed" not in log


def test_make_run_says_unboxed_trainers_all_run_as_the_trial_user(caplog, settings,
                                                                  monkeypatch):
    log = _start_log(caplog, settings, monkeypatch, None)
    assert ("trainers run as nobody (HPDASH_TRIAL_USER), all of them as that one user, "
            "unboxed") in log
    assert "own namespaces" not in log and "uid of its own" not in log
