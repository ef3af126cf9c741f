"""The server's record of a trial log sent by a worker machine: each byte once, in order; a
resent chunk is harmless, a gap is refused with the offset wanted, a superseded attempt writes
nothing, and the log cap holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from support import job_row

from hpdash.core.layout import DataLayout
from hpdash.core.states import TrialState
from hpdash.models import Trial
from hpdash.services.trial_logs import LogRefused, trial_log_append

pytestmark = pytest.mark.django_db
HP = {"goal": "MAXIMIZE", "hyperparameterMetricTag": "acc", "maxTrials": 2,
      "params": [{"parameterName": "x", "type": "DOUBLE", "minValue": 0, "maxValue": 1}]}


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path: Path):
    settings.DATA_DIR = str(tmp_path)


@pytest.fixture
def trial() -> Trial:
    job = job_row("logs_1", HP)
    return Trial.objects.create(job=job, trial_id=1, state=TrialState.RUNNING,
                                params={"x": 0.5}, attempt=2)


def server_log(trial: Trial) -> bytes:
    path = DataLayout(Path(django_settings.DATA_DIR)).trial_log("p", "logs_1", 1)
    return path.read_bytes() if path.exists() else b""


def test_chunks_in_order_make_the_servers_log(trial):
    assert trial_log_append(trial_pk=trial.pk, attempt=2, offset=0, data=b"epoch 1\n") == 8
    assert trial_log_append(trial_pk=trial.pk, attempt=2, offset=8, data=b"epoch 2\n") == 16
    assert server_log(trial) == b"epoch 1\nepoch 2\n"


def test_a_chunk_sent_again_after_a_lost_answer_is_written_once(trial):
    trial_log_append(trial_pk=trial.pk, attempt=2, offset=0, data=b"epoch 1\n")
    assert trial_log_append(trial_pk=trial.pk, attempt=2, offset=0,
                            data=b"epoch 1\nepoch 2\n") == 16
    assert server_log(trial) == b"epoch 1\nepoch 2\n"


def test_a_gap_is_refused_with_the_offset_the_server_wants(trial):
    trial_log_append(trial_pk=trial.pk, attempt=2, offset=0, data=b"abc")
    with pytest.raises(LogRefused) as refused:
        trial_log_append(trial_pk=trial.pk, attempt=2, offset=10, data=b"xyz")
    assert refused.value.expected == 3
    assert server_log(trial) == b"abc"


def test_a_superseded_attempt_writes_nothing(trial):
    with pytest.raises(LogRefused) as refused:
        trial_log_append(trial_pk=trial.pk, attempt=1, offset=0, data=b"stale trainer\n")
    assert refused.value.expected is None
    assert "superseded" in str(refused.value)
    assert server_log(trial) == b""


def test_the_log_cap_holds_for_sent_logs(trial, settings):
    settings.HPDASH = dataclasses.replace(django_settings.HPDASH, trial_log_max_bytes=10)
    assert trial_log_append(trial_pk=trial.pk, attempt=2, offset=0, data=b"x" * 25) == 25
    assert server_log(trial) == b"x" * 10
