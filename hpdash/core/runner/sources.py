"""Where a trial's metric comes from: the ``cloudml-hypertune`` file and TensorFlow summaries.

Both are followed while the trial runs.  **The first source that yields a value wins** and is
the only one read from then on (within one poll the hypertune file is asked first): a trainer
that reports through both — say a Keras TensorBoard callback and a ``hypertune`` call with the
same tag — is not counted twice.  Event files are looked for under the trial's own job dir
(``<jobDir>/<trialId>``, train and eval subfolders alike), so only when the job has a jobDir.
Each of its TensorBoard runs is a series of its own, and one of them is the metric
(:mod:`.tbruns`); its source is named after it, ``tfevents:validation``.  A job with several
metrics reads each from its own tag, in both sources; in event files each metric chooses its
run by the same rules (the source is named after the first metric's run).
"""

from __future__ import annotations

import dataclasses
import difflib

from .metrics import HypertuneFollower, Measurement
from .tbruns import RunChooser
from .tfevents import TfEventsFollower

HYPERTUNE = "hypertune"
TFEVENTS = "tfevents"


class MetricSources:
    def __init__(self, hypertune_file: str, tag: str, events_root: str | None,
                 not_before: float | None = None, trusted: str | None = None, *,
                 more_tags: tuple[str, ...] = ()) -> None:
        """``trusted``: the directory above the trial's own folder, where the metric file's
        trainer-written path begins (see :class:`HypertuneFollower`).  ``more_tags``: the
        job's other metrics (a multi-objective study), each read from its own tag: from the
        hypertune file, or from the event files (a follower and a run chooser each; every
        follower reads only the records that contain its tag's bytes)."""
        self.tag = tag
        self.tags = (tag, *more_tags)
        self.reported: set[int] = set()  # the metrics (by position) that yielded a value
        self.hypertune = HypertuneFollower(hypertune_file, tag, trusted, more_tags)
        # One follower and one run chooser per metric, the first metric's first.
        self.followers = ([TfEventsFollower(events_root, t, min_wall_time=not_before)
                           for t in self.tags] if events_root else [])
        self.choosers = [RunChooser(t) for t in self.tags]
        self.tfevents = self.followers[0] if self.followers else None
        self.runs = self.choosers[0]
        self.chosen: str | None = None  # HYPERTUNE | TFEVENTS once one produced data

    @property
    def source(self) -> str:
        """The name measurements are stored with: ``hypertune`` or ``tfevents:<run>``."""
        if self.chosen == TFEVENTS:
            return f"{TFEVENTS}:{self.runs.run}"
        return HYPERTUNE

    def poll(self, final: bool = False) -> tuple[str, list[Measurement]]:
        """New measurements and the name of their source."""
        if self.chosen in (None, HYPERTUNE):
            new = self.hypertune.poll()
            if new:
                self.chosen = HYPERTUNE
                self.reported.update(m.metric for m in new)
                return self.source, new
        if self.followers and self.chosen in (None, TFEVENTS):
            new = []
            for metric, (follower, chooser) in enumerate(
                    zip(self.followers, self.choosers, strict=True)):
                got = chooser.feed(follower.poll(final=final), follower.runs, final=final)
                if got:
                    self.reported.add(metric)
                    new += [dataclasses.replace(m, metric=metric) for m in got]
            if new:
                self.chosen = TFEVENTS
                return self.source, new
        return self.source, []

    def missing(self) -> list[str]:
        """The tags of the job's metrics that nothing reported yet."""
        return [tag for i, tag in enumerate(self.tags) if i not in self.reported]

    def take_notes(self) -> list[str]:
        """Lines for the trial's log, each given once: which TensorBoard run is each metric
        and which runs were ignored."""
        return [note for chooser in self.choosers for note in chooser.take_notes()]

    def seen(self) -> str:
        """What was found instead of the metric, for a trial that reported none ("" if
        nothing): the tags reported through hypertune (with the closest to the metric's tag as
        a suggestion), and the TensorBoard runs under the job dir."""
        parts = []
        others = self.hypertune.other_tags
        if others:
            shown = ", ".join(f'"{t}"' for t in others[:10])
            more = f" and {len(others) - 10} more" if len(others) > 10 else ""
            closest = difflib.get_close_matches(self.tag, others, n=1, cutoff=0.3)
            hint = f'; did you mean the metric tag "{closest[0]}"?' if closest else ""
            parts.append(f"the trainer reported {shown}{more} through hypertune{hint}")
        runs = self.tfevents.runs if self.tfevents else []
        if runs:
            parts.append("TensorBoard runs under the job dir: " +
                         ", ".join(f'"{r}"' for r in runs))
        return "; ".join(parts)

    @property
    def rejected(self) -> list[str]:
        # a damaged file is seen by every follower: said once
        return self.hypertune.rejected + list(dict.fromkeys(
            r for f in self.followers for r in f.rejected))
