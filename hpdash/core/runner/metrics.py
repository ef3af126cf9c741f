"""Follows the metrics file that ``cloudml-hypertune`` writes.

The library keeps the last 100 records in memory and rewrites the whole file (non-atomically)
on every report, one JSON object per line; a new ``HyperTune()`` instance starts empty and
truncates it.  So the follower polls, remembers every record it has seen, and takes only new
ones; a line that does not parse (a write caught half-way) is left for the next poll.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

# What cloudml-hypertune writes into every record beside the metric (not a metric).
BOOKKEEPING_KEYS = frozenset({"timestamp", "trial", "global_step", "checkpoint_path"})
# Other tags remembered, at most (a trainer may report many).
MAX_OTHER_TAGS = 50


@dataclass(frozen=True)
class Measurement:
    step: int
    value: float
    timestamp: float


class HypertuneFollower:
    def __init__(self, path: str, tag: str) -> None:
        self.path = path
        self.tag = tag
        self._seen: set[tuple[object, ...]] = set()
        self.rejected: list[str] = []  # why records were refused, newest last
        # Tags the trainer reported that are not the metric's, in the order they came: the
        # likeliest reason for a trial without its metric is a tag that differs ("accuracy"
        # reported, "acc" configured).
        self.other_tags: list[str] = []

    def poll(self) -> list[Measurement]:
        """Measurements reported since the last poll, in file order."""
        try:
            with open(self.path, "rb") as f:
                data = f.read(8 * 1024 * 1024)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
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
            if self.tag not in record:
                self._note_other_tags(record)
                continue
            key = (record.get("timestamp"), record.get("global_step"), str(record[self.tag]))
            if key in self._seen:
                continue
            self._seen.add(key)
            m = self._measurement(record)
            if m is not None:
                new.append(m)
        return new

    def _note_other_tags(self, record: dict[str, object]) -> None:
        for key in record:
            if (key not in BOOKKEEPING_KEYS and key not in self.other_tags
                    and len(self.other_tags) < MAX_OTHER_TAGS):
                self.other_tags.append(str(key))

    def _measurement(self, record: dict[str, object]) -> Measurement | None:
        raw_value = record[self.tag]
        try:
            value = float(raw_value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.rejected.append(f"metric {self.tag!r} value {raw_value!r} is not a number")
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
        return Measurement(step=step, value=value, timestamp=timestamp)
