"""Follows the metrics file that ``cloudml-hypertune`` writes.

The library keeps the last 100 records in memory and rewrites the whole file (non-atomically)
on every report, one JSON object per line; a new ``HyperTune()`` instance starts empty and
truncates it.  So the follower polls, remembers every record it has seen, and takes only new
ones; a line that does not parse (a write caught half-way) is left for the next poll.

The file is the trainer's: it is read through :mod:`.safe_files` (no link followed below the
trusted directory, a FIFO or device refused without blocking, at most ``MAX_READ_BYTES``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

from . import safe_files

# What cloudml-hypertune writes into every record beside the metric (not a metric).
BOOKKEEPING_KEYS = frozenset({"timestamp", "trial", "global_step", "checkpoint_path"})
# Other tags remembered, at most (a trainer may report many).
MAX_OTHER_TAGS = 50
# The most of the file read per poll (cloudml-hypertune keeps it to 100 short records).
MAX_READ_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Measurement:
    step: int
    value: float
    timestamp: float
    # Which of the job's metrics, by position (0: the first; a multi-objective study has more).
    metric: int = field(default=0, kw_only=True)


class HypertuneFollower:
    def __init__(self, path: str, tag: str, trusted: str | None = None,
                 more_tags: tuple[str, ...] = ()) -> None:
        """``trusted``: the directory above the trainer's own (default: the file's folder);
        nothing below it is followed if a link.  ``more_tags``: the job's other metrics (a
        multi-objective study): hypertune writes one record per metric per call, so a step
        reported for two metrics is two lines (which share its 100-record window), each
        stored as a measurement of its own metric."""
        self.path = path
        self.trusted = trusted if trusted is not None else os.path.dirname(path)
        self.rel = os.path.relpath(path, self.trusted)
        self.tag = tag
        self.tags = (tag, *more_tags)
        self._seen: set[tuple[object, ...]] = set()
        self.rejected: list[str] = []  # why records were refused, newest last
        # Tags the trainer reported that are not the metric's, in the order they came: the
        # likeliest reason for a trial without its metric is a tag that differs ("accuracy"
        # reported, "acc" configured).
        self.other_tags: list[str] = []

    def poll(self) -> list[Measurement]:
        """Measurements reported since the last poll, in file order."""
        try:
            data = safe_files.read_regular(self.trusted, self.rel, MAX_READ_BYTES)
        except safe_files.UnsafePath as exc:
            note = f"the metric file {self.path} is not a regular file: {exc.strerror}"
            if note not in self.rejected:
                self.rejected.append(note)
            return []
        except OSError:  # not there (yet), or unreadable
            return []
        new: list[Measurement] = []
        for raw in data.split(b"\n"):
            line = raw.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # partial write; complete next time
            if not isinstance(record, dict):
                continue
            mine = [i for i, tag in enumerate(self.tags) if tag in record]
            if not mine:
                self._note_other_tags(record)
                continue
            for metric in mine:
                tag = self.tags[metric]
                key = (tag, record.get("timestamp"), record.get("global_step"), str(record[tag]))
                if key in self._seen:
                    continue
                self._seen.add(key)
                m = self._measurement(record, metric)
                if m is not None:
                    new.append(m)
        return new

    def _note_other_tags(self, record: dict[str, object]) -> None:
        for key in record:
            if (key not in BOOKKEEPING_KEYS and key not in self.other_tags
                    and key not in self.tags and len(self.other_tags) < MAX_OTHER_TAGS):
                self.other_tags.append(str(key))

    def _measurement(self, record: dict[str, object], metric: int = 0) -> Measurement | None:
        tag = self.tags[metric]
        raw_value = record[tag]
        try:
            value = float(raw_value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.rejected.append(f"metric {tag!r} value {raw_value!r} is not a number")
            return None
        if not math.isfinite(value):
            self.rejected.append(f"metric was {raw_value}")
            return None
        try:
            step = int(float(record.get("global_step") or 0))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            step = 0
        ts = record.get("timestamp")
        timestamp = float(ts) if isinstance(ts, (int, float)) else 0.0
        return Measurement(step=step, value=value, timestamp=timestamp, metric=metric)
