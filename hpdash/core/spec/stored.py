"""The typed job as the database keeps it: a versioned JSON document, read back without parsing
any API family's request again.

``definition_to_json`` and ``definition_from_json`` are inverses (a test round-trips every
example job).  The document names its ``version``; a change to :class:`JobDefinition` that an
old document cannot be read into bumps it and teaches :func:`definition_from_json` the old one.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .types import (
    ContainerImage,
    GpuRequest,
    HyperparameterSpec,
    JobDefinition,
    MetricSpec,
    ParameterSpec,
    PythonPackage,
    StudyStopping,
    Trainer,
)

VERSION = 1


class StoredJobError(ValueError):
    """A stored document this version of hpdash cannot read."""


def definition_to_json(definition: JobDefinition) -> dict[str, Any]:
    doc = asdict(definition)
    doc["described"] = dict(definition.described)
    doc["hyperparameters"]["given"] = sorted(definition.hyperparameters.given)
    return {"version": VERSION, **doc}


def _params(rows: list[dict[str, Any]]) -> tuple[ParameterSpec, ...]:
    return tuple(ParameterSpec(**{**row,
                                  "categorical_values": tuple(row["categorical_values"]),
                                  "discrete_values": tuple(row["discrete_values"]),
                                  # absent before conditional parameters existed
                                  "parent_values": tuple(row.get("parent_values", ()))})
                 for row in rows)


def _trainer(doc: dict[str, Any]) -> Trainer:
    if "image_uri" in doc:  # a container image (added in version 1: no older one lacks it)
        return ContainerImage(image_uri=doc["image_uri"], command=tuple(doc["command"]),
                              args=tuple(doc["args"]))
    return PythonPackage(module=doc["module"], package_uris=tuple(doc["package_uris"]),
                         # absent from documents stored before it existed
                         python_version=doc.get("python_version"))


def definition_from_json(doc: dict[str, Any]) -> JobDefinition:
    version = doc.get("version")
    if version != VERSION:
        raise StoredJobError(f"stored job version {version!r} is not one this hpdash reads "
                             f"(it reads version {VERSION})")
    hp = doc["hyperparameters"]
    return JobDefinition(
        hyperparameters=HyperparameterSpec(**{**hp, "params": _params(hp["params"]),
                                              "given": frozenset(hp["given"]),
                                              # absent before several metrics existed
                                              "more_metrics": tuple(
                                                  MetricSpec(**m)
                                                  for m in hp.get("more_metrics", ())),
                                              "study_stopping": StudyStopping(
                                                  **hp["study_stopping"])
                                              if hp.get("study_stopping") else None}),
        trainer=_trainer(doc["trainer"]),
        args=tuple(doc["args"]),
        job_dir=doc["job_dir"],
        max_running_seconds=float(doc["max_running_seconds"]),
        gpus=GpuRequest(**doc["gpus"]),
        described=doc["described"],
        # Added after version 1 was written: older documents lack them (ml v1 jobs).
        contract=doc.get("contract", "mlv1"),
        env=tuple((str(k), str(v)) for k, v in doc.get("env", ())),
    )
