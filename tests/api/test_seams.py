"""The seams of the layout hold: ml v1's wire format stays in its front door.

Outside ``core/spec`` (the typed job and the ml v1 parser) and ``api/mlv1``, code speaks the
typed job.  The modules below still name ml v1 fields, each for the reason given: a new one
fails this test, so that a second API family never has to learn the first one's words."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

HPDASH = Path(__file__).resolve().parents[2] / "hpdash"

ML_V1_FIELDS = re.compile(
    r"\b(trainingInput|trainingOutput|hyperparameterMetricTag|packageUris|pythonModule|"
    r"masterConfig|acceleratorConfig|scaleTier|maxParallelTrials|maxTrials|"
    r"isTrialStoppedEarly|resumePreviousJobId|finalMetric|objectiveValue)\b")

ALLOWED = {
    "core/spec": "the ml v1 parser, which builds the typed job",
    "api/mlv1": "the ml v1 front door",
    "cli": "the hpdash command is a client of the ml v1 API",
    "dashboard/forms": "the new-job form builds an ml v1 Job to reuse the one validator",
    "dashboard/views/new_job.py": "the new-job form (as above)",
    "dashboard/exports.py": "trials.json promises each trial as the ml v1 API shows it",
    "management/commands/seed_demo_job.py": "the demo job is written as an ml v1 Job",
    "migrations": "the migration that moved ml v1's trainingInput into the typed job",
}


def _strings(tree: ast.AST) -> Iterator[str]:
    """Every string constant in code: docstrings and comments may name fields."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                id(node) not in docstrings):
            yield node.value


def _allowed(relative: str) -> bool:
    return any(relative == key or relative.startswith(key + "/") for key in ALLOWED)


def test_only_the_ml_v1_front_door_and_the_listed_modules_use_ml_v1_field_names() -> None:
    found = {}
    for path in sorted(HPDASH.rglob("*.py")):
        relative = path.relative_to(HPDASH).as_posix()
        names = {m.group(1) for text in _strings(ast.parse(path.read_text()))
                 for m in ML_V1_FIELDS.finditer(text)}
        if names and not _allowed(relative):
            found[relative] = sorted(names)
    assert found == {}, "ml v1 field names outside its front door (use the typed job)"


def test_the_scan_sees_what_it_is_meant_to_catch() -> None:
    code = '"""trainingInput in a docstring"""\nx = job.request["trainingInput"]["scaleTier"]'
    assert sorted(_strings(ast.parse(code))) == ["scaleTier", "trainingInput"]
    assert all(_allowed(key) for key in ALLOWED)
    assert not _allowed("dashboard/views/job_page.py")
