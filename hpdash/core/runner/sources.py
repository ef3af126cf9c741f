"""Where a trial's metric comes from: the ``cloudml-hypertune`` file and TensorFlow summaries.

Both are followed while the trial runs.  **The first source that yields a value wins** and is
the only one read from then on (within one poll the hypertune file is asked first): a trainer
that reports through both — say a Keras TensorBoard callback and a ``hypertune`` call with the
same tag — is not counted twice.  Event files are looked for under the trial's own job dir
(``<jobDir>/<trialId>``, train and eval subfolders alike), so only when the job has a jobDir.
"""

from __future__ import annotations

from .metrics import HypertuneFollower, Measurement
from .tfevents import TfEventsFollower


class MetricSources:
    def __init__(self, hypertune_file: str, tag: str, events_root: str | None,
                 not_before: float | None = None) -> None:
        self.hypertune = HypertuneFollower(hypertune_file, tag)
        self.tfevents = (TfEventsFollower(events_root, tag, min_wall_time=not_before)
                         if events_root else None)
        self.chosen: str | None = None  # "hypertune" | "tfevents" once one produced data

    def poll(self, final: bool = False) -> tuple[str, list[Measurement]]:
        """New measurements and the name of their source."""
        if self.chosen in (None, "hypertune"):
            new = self.hypertune.poll()
            if new:
                self.chosen = "hypertune"
                return "hypertune", new
        if self.tfevents is not None and self.chosen in (None, "tfevents"):
            new = self.tfevents.poll(final=final)
            if new:
                self.chosen = "tfevents"
                return "tfevents", new
        return self.chosen or "hypertune", []

    @property
    def rejected(self) -> list[str]:
        return self.hypertune.rejected + (self.tfevents.rejected if self.tfevents else [])
