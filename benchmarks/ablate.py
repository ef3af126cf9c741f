"""Ablations of the default suggester on the tuning set: one variant's runs, or two compared.

    python benchmarks/ablate.py run NAME [--set KEY=VALUE ...] [--problems a,b] [--seeds N]
                                [--budget N] [--modes seq,par4] [--workers N]
    python benchmarks/ablate.py compare NAME_A NAME_B [--at 10,20,30,50]

``run`` sets module constants of ``hpdash.core.suggest.bayes`` (JSON values: ``--set
CENTRE_FIRST=1``, ``--set PRIOR='""'``) or, prefixed ``gp.``, of ``hpdash.core.suggest.gp``
(``--set gp.RESTART_MAX_ROWS=50``), runs hpdash on the problems exactly as
``search_quality.py`` does and keeps the values in ``results/ablate/NAME.json``. ``compare``
prints, per schedule and trial count, both mean normalised scores and the paired difference A -
B with its 95 % bootstrap interval (seeds resampled within each problem), as the suite's report
does. The default problems are the tuning set: variants are chosen there.  ``--problems
decision`` runs the decision set (``problems.DECISION``), where a variant that passed the tuning
set is accepted or rejected, hpdash against hpdash; the held-out set is only reported.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import search_quality as sq  # noqa: E402
from problems import DECISION, TUNING  # noqa: E402

from hpdash.core.suggest import bayes, gp  # noqa: E402

OUT = sq.RESULTS / "ablate"


def _value(text: str) -> Any:
    return json.loads(text)


def run(name: str, settings: list[str], problems: list[str], seeds: int, budget: int,
        modes: list[str], workers: int) -> None:
    applied = {}
    for item in settings:
        key, _, text = item.partition("=")
        module = gp if key.startswith("gp.") else bayes
        attr = key.removeprefix("gp.")
        if not hasattr(module, attr):
            raise SystemExit(f"{module.__name__} has no {attr}")
        setattr(module, attr, _value(text))  # inherited by the forked workers
        applied[key] = getattr(module, attr)
    tasks = [(p, "hpdash", m, s, budget) for p in problems for m in modes for s in range(seeds)]
    runs = list(sq._pool_imap(sq._run_task, tasks, workers, f"runs of {name}"))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps({"settings": applied, "runs": runs}))
    print(f"{name}: {len(runs)} runs, settings {applied}")


def compare(a: str, b: str, ts: list[int]) -> None:
    runs = {n: json.loads((OUT / f"{n}.json").read_text())["runs"] for n in (a, b)}
    base = sq.load_baseline()
    rng = np.random.default_rng(11)
    for mode in sorted({r["mode"] for r in runs[a]} & {r["mode"] for r in runs[b]}):
        tables = {n: sq.score_table([r for r in rs if r["mode"] == mode], base, ts)
                  for n, rs in runs.items()}
        ta, tb = tables[a][("hpdash", mode)], tables[b][("hpdash", mode)]
        problems = sorted(set(ta) & set(tb))
        print(f"\n{a} vs {b}, {mode}, {len(problems)} problems")
        print("| t | seeds | " + a + " | " + b + " | diff A-B [95 %] |")
        for t in ts:
            seeds = sorted(set.intersection(*(set(c[p].get(t, {})) for c in (ta, tb)
                                              for p in problems)))
            if not seeds:
                continue
            ma, mb = sq._matrix(ta, problems, t, seeds), sq._matrix(tb, problems, t, seeds)
            d, lo, hi, _, _ = sq.bootstrap(ma, mb, rng)
            print(f"| @{t} | {len(seeds)} | {ma.mean():.3f} | {mb.mean():.3f} | "
                  f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}] |")
        t = ts[-1]
        seeds = sorted(set.intersection(*(set(c[p].get(t, {})) for c in (ta, tb)
                                          for p in problems)))
        per = ", ".join(
            f"{p} {np.mean([ta[p][t][s] for s in seeds]):.3f}/"
            f"{np.mean([tb[p][t][s] for s in seeds]):.3f}" for p in problems)
        print(f"per problem @{t} (A/B): {per}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("name")
    r.add_argument("--set", action="append", default=[])
    r.add_argument("--problems", default=",".join(TUNING))
    r.add_argument("--seeds", type=int, default=10)
    r.add_argument("--budget", type=int, default=50)
    r.add_argument("--modes", default="seq")
    r.add_argument("--workers", type=int, default=2)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--at", default="10,20,30,50")
    args = parser.parse_args()
    if args.cmd == "run":
        problems = list(DECISION) if args.problems == "decision" else args.problems.split(",")
        run(args.name, args.set, problems, args.seeds, args.budget,
            args.modes.split(","), args.workers)
    else:
        compare(args.a, args.b, [int(t) for t in args.at.split(",")])


if __name__ == "__main__":
    main()
