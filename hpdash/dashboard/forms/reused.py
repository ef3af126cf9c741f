"""What a resumed job takes from the job it continues, as the new-job form shows it (read-only):
goal, metric tag, algorithm, parameters, and how many finished trials count as history."""

from __future__ import annotations

from typing import Any

from hpdash.core.spec import ParameterSpec
from hpdash.core.spec.space import format_number
from hpdash.selectors.jobs import job_get
from hpdash.selectors.resume import resume_history_count


def reused_summary(user: Any, resume_from: object) -> dict[str, Any] | None:
    """``resume_from`` is the form's ``project/jobId``; None when empty or not visible."""
    project, _, job_id = str(resume_from or "").partition("/")
    prev = job_get(user=user, project=project, job_id=job_id) if job_id else None
    if prev is None:
        return None
    params = [(p.name, p.type, _values(p)) for p in prev.spec.params]
    return {"job": prev, "params": params, "history": resume_history_count(prev)}


def _values(p: ParameterSpec) -> str:
    if p.type == "CATEGORICAL":
        return ", ".join(p.categorical_values)
    if p.type == "DISCRETE":
        return ", ".join(format_number(v) for v in p.discrete_values)
    scale = f" ({p.scale_type})" if p.scale_type != "NONE" else ""
    low, high = float(p.min_value or 0), float(p.max_value or 0)
    return f"{format_number(low)} … {format_number(high)}{scale}"
