"""Output like gcloud's: resources as block-style YAML with sorted keys, plain tables, and
errors as ``ERROR: (hpdash.jobs.describe) STATUS: message`` plus the field violations."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import yaml

from hpdash.cli.client import ApiError


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line strings (error messages, tracebacks) as literal blocks, like gcloud.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(resource: Any) -> str:
    return yaml.dump(resource, Dumper=_Dumper, sort_keys=True, default_flow_style=False,
                     allow_unicode=True, width=1_000_000)


def to_json(resource: Any) -> str:
    return json.dumps(resource, indent=2, sort_keys=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A gcloud-style table: upper-case headers, columns two spaces apart."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [list(headers), *rows]]
    return "\n".join(lines) + "\n"


def _trial_key(trial: dict[str, Any]) -> tuple[int, int, str]:
    tid = str(trial.get("trialId", ""))
    return (0, int(tid), "") if tid.isdigit() else (1, 0, tid)


def _param_names(job: dict[str, Any], trials: Sequence[dict[str, Any]]) -> list[str]:
    """Spec order first, then any other name the trials carry."""
    hp = (job.get("trainingInput") or {}).get("hyperparameters") or {}
    names = [str(p.get("parameterName")) for p in hp.get("params") or []
             if isinstance(p, dict) and p.get("parameterName")]
    for t in trials:
        for name in t.get("hyperparameters") or {}:
            if name not in names:
                names.append(name)
    return names


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def trials_table(job: dict[str, Any]) -> str:
    """gcloud's "Training Output Trials" (``trainingOutput.trials.sort(trialId)``): TRIAL,
    OBJECTIVE_VALUE, STEP, then one column per hyperparameter. Empty without trials."""
    trials = sorted((job.get("trainingOutput") or {}).get("trials") or [], key=_trial_key)
    if not trials:
        return ""
    names = _param_names(job, trials)
    rows = []
    for t in trials:
        metric = t.get("finalMetric") or {}
        hps = t.get("hyperparameters") or {}
        rows.append([_cell(t.get("trialId")), _cell(metric.get("objectiveValue")),
                     _cell(metric.get("trainingStep")), *(_cell(hps.get(n)) for n in names)])
    return "Training Output Trials\n" + table(["TRIAL", "OBJECTIVE_VALUE", "STEP", *names], rows)


def describe(job: dict[str, Any]) -> str:
    out = to_yaml(job)
    trials = trials_table(job)
    if trials:
        out += "\n" + trials
    return out


_FRACTION = re.compile(r"\.(\d+)")


def local_time(value: str | None) -> str:
    """RFC 3339 UTC -> local time as gcloud's ``date(tz=LOCAL)`` shows it."""
    if not value:
        return ""
    try:
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def jobs_table(jobs: Sequence[dict[str, Any]]) -> str:
    """gcloud's ``jobs list``: JOB_ID, STATUS, CREATED."""
    rows = [[str(j.get("jobId", "")), str(j.get("state", "")), local_time(j.get("createTime"))]
            for j in jobs]
    return table(["JOB_ID", "STATUS", "CREATED"], rows)


def api_error(command: str, exc: ApiError) -> str:
    """The server's message, then its field violations one per line. hpdash's validation
    message is just the violations joined with "; ", so that is not printed twice."""
    violations = exc.violations
    lines = [f"ERROR: ({command}) {exc.status}: {exc.message}".rstrip()]
    if violations and exc.message == "; ".join(f"Field: {f} Error: {d}" for f, d in violations):
        if len(violations) == 1:
            violations = []
        else:
            lines = [f"ERROR: ({command}) {exc.status}: {len(violations)} invalid fields:"]
    elif violations:
        lines.append("Field violations:")
    lines += [f"  - {field or '(request)'}: {description}" for field, description in violations]
    if exc.status == "UNAUTHENTICATED":
        lines.append("Set a token with --token, HPDASH_TOKEN or `hpdash config set token TOKEN` "
                     "(create one on the server with `manage.py create_api_token USER`).")
    if exc.hint:
        lines.append(exc.hint)
    return "\n".join(lines) + "\n"


def error(command: str, message: str) -> str:
    return f"ERROR: ({command}) {message}\n"
