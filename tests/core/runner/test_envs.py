"""A job's environment: its cache key hashes what is installed (contents, not names or dates),
the interpreter, hpdash's trainer support and the index settings; a build that fails leaves
nothing behind and says why in the installer's words; a second build of the same key is not
run."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from hpdash.core.runner.envs import (
    EnvError,
    JobEnvs,
    env_key,
    index_env,
    is_installable,
    seal,
    support_files,
    tree_digest,
)


def _key(**over: object) -> str:
    args: dict[str, object] = {"python": "/usr/bin/python3.11", "python_id": "1:2",
                               "inputs": ["a" * 64], "support": "s", "index": {}}
    args.update(over)
    return env_key(**args)  # type: ignore[arg-type]


def test_the_key_changes_with_each_thing_that_changes_the_environment():
    base = _key()
    assert _key() == base
    for change in ({"python": "/usr/bin/python3.12"}, {"python_id": "1:3"},
                   {"inputs": ["b" * 64]}, {"inputs": ["a" * 64, "b" * 64]}, {"support": "t"},
                   {"index": {"UV_INDEX_URL": "https://mirror/simple"}}):
        assert _key(**change) != base, change


def test_a_trees_digest_is_its_contents_not_its_place_or_dates(tmp_path):
    one, two = tmp_path / "one" / "pkg", tmp_path / "two" / "pkg"
    for root in (one, two):
        (root / "mod").mkdir(parents=True)
        (root / "mod" / "__init__.py").write_text("x = 1\n")
        (root / "setup.py").write_text("from setuptools import setup; setup()\n")
    (two / "mod" / "__pycache__").mkdir()
    (two / "mod" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    os.utime(two / "setup.py", (0, 0))
    assert tree_digest(str(one)) == tree_digest(str(two))
    (two / "mod" / "__init__.py").write_text("x = 2\n")
    assert tree_digest(str(one)) != tree_digest(str(two))
    (two / "mod" / "__init__.py").write_text("x = 1\n")
    (two / "mod" / "extra.py").write_text("")
    assert tree_digest(str(one)) != tree_digest(str(two))


def test_wheels_sdists_and_source_trees_are_installed_plain_package_dirs_are_not(tmp_path):
    tree, plain = tmp_path / "tree", tmp_path / "plain"
    for d in (tree, plain):
        d.mkdir()
    (tree / "pyproject.toml").write_text("[project]\nname='t'\n")
    (plain / "__init__.py").write_text("")
    assert is_installable(str(tree)) and not is_installable(str(plain))
    assert is_installable("/x/pkg-1.0-py3-none-any.whl") and is_installable("/x/pkg-1.0.tar.gz")


def test_pips_index_settings_serve_uv_too_and_uvs_own_win():
    env = index_env({"PIP_INDEX_URL": "https://a/simple", "PIP_FIND_LINKS": "/w",
                     "UV_FIND_LINKS": "/uv", "HTTPS_PROXY": "http://p:3128",
                     "UV_CACHE_DIR": "/mine", "HPDASH_SECRET": "x", "HOME": "/root"})
    assert env == {"HTTPS_PROXY": "http://p:3128", "PIP_FIND_LINKS": "/w",
                   "PIP_INDEX_URL": "https://a/simple", "UV_FIND_LINKS": "/uv",
                   "UV_INDEX_URL": "https://a/simple"}


def test_the_support_holds_hypertune_and_hpdashs_trainer_helpers():
    files = support_files()
    assert "hypertune/__init__.py" in files and "hpdash/trainer/summary.py" in files
    assert "hpdash/__init__.py" in files and not any(f.startswith("hpdash/core") for f in files)


class FakeInstaller:
    """Runs no installer: makes the venv directory the way ``uv venv`` would, records each
    step, and fails the install step when told to."""

    def __init__(self, fail: bool = False) -> None:
        self.steps: list[list[str]] = []
        self.fail = fail

    def __call__(self, argv: Sequence[str], env: Mapping[str, str], cwd: str
                 ) -> tuple[int, str]:
        self.steps.append(list(argv))
        if argv[1] == "venv":
            (Path(argv[-1]) / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
            (Path(argv[-1]) / "bin").mkdir()
            return 0, ""
        if self.fail:
            return 1, "error: No solution found when resolving dependencies:\n  pinme==9"
        return 0, ""


@pytest.fixture
def envs(tmp_path: Path) -> JobEnvs:
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\n")
    uv.chmod(0o755)
    return JobEnvs(tmp_path / "envs", uv=str(uv), group=None)


def _build(envs: JobEnvs, tmp_path: Path, installer: FakeInstaller, key: str = "k1") -> bool:
    pkg = tmp_path / "pkg-1.0.tar.gz"
    pkg.write_bytes(b"sdist")
    build, copies = envs.stage([str(pkg)])
    return envs.ensure(key=key, build=build, inputs=copies, python=sys.executable, index={},
                       support={"hypertune/__init__.py": b"x = 1\n"}, run=installer,
                       owner=None)


def test_an_environment_is_built_once_and_then_found_in_the_cache(envs, tmp_path):
    installer = FakeInstaller()
    assert _build(envs, tmp_path, installer) is True
    assert [s[1] for s in installer.steps] == ["venv", "pip"]
    assert envs.ready("k1")
    site = envs.root / "k1" / "lib" / "python3.11" / "site-packages"
    assert "hpdash-support" in (site / "_hpdash_support.pth").read_text()
    assert (envs.root / "k1" / "hpdash-support" / "hypertune" / "__init__.py").exists()
    again = FakeInstaller()
    assert _build(envs, tmp_path, again) is False and again.steps == []
    assert not list(envs.root.glob(".build-*"))  # no build directory is left behind


def test_a_failed_install_leaves_no_environment_and_quotes_the_installer(envs, tmp_path):
    with pytest.raises(EnvError) as err:
        _build(envs, tmp_path, FakeInstaller(fail=True))
    assert "No solution found" in str(err.value) and "pinme==9" in str(err.value)
    assert not envs.ready("k1") and not list(envs.root.glob(".build-*"))
    assert _build(envs, tmp_path, FakeInstaller()) is True  # and a later build may succeed


@pytest.mark.skipif(os.geteuid() != 0, reason="sealing re-owns files: root only")
def test_sealing_refuses_a_hard_link_a_build_planted(tmp_path):
    tree = tmp_path / "env"
    tree.mkdir()
    (tree / "ok.py").write_text("")
    outside = tmp_path / "secret"
    outside.write_text("root's")
    os.link(outside, tree / "linked")
    with pytest.raises(EnvError, match="linked"):
        seal(tree, 0)


def test_two_workers_building_the_same_environment_at_once_build_it_once(envs, tmp_path):
    import threading
    import time

    class Slow(FakeInstaller):
        def __call__(self, argv: Sequence[str], env: Mapping[str, str], cwd: str
                     ) -> tuple[int, str]:
            time.sleep(0.3)  # long enough for the other worker to arrive meanwhile
            return super().__call__(argv, env, cwd)

    installers = [Slow(), Slow()]
    built: list[bool] = []
    threads = [threading.Thread(target=lambda i=i: built.append(
        _build(envs, tmp_path, installers[i]))) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(built) == [False, True]
    assert sorted(len(i.steps) for i in installers) == [0, 2]
    assert envs.ready("k1") and not list(envs.root.glob(".build-*"))


def test_a_build_step_stops_when_the_worker_says_so_and_ends_its_process(tmp_path):
    import time

    from hpdash.core.runner.envs import Stopped
    from hpdash.core.runner.executors.jobenv import step_runner
    from hpdash.core.runner.process import TrainerProcess

    started: list[TrainerProcess] = []

    def launch(argv, env, cwd, log):
        started.append(TrainerProcess(argv, env, cwd, log))
        return started[-1]

    ticks: list[float] = []

    def tick() -> str | None:
        ticks.append(time.monotonic())
        return "job cancelled" if len(ticks) >= 2 else None  # the heartbeat, then a cancel

    run = step_runner(launch, tmp_path / "log", orphans=False, tick=tick)
    began = time.monotonic()
    with pytest.raises(Stopped, match="job cancelled"):
        run([sys.executable, "-c", "import time; time.sleep(60)"], {}, str(tmp_path))
    assert time.monotonic() - began < 10
    assert started[0].proc.returncode is not None  # the step's process is gone
