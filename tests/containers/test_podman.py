"""podman as hpdash calls it on this machine: the containers.conf it writes makes a rootful
container start here (crun and podman's default rlimits do not), and the host-Python image
runs a trainer that reports with cloudml-hypertune."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpdash.core.runner.podman import Podman, bind, conf_text, image_candidates, write_conf


def test_the_conf_caps_the_rlimits_and_picks_runc_when_there():
    text = conf_text(runtime="runc")
    assert 'runtime = "runc"' in text
    assert "nofile=1024:" in text and "nproc=" in text


def test_write_conf_rewrites_only_what_changed(tmp_path: Path):
    path = write_conf(tmp_path)
    before = path.stat().st_mtime_ns
    assert write_conf(tmp_path) == path and path.stat().st_mtime_ns == before
    path.write_text("stale")
    assert write_conf(tmp_path).read_text() != "stale"


def test_a_short_image_name_matches_what_podman_finds_locally():
    assert image_candidates("trainer") == ["trainer:latest", "localhost/trainer:latest",
                                           "docker.io/library/trainer:latest"]
    assert image_candidates("gcr.io/p/t:v1") == ["gcr.io/p/t:v1"]
    assert image_candidates("localhost:5000/t") == ["localhost:5000/t:latest"]


def test_a_bind_takes_a_colon_but_refuses_a_comma():
    assert bind("/a/b:c", "/x") == ["--mount", "type=bind,source=/a/b:c,target=/x"]
    with pytest.raises(ValueError, match="comma"):
        bind("/a,b", "/x")


def test_a_container_starts_here_with_the_written_conf(podman: Podman):
    assert podman.problem() is None


def test_the_host_python_image_runs_a_hypertune_trainer_read_only(podman: Podman, image: str,
                                                                   tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    code = ("import hypertune, ssl, sqlite3, os;"
            "hypertune.HyperTune().report_hyperparameter_tuning_metric("
            "hyperparameter_metric_tag='score', metric_value=0.5, global_step=3);"
            "print(os.getuid())")
    run = podman.run("run", "--rm", "--pull=never", "--network=none", "--user=65534:65534",
                     "--read-only", "--tmpfs=/tmp", *bind(out, "/tmp/hypertune"), image,
                     "python3", "-c", code, timeout=120)
    assert run.stdout.strip() == "65534"
    assert '"score": "0.5"' in (out / "output.metrics").read_text()


def test_images_lists_each_name_with_its_short_id_and_size(podman: Podman, image: str):
    found = {entry["name"]: entry for entry in podman.images()}
    entry = found[image]
    assert len(entry["id"]) == 12 and int(entry["id"], 16) >= 0
    assert isinstance(entry["size"], int) and entry["size"] > 10_000_000
