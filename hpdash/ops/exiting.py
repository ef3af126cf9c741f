"""A process of hpdash's that is about to exit skips the interpreter's final garbage collections.

At exit Python collects garbage several times while it tears its modules down; a worker or web
process holds some 160,000 objects (Django, plotly, scikit-learn), so each spent 0.4-2 s of CPU
on it, and ``make run``'s half-dozen processes did it at once when Ctrl-C stopped them all: 6-13 s
on a busy 2-core machine (issue 24).  Nothing is left to free that the operating system does not
take back, so the objects are frozen (:func:`gc.freeze`) and the collections skip them; atexit
handlers and log flushing still run."""

from __future__ import annotations

import gc


def skip_final_collection() -> None:
    """Call once the process's work is done and it is about to exit."""
    gc.freeze()
