"""The multi-objective benchmark's code paths on tiny runs: every method (the GP peer when its
venv is there, else reported as not installed), the per-seed hypervolumes kept, and hpdash's
paired differences with each peer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import multiobjective  # noqa: E402


def test_a_tiny_run_scores_every_method_and_keeps_each_seed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mo.json"
    monkeypatch.setattr(sys, "argv", ["multiobjective.py", "--seeds", "2", "--trials", "4",
                                      "--problems", "branin-currin", "--out", str(out)])
    multiobjective.main()
    data = json.loads(out.read_text())
    raw = data["raw"]["branin-currin"]
    gp = "optuna GPSampler (logEHVI)"
    ran = set(multiobjective.METHODS) - set(data["missing"])
    assert set(raw) == ran and ran >= set(multiobjective.METHODS) - {gp}
    if gp in data["missing"]:
        assert multiobjective.peer_python("optuna-gp") is None
    for name in ran:
        assert len(raw[name]["hv@4"]) == 2 and all(v >= 0 for v in raw[name]["hv@4"])
    results = data["results"]["branin-currin"]
    assert "ours-minus@4" not in results[multiobjective.OURS]
    assert results["hpdash RANDOM_SEARCH"]["ours-minus@4"]["n"] == 2
    assert "| branin-currin | hpdash (default) | 2 |" in capsys.readouterr().out


def test_the_paired_difference_is_over_the_seeds_both_ran() -> None:
    raw = {"p": {multiobjective.OURS: {"hv@20": [3.0, 5.0, 7.0]},
                 "peer": {"hv@20": [1.0, 4.0]}}}
    cell = multiobjective.report(raw)["p"]["peer"]
    assert cell["hv@20"]["mean"] == 2.5 and cell["hv@20"]["n"] == 2
    diff = cell["ours-minus@20"]
    assert diff["mean"] == 1.5 and diff["n"] == 2  # (3-1, 5-4): the third seed unpaired
    assert diff["low"] < 1.5 < diff["high"]


def test_reused_runs_are_taken_from_the_earlier_file_and_the_tuning_set_is_separate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    rand = "hpdash RANDOM_SEARCH"
    monkeypatch.setattr(sys, "argv", ["multiobjective.py", "--seeds", "2", "--trials", "3",
                                      "--tuning", "--problems", "vlmop2-2d",
                                      "--methods", rand, "--out", str(first)])
    multiobjective.main()
    monkeypatch.setattr(sys, "argv", ["multiobjective.py", "--seeds", "2", "--trials", "3",
                                      "--problems", "vlmop2-2d", "--methods",
                                      multiobjective.OURS, "--reuse", rand, "--reuse-from",
                                      str(first), "--out", str(second)])
    multiobjective.main()
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert b["raw"]["vlmop2-2d"][rand]["hv@3"] == a["raw"]["vlmop2-2d"][rand]["hv@3"]
    assert rand in b["reused"] and multiobjective.OURS in b["raw"]["vlmop2-2d"]
    assert {p.name for p in multiobjective.TUNING_PROBLEMS}.isdisjoint(
        p.name for p in multiobjective.PROBLEMS)
