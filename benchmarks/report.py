"""What every suite's report shares: the machine line under its tables, a headless pyplot, and
writing ``results/<suite>.md`` plus its PNG."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# A suite that cannot run on this machine (no root, no PostgreSQL, no podman) prints why and
# exits with this status; ``run.py`` then reports it as skipped and keeps its last section.
SKIPPED = 75  # EX_TEMPFAIL


def footer(seconds: float, extra: str = "") -> str:
    """The small print under a suite's section: machine, Python, date and the suite's time."""
    return (f"<sub>{platform.node()} · {os.cpu_count()} CPUs · Python "
            f"{platform.python_version()} · {time.strftime('%Y-%m-%d %H:%M')} · suite ran in "
            f"{seconds:.0f} s{extra}</sub>")


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display on these machines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(out: Path, name: str, text: str, plot: Callable[[Any, Path], None], res: Any) -> None:
    """Write ``<out>/<name>.md`` and ``<out>/<name>.png`` and print the section."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(text)
    plot(res, out / f"{name}.png")
    print(text)
