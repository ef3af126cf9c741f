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


NOTE_CHARS = 60


def _failures(details: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{trial id: ``{"reason", "logTail"}``} from the server's ``:hpdashDetails``."""
    return {str(t.get("trialId")): t["failure"] for t in details.get("trials") or []
            if isinstance(t, dict) and isinstance(t.get("failure"), dict)}


def _note(trial: dict[str, Any], failure: dict[str, Any]) -> str:
    if trial.get("isTrialStoppedEarly"):
        return "stopped early"
    reason = str(failure.get("reason") or "")
    first = reason.splitlines()[0] if reason else ""
    return first if len(first) <= NOTE_CHARS else first[:NOTE_CHARS - 1] + "…"


def trials_table(job: dict[str, Any], details: dict[str, Any] | None = None) -> str:
    """gcloud's "Training Output Trials" (TRIAL, OBJECTIVE_VALUE, STEP, one column per
    hyperparameter) plus STATE, and a NOTE column when some trial was stopped early ("stopped
    early") or failed (its reason, e.g. "exit code 1"). Rows in the API's order, best first
    (gcloud re-sorts by trial id). Empty without trials."""
    trials = list((job.get("trainingOutput") or {}).get("trials") or [])
    if not trials:
        return ""
    names = _param_names(job, trials)
    details = details or {}
    failed = _failures(details)
    notes = [_note(t, failed.get(str(t.get("trialId")), {})) for t in trials]
    gpus = {str(d.get("trialId")): ",".join(d.get("gpus") or []) or "-"
            for d in details.get("trials") or []} if details.get("gpusPerTrial") else None
    rows = []
    for t, note in zip(trials, notes, strict=True):
        metric = t.get("finalMetric") or {}
        hps = t.get("hyperparameters") or {}
        rows.append([_cell(t.get("trialId")), _cell(t.get("state")),
                     _cell(metric.get("objectiveValue")), _cell(metric.get("trainingStep")),
                     *(_cell(hps.get(n)) for n in names),
                     *([gpus.get(str(t.get("trialId")), "-")] if gpus is not None else []),
                     *([note] if any(notes) else [])])
    headers = ["TRIAL", "STATE", "OBJECTIVE_VALUE", "STEP", *names,
               *(["GPUS"] if gpus is not None else []), *(["NOTE"] if any(notes) else [])]
    return "Training Output Trials\n" + table(headers, rows)


def failures(job: dict[str, Any], details: dict[str, Any]) -> str:
    """Each failed trial's reason with the last lines its program wrote, from the server's
    ``:hpdashDetails``, in the job's trial order. Empty if there is none."""
    blocks = []
    failed = _failures(details)
    for t in (job.get("trainingOutput") or {}).get("trials") or []:
        failure = failed.get(str(t.get("trialId")))
        if not failure:
            continue
        block = [f"Trial {t.get('trialId')} FAILED: {failure.get('reason') or 'no reason given'}"]
        block += [f"  {line}" for line in str(failure.get("logTail") or "").splitlines()]
        blocks.append("\n".join(block) + "\n")
    return "\n".join(blocks)


def _without_trials(job: dict[str, Any]) -> dict[str, Any]:
    output = job.get("trainingOutput")
    if not isinstance(output, dict) or not output.get("trials"):
        return job
    rest = {k: v for k, v in output.items() if k != "trials"}
    if not rest:
        return {k: v for k, v in job.items() if k != "trainingOutput"}
    return {**job, "trainingOutput": rest}


def describe(job: dict[str, Any], details: dict[str, Any] | None = None) -> str:
    """The job as YAML, then why its trials wait (if they do), the trials table (with each
    trial's GPUs when the job asks for some) and the failed trials' log tails.  ``details``
    is the server's ``:hpdashDetails``.  The trials are in the table, so the YAML leaves them
    out (``--format yaml`` prints the whole resource): a 20-trial job was 344 lines of YAML
    before its table."""
    details = details or {}
    out = to_yaml(_without_trials(job))
    waiting = f"Trials wait for GPUs: {details['waiting']}\n" if details.get("waiting") else ""
    for part in (waiting, trials_table(job, details), failures(job, details)):
        if part:
            out += "\n" + part
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


def _size(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def images_table(machines: Sequence[dict[str, Any]]) -> str:
    """``hpdash images``: one row per image of each worker machine (MACHINE, IMAGE, ID, SIZE,
    REPORTED; a machine with none on a row saying so), then a line for each machine that runs
    no containers (why) and for each that pulls missing images (from where)."""
    rows: list[list[str]] = []
    notes: list[str] = []
    for m in machines:
        name = str(m.get("name", ""))
        if m.get("live") is False:
            name += " (no running worker)"
        if not m.get("runsContainers"):
            notes.append(f"{name} runs no containers: {m.get('problem') or 'not said'}")
            continue
        when = local_time(m.get("reportTime"))
        images = m.get("images") or []
        for image in images:
            rows.append([name, str(image.get("name", "")), str(image.get("id") or ""),
                         _size(image.get("size")), when])
        if not images:
            rows.append([name, "(no images)", "", "", when])
        if m.get("pullFrom"):
            notes.append(f"{name} pulls missing images from {', '.join(m['pullFrom'])}")
    out = table(["MACHINE", "IMAGE", "ID", "SIZE", "REPORTED"], rows) if rows else ""
    return out + "".join(f"{note}\n" for note in notes)


def api_error(command: str, exc: ApiError) -> str:
    """The server's message, then its field violations one per line. hpdash's validation
    message is just the violations joined with "; ", and a violation the message already says
    (a bad filter's) is left out, so nothing is printed twice."""
    violations = [(f, d) for f, d in exc.violations
                  if not d or d not in exc.message or exc.message.startswith("Field: ")]
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
        lines.append("Set a token with HPDASH_TOKEN or `hpdash config set token` (which reads "
                     "it from standard input; create one on the server with "
                     "`manage.py create_api_token USER`).")
    if exc.hint:
        lines.append(exc.hint)
    return "\n".join(lines) + "\n"


def error(command: str, message: str) -> str:
    return f"ERROR: ({command}) {message}\n"
