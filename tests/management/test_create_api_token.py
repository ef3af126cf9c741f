"""``manage.py create_api_token`` run where ``make run``'s database is not: one line, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_an_empty_data_dir_is_named_in_one_line_and_no_token_is_printed(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HPDASH_", "DATABASE_URL"))}
    env["HPDASH_DATA_DIR"] = str(tmp_path / "var")
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "create_api_token", "bob"],
                            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(tmp_path / "var") in lines[0] and "no hpdash database yet" in lines[0]
    assert "Traceback" not in result.stderr
