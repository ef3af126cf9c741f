"""Notes people write on a job's or a trial's page: free text kept with it, shown on its page
and in the trials exports (no API family carries them)."""

from __future__ import annotations

from hpdash.core.spec import FieldViolation, SpecError
from hpdash.models import Job, Trial

MAX_NOTE_CHARS = 10_000


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_NOTE_CHARS:
        raise SpecError([FieldViolation("note", f"a note is at most {MAX_NOTE_CHARS:,} "
                                                f"characters; this one has {len(text):,}")])
    return text


def job_note_set(*, job: Job, text: str) -> Job:
    """Replace the job's note (an empty text removes it).  SpecError on ``note`` when too long."""
    job.note = _clean(text)
    Job.objects.filter(pk=job.pk).update(note=job.note)
    return job


def trial_note_set(*, trial: Trial, text: str) -> Trial:
    """Replace the trial's note; the worker's writes never touch it, so a running trial's note
    can be written while it runs.  SpecError on ``note`` when too long."""
    trial.note = _clean(text)
    Trial.objects.filter(pk=trial.pk).update(note=trial.note)
    return trial
