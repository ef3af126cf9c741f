"""Which TensorBoard run is a trial's metric.

Keras' TensorBoard callback writes the same tag, ``epoch_accuracy``, into ``<job-dir>/train/``
and ``<job-dir>/validation/``: two series, one a step each.  They are kept apart, and only one
is the trial's metric:

1. a run the tag names (``validation/epoch_accuracy``, ``train/epoch_accuracy``);
2. else an evaluation run: one whose (last) folder is ``validation`` or starts with ``eval``;
3. else the first run that reported the tag.

Among runs of the same rank, the first to report wins.  The choice is made once and kept.

Values arrive as the trainer's writers flush them, and Keras' writers flush on their own
schedule (every 10 events or 120 s), so the training run is often on disk well before the
validation run.  Values of a run that is not yet sure to be the choice (rank 3) are therefore
held back: until a better-ranked run reports, or the trainer exits, or ``wait`` seconds have
passed since the first of them — ``eval_file_wait`` while an evaluation run already has an
event file that has not shown the tag yet.  A trainer with a single, training-only run thus
reports ``wait`` seconds late, never wrongly.

Pure runner code: no Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from .metrics import Measurement
from .tfevents import RunMeasurement

WAIT = 10.0  # seconds a run that is not an evaluation run waits for one to report
EVAL_FILE_WAIT = 150.0  # ... while an evaluation run's event file exists (Keras flushes each 120 s)

Series = tuple[str, str]  # (run, tag as written there)


def is_eval_run(run: str) -> bool:
    """``validation``, ``eval``, ``eval_census-eval``, ``fold1/validation``: an evaluation run."""
    name = run.rsplit("/", 1)[-1].lower()
    return name == "validation" or name.startswith("eval")


def describe(series: Series, tag: str) -> str:
    run, written = series
    return f'run "{run}"' + (f' (tag "{written}")' if written != tag else "")


class RunChooser:
    """Takes the measurements of every run (:class:`~.tfevents.TfEventsFollower`) and passes on
    those of the chosen run only.  ``notes`` collects, once each, what a user reading the
    trial's log should know: which run was used, and which were ignored."""

    def __init__(self, tag: str, *, wait: float = WAIT, eval_file_wait: float = EVAL_FILE_WAIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.tag = tag
        self.wait = wait
        self.eval_file_wait = eval_file_wait
        self.clock = clock
        self.chosen: Series | None = None
        self.notes: list[str] = []
        self._held: dict[Series, list[Measurement]] = {}  # in the order the series appeared
        self._first_held: float | None = None
        self._ignored: set[Series] = set()

    @property
    def run(self) -> str | None:
        """The chosen run, once there is one."""
        return self.chosen[0] if self.chosen else None

    def rank(self, series: Series) -> int:
        """0: the tag names the run; 1: an evaluation run; 2: any other run."""
        run, written = series
        if written != self.tag:
            return 0
        return 1 if is_eval_run(run) else 2

    def feed(self, new: Iterable[RunMeasurement], runs: Iterable[str] = (), *,
             final: bool = False) -> list[Measurement]:
        """The chosen run's measurements among ``new`` (and those held back until now).

        ``runs`` are the runs that have event files so far; ``final``: the trainer has exited,
        so nothing better can turn up and a choice is made now.
        """
        out: list[Measurement] = []
        for m in new:
            series = (m.run, m.tag)
            value = Measurement(step=m.step, value=m.value, timestamp=m.timestamp)
            if self.chosen is None:
                self._held.setdefault(series, []).append(value)
            elif series == self.chosen:
                out.append(value)
            elif series not in self._ignored:
                self._ignored.add(series)
                self.notes.append(f'metric "{self.tag}": also ignored TensorBoard '
                                  f"{describe(series, self.tag)}")
        if self.chosen is None and self._held:
            out = self._choose(runs, final)
        return out

    def _choose(self, runs: Iterable[str], final: bool) -> list[Measurement]:
        now = self.clock()
        if self._first_held is None:
            self._first_held = now
        best = min(self._held, key=self.rank)  # min keeps the first of equal rank
        rank = self.rank(best)
        if rank == 2 and not final:
            held_runs = {run for run, _ in self._held}
            eval_file = any(is_eval_run(r) and r not in held_runs for r in runs)
            if now - self._first_held < (self.eval_file_wait if eval_file else self.wait):
                return []
        self.chosen = best
        why = ("the run the tag names", "the evaluation run", "the first run to report it")[rank]
        note = f'metric "{self.tag}": using TensorBoard {describe(best, self.tag)}, {why}'
        others = [s for s in self._held if s != best]
        if others:
            note += "; ignored " + ", ".join(describe(s, self.tag) for s in others)
        self.notes.append(note)
        self._ignored.update(others)
        out = self._held[best]
        self._held.clear()
        return out

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes
