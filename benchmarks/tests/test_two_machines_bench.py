"""The scale-out benchmark's report (nothing timed): a table row per cell and the ratio."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import report  # noqa: E402
import two_machines  # noqa: E402


def test_the_report_has_a_row_per_machine_count_and_the_ratio_of_medians() -> None:
    text = two_machines.render({"1 machine": [100.0, 120.0, 110.0],
                                "2 machines": [200.0, 210.0, 190.0]}, 40, 2, 12.0)
    assert "| 1 machine | 2 | **110** | 100 | 120 |" in text
    assert "| 2 machines | 4 | **200** | 190 | 210 |" in text
    assert "Two machines ÷ one: **1.82×**" in text


def test_without_ip_netns_or_postgresql_it_says_why(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("E2E_DATABASE_URL", raising=False)
    assert two_machines.main(["--quick"]) == report.SKIPPED  # run.py: skipped, not failed
    assert "two_machines:" in capsys.readouterr().out
