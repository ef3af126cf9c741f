"""Environment knobs: a malformed value stops hpdash at once, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hpdash.ops.env import env_bool, env_choice, env_float, env_int

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("name", "value", "read"), [
    ("HPDASH_WORKERS", "two", lambda n: env_int(n, 2, minimum=1)),
    ("HPDASH_WORKERS", "0", lambda n: env_int(n, 2, minimum=1)),
    ("HPDASH_HEARTBEAT_TIMEOUT", "nan", lambda n: env_float(n, 60.0)),
    ("HPDASH_DEBUG", "maybe", lambda n: env_bool(n)),
    ("HPDASH_LOG_LEVEL", "LOUD", lambda n: env_choice(n, "INFO", ("INFO", "DEBUG"))),
])
def test_a_malformed_value_is_refused_naming_the_variable(monkeypatch, name, value, read):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=f"^{name} must be .*got {value!r}"):
        read(name)


def test_unset_or_empty_knobs_take_their_defaults(monkeypatch):
    monkeypatch.setenv("HPDASH_PORT", "")
    monkeypatch.delenv("HPDASH_WEB_THREADS", raising=False)
    assert env_int("HPDASH_PORT", 8000) == 8000
    assert env_int("HPDASH_WEB_THREADS", 4) == 4
    monkeypatch.setenv("HPDASH_PORT", " 9000 ")
    assert env_int("HPDASH_PORT", 8000) == 9000


def test_the_service_refuses_to_start_with_a_malformed_knob(tmp_path):
    env = {**os.environ, "HPDASH_DATA_DIR": str(tmp_path), "HPDASH_PORT": "eighty",
           "DJANGO_SETTINGS_MODULE": "hpdash.settings"}
    out = subprocess.run([sys.executable, str(ROOT / "manage.py"), "check"], env=env,
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode != 0
    assert out.stderr.strip() == "hpdash: HPDASH_PORT must be an integer ≥ 1, got 'eighty'"
