"""How many steps a trial will run when one of its parameters decides it (``epochs``, say), so
early stopping projects a trial's own trend to its own end and says so (issue 24: a note said
"its own trend over the 30-step length" of a trial whose ``epochs`` gave it 10 steps).

**How the length is known.**  hpdash cannot read a trainer, only what trials did.  A parameter
*decides the length* when, among the job's *full runs* (trials that ended SUCCEEDED without
being stopped early):

1. every run with the same value of it ended at the same step,
2. the runs ended at two or more different steps, and
3. some value of it was run more than once: without a repeat, any parameter whose values never
   repeat (a learning rate) would pass 1 and 2 by coincidence.

If several parameters pass, the one with the fewest distinct values among the full runs wins
(the most runs behind each value), then the first in the trial's parameters.  A trial's length
is then the step at which the full runs with its value of that parameter ended.  When no
parameter decides the length, or no full run had the trial's value yet, there is no own length
and the rules use the job's: its longest full run, as before.  Pure Python, never Django.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

# One full run: its parameters and the last step it reported.
FullRun = tuple[Mapping[str, object], int]


@dataclass(frozen=True)
class TrialLength:
    """A trial's own length: ``steps``, which full runs with ``param`` = ``value`` reached."""

    steps: int
    param: str
    value: object

    def describe(self) -> str:
        return f"{self.param}={self.value}"


def _lengths_by_value(param: str, runs: Sequence[FullRun]) -> dict[Hashable, int] | None:
    """``{value: last step}`` when every full run with a value ended at one step, else None."""
    lengths: dict[Hashable, int] = {}
    for params, last_step in runs:
        value = params.get(param)
        if not isinstance(value, Hashable) or value is None:
            return None
        if lengths.setdefault(value, last_step) != last_step:
            return None
    return lengths


def length_parameter(runs: Sequence[FullRun], names: Sequence[str]
                     ) -> tuple[str, dict[Hashable, int]] | None:
    """The parameter (among ``names``) that decides the length of the full ``runs``, with the
    length each of its values gave; None if none does (the module docstring has the rule)."""
    found: list[tuple[int, int, str, dict[Hashable, int]]] = []
    for order, name in enumerate(names):
        lengths = _lengths_by_value(name, runs)
        if (lengths is not None and len(set(lengths.values())) >= 2
                and len(lengths) < len(runs)):
            found.append((len(lengths), order, name, lengths))
    if not found:
        return None
    _, _, name, lengths = min(found, key=lambda f: (f[0], f[1]))
    return name, lengths


def trial_length(params: Mapping[str, object], runs: Sequence[FullRun]) -> TrialLength | None:
    """The trial's own length (see the module docstring), or None when it is not known."""
    decided = length_parameter(runs, list(params))
    if decided is None:
        return None
    name, lengths = decided
    value = params.get(name)
    if not isinstance(value, Hashable) or value not in lengths:
        return None
    return TrialLength(steps=lengths[value], param=name, value=value)
