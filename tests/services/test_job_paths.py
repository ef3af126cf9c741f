"""Which paths a job may name (issue 19, item 3): never /proc, /sys, /dev or the data dir, and
a jobDir belongs to the project that first used it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from support import submit_ml_job

from hpdash.core.spec import SpecError
from hpdash.models import Job, JobDir
from hpdash.ops import queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quiet_queue(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_advance", lambda pk: None)


@pytest.fixture
def allow_all(settings):
    settings.HPDASH = replace(settings.HPDASH, allowed_paths=("/",))


def job(job_id: str, **training: object) -> dict[str, object]:
    ti: dict[str, object] = {"pythonModule": "trainer.task", "hyperparameters": {
        "goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 1,
        "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}}
    ti.update(training)
    return {"jobId": job_id, "trainingInput": ti}


def refusal(project: str, body: dict[str, object]) -> tuple[str, str]:
    with pytest.raises(SpecError) as err:
        submit_ml_job(project=project, data=body)
    v = err.value.violations[0]
    return v.field, v.description


@pytest.mark.parametrize("uri", ["/proc/1/root/etc", "/proc/self/cwd", "/sys/kernel",
                                 "/dev/shm", "file:///proc/1/root/etc"])
def test_packages_and_job_dirs_under_proc_sys_or_dev_are_refused_naming_the_field(allow_all, uri):
    field, why = refusal("p", job("a", packageUris=[uri]))
    assert field == "trainingInput.packageUris[0]" and "which no job may use" in why
    field, why = refusal("p", job("b", jobDir=uri))
    assert field == "trainingInput.jobDir" and "which no job may use" in why


def test_the_data_dir_and_what_is_in_it_are_no_jobs_packages_or_job_dir(allow_all, settings):
    data = Path(settings.DATA_DIR)
    (data / "jobs").mkdir(parents=True, exist_ok=True)
    for uri in (str(data), str(data / "jobs"), str(data.parent)):
        field, why = refusal("p", job("a", packageUris=[uri]))
        assert field == "trainingInput.packageUris[0]" and "data directory" in why, why
    field, why = refusal("p", job("b", jobDir=str(data / "jobs")))
    assert field == "trainingInput.jobDir" and "data directory" in why
    assert not Job.objects.exists()


def test_a_package_uploaded_through_the_form_is_the_one_thing_in_the_data_dir_a_job_may_name(
        allow_all, settings):
    upload = Path(settings.DATA_DIR) / "uploads" / "0123abcd" / "trainer-0.1.tar.gz"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"\x1f\x8b")
    submit_ml_job(project="p", data=job("a", packageUris=[str(upload)]))
    field, _ = refusal("p", job("b", packageUris=[str(upload.parent)]))
    assert field == "trainingInput.packageUris[0]"


def test_a_job_dir_belongs_to_the_project_that_first_used_it(allow_all, tmp_path):
    out = tmp_path / "out"
    submit_ml_job(project="alice", data=job("a1", jobDir=str(out)))
    submit_ml_job(project="alice", data=job("a2", jobDir=str(out)))  # the owner reuses it
    for i, taken in enumerate((out, out / "1", tmp_path, Path(f"{out}/./"))):
        field, why = refusal("bob", job(f"b{i}", jobDir=str(taken)))
        assert field == "trainingInput.jobDir" and "another project" in why, taken
        assert "alice" not in why  # another project's name is not the asker's to see
    assert [(d.path, d.project_id) for d in JobDir.objects.all()] == [(str(out), "alice")]
    submit_ml_job(project="bob", data=job("b9", jobDir=str(tmp_path / "bobs")))


def test_a_link_to_another_projects_job_dir_is_the_same_job_dir(allow_all, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "alias").symlink_to(out)
    submit_ml_job(project="alice", data=job("a1", jobDir=str(out)))
    field, _ = refusal("bob", job("b1", jobDir=str(tmp_path / "alias")))
    assert field == "trainingInput.jobDir"
