"""The typed job survives the database: what is stored reads back as what was parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpdash.core.spec import JobDefinition, load_config, parse_job
from hpdash.core.spec.stored import StoredJobError, definition_from_json, definition_to_json

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*/hptuning_config.yaml"))


def _example(config: Path) -> JobDefinition:
    data = load_config(config.read_text())
    data["trainingInput"].update(pythonModule="trainer.task", jobDir="file:///srv/out",
                                 masterConfig={"acceleratorConfig": {"count": "2"}})
    return parse_job(data, require_job_id=False).definition


@pytest.mark.parametrize("config", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_job_reads_back_as_it_was_parsed(config: Path) -> None:
    definition = _example(config)
    back = definition_from_json(definition_to_json(definition))
    assert back == definition
    assert back.described == definition.described
    assert back.hyperparameters.given == definition.hyperparameters.given
    assert back.gpus.count == 2


def test_a_document_of_an_unknown_version_is_refused_by_name() -> None:
    doc = {**definition_to_json(_example(EXAMPLES[0])), "version": 99}
    with pytest.raises(StoredJobError, match="version 99"):
        definition_from_json(doc)


def test_trainers_are_told_about_their_job_in_snake_case_as_the_classic_service_did() -> None:
    data = {"trainingInput": {"pythonModule": "trainer.task", "jobDir": "/out",
                              "scaleTier": "BASIC_GPU", "hyperparameters": {
                                  "maxTrials": 1, "params": [{
                                      "parameterName": "x", "type": "DOUBLE",
                                      "minValue": 0, "maxValue": 1}]}}}
    described = parse_job(data, require_job_id=False).definition.described
    assert described["python_module"] == "trainer.task"
    assert described["job_dir"] == "/out" and described["scale_tier"] == "BASIC_GPU"
    assert described["hyperparameters"]["max_trials"] == 1
