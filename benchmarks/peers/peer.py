"""One peer tuner behind a line protocol, run by ``benchmarks/search_quality.py`` inside the
peer's own venv (``benchmarks/.venv-<peer>``; ``benchmarks/peers/setup.sh`` creates them).

    <venv>/bin/python benchmarks/peers/peer.py PEER --seed S --space JSON [--objectives N]
    <venv>/bin/python benchmarks/peers/peer.py --check PEER

It imports only the standard library and the peer's package (never hpdash: the venvs do not
have it), so the objective is evaluated by the caller.  Requests on stdin, one JSON object a
line, each answered by one line on stdout:

* ``{"op": "ask"}`` -> ``{"id": 3, "params": {...}}``: a new trial; several may be outstanding
  (running trials), which the peer sees as running (Optuna: RUNNING trials of the study;
  Vizier: ``ActiveTrials``).
* ``{"op": "tell", "id": 3, "value": 0.25}`` (``null``: the trial failed) -> ``{"ok": true}``.
  With ``--objectives N`` (N > 1, ``benchmarks/multiobjective.py``), ``"value"`` is a list of
  N numbers, every one minimised (a peer that has no multi-objective mode refuses to start).

``--space`` is a JSON list of ``{"name", "type", "min", "max", "log", "values"}`` (``type`` one
of DOUBLE, INTEGER, CATEGORICAL, DISCRETE); the objective is minimised.

Peers:

* ``optuna-gp``: ``optuna.samplers.GPSampler(seed=seed)`` with its defaults (Optuna 5, torch on
  CPU); with several objectives the study has one ``"minimize"`` direction each and the
  sampler its multi-objective acquisition (log expected hypervolume improvement).  A DISCRETE
  list becomes an ordered ``IntDistribution`` over the indices of its
  sorted values (issue 23: as a ``CategoricalDistribution`` the GP lost their order, which
  was not the peer's fair best).
* ``vizier``: OSS Vizier's default designer (``policy_factory`` maps ``DEFAULT`` to
  ``VizierGPUCBPEBandit``: GP-UCB with pure-exploration batch members and a trust region),
  defaults, ``rng=PRNGKey(seed)``, with ``jax_enable_x64`` and the number of trials padded to
  powers of 2 (otherwise JAX recompiles on every call: ~18 s a trial).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any, Protocol


class OptunaGP:
    def __init__(self, space: list[dict[str, Any]], seed: int, objectives: int = 1):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.study = optuna.create_study(directions=["minimize"] * objectives,
                                         sampler=optuna.samplers.GPSampler(seed=seed))
        d = optuna.distributions
        self.dists: dict[str, Any] = {}
        self.discrete: dict[str, list[float]] = {}
        for p in space:
            if p["type"] == "DOUBLE":
                self.dists[p["name"]] = d.FloatDistribution(p["min"], p["max"], log=p["log"])
            elif p["type"] == "INTEGER":
                self.dists[p["name"]] = d.IntDistribution(
                    int(p["min"]), int(p["max"]), log=p["log"]
                )
            elif p["type"] == "DISCRETE":
                # Ordered: the index into the sorted values, an integer the GP sees as a
                # number (a CategoricalDistribution would hide the order from it).
                self.discrete[p["name"]] = sorted(float(v) for v in p["values"])
                self.dists[p["name"]] = d.IntDistribution(0, len(p["values"]) - 1)
            else:
                self.dists[p["name"]] = d.CategoricalDistribution(p["values"])
        self.trials: dict[int, Any] = {}

    def ask(self) -> tuple[int, dict[str, Any]]:
        trial = self.study.ask(self.dists)
        self.trials[trial.number] = trial
        params = dict(trial.params)
        for name, values in self.discrete.items():
            params[name] = values[int(params[name])]
        return trial.number, params

    def tell(self, tid: int, value: float | list[float] | None) -> None:
        trial = self.trials.pop(tid)
        if value is None:
            self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, value)


class Vizier:
    def __init__(self, space: list[dict[str, Any]], seed: int, objectives: int = 1):
        if objectives != 1:
            raise SystemExit("vizier: this peer runs one objective only")
        import jax

        jax.config.update("jax_enable_x64", True)
        from vizier import algorithms as vza
        from vizier import pyvizier as vz
        from vizier._src.algorithms.designers import gp_ucb_pe
        from vizier.pyvizier.converters import padding

        self.vz, self.vza = vz, vza
        problem = vz.ProblemStatement()
        root = problem.search_space.root
        for p in space:
            scale = vz.ScaleType.LOG if p["log"] else vz.ScaleType.LINEAR
            if p["type"] == "DOUBLE":
                root.add_float_param(p["name"], p["min"], p["max"], scale_type=scale)
            elif p["type"] == "INTEGER":
                root.add_int_param(p["name"], int(p["min"]), int(p["max"]), scale_type=scale)
            elif p["type"] == "DISCRETE":
                root.add_discrete_param(p["name"], [float(v) for v in p["values"]],
                                        scale_type=scale)
            else:
                root.add_categorical_param(p["name"], [str(v) for v in p["values"]])
        problem.metric_information.append(
            vz.MetricInformation("loss", goal=vz.ObjectiveMetricGoal.MINIMIZE)
        )
        self.types = {p["name"]: p["type"] for p in space}
        self.designer = gp_ucb_pe.VizierGPUCBPEBandit(
            problem,
            rng=jax.random.PRNGKey(seed),
            padding_schedule=padding.PaddingSchedule(
                num_trials=padding.PaddingType.POWERS_OF_2
            ),
        )
        self.active: dict[int, Any] = {}
        self.next_id = 1

    def ask(self) -> tuple[int, dict[str, Any]]:
        suggestion = self.designer.suggest(1)[0]
        tid = self.next_id
        self.next_id += 1
        trial = suggestion.to_trial(tid)
        self.active[tid] = trial
        params: dict[str, Any] = {}
        for name, kind in self.types.items():
            value = trial.parameters[name].value
            params[name] = (int(round(float(value))) if kind == "INTEGER"
                            else str(value) if kind == "CATEGORICAL" else float(value))
        return tid, params

    def tell(self, tid: int, value: float | list[float] | None) -> None:
        trial = self.active.pop(tid)
        if value is None:
            trial.complete(self.vz.Measurement(), infeasibility_reason="trial failed")
        else:
            assert not isinstance(value, list)
            trial.complete(self.vz.Measurement({"loss": float(value)}))
        self.designer.update(
            self.vza.CompletedTrials([trial]), self.vza.ActiveTrials(list(self.active.values()))
        )


class Tuner(Protocol):
    def ask(self) -> tuple[int, dict[str, Any]]: ...

    def tell(self, tid: int, value: float | list[float] | None) -> None: ...


# Each peer: (the search space as search_quality.py sends it, seed, objectives) -> a tuner.
PEERS: dict[str, Callable[[list[dict[str, Any]], int, int], Tuner]] = {
    "optuna-gp": OptunaGP, "vizier": Vizier}
CHECK_SPACE: list[dict[str, Any]] = [
    {"name": "x", "type": "DOUBLE", "min": 1e-3, "max": 1.0, "log": True, "values": []},
    {"name": "k", "type": "INTEGER", "min": 1, "max": 5, "log": False, "values": []},
    {"name": "c", "type": "CATEGORICAL", "min": None, "max": None, "log": False,
     "values": ["a", "b"]},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("peer", nargs="?")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--space")
    parser.add_argument("--objectives", type=int, default=1)
    parser.add_argument("--check", metavar="PEER", help="a 4-trial self test, then exit")
    args = parser.parse_args()
    if args.check:
        tuner = PEERS[args.check](CHECK_SPACE, 0, args.objectives)
        for _ in range(4):
            tid, params = tuner.ask()
            loss = (math.log(params["x"]) + 3) ** 2 + params["k"]
            tuner.tell(tid, loss if args.objectives == 1
                       else [loss + i * params["x"] for i in range(args.objectives)])
        print(f"{args.check}: ok")
        return
    tuner = PEERS[args.peer](json.loads(args.space), args.seed, args.objectives)
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "ask":
            tid, params = tuner.ask()
            out.write(json.dumps({"id": tid, "params": params}) + "\n")
        elif request["op"] == "tell":
            tuner.tell(int(request["id"]), request["value"])
            out.write('{"ok": true}\n')
        out.flush()


if __name__ == "__main__":
    main()
