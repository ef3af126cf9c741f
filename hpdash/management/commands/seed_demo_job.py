from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hpdash.core.spec import SpecError, parse_job
from hpdash.core.spec.types import MetricSpec
from hpdash.services.demo import DemoJobExists, DemoTrial, demo_job_create

DEMO_SPEC: dict[str, Any] = {
    "goal": "MAXIMIZE",
    "hyperparameterMetricTag": "accuracy",
    "algorithm": "RANDOM_SEARCH",
    "enableTrialEarlyStopping": True,
    "params": [
        {"parameterName": "learning_rate", "type": "DOUBLE", "minValue": 0.0001,
         "maxValue": 0.3, "scaleType": "UNIT_LOG_SCALE"},
        {"parameterName": "hidden_units", "type": "INTEGER", "minValue": 8, "maxValue": 256,
         "scaleType": "UNIT_LOG_SCALE"},
        {"parameterName": "dropout", "type": "DISCRETE",
         "discreteValues": [0.0, 0.1, 0.2, 0.3, 0.5]},
        {"parameterName": "optimizer", "type": "CATEGORICAL",
         "categoricalValues": ["adam", "sgd", "rmsprop"]},
    ],
}


class Command(BaseCommand):
    help = ("Create a finished demo job with N synthetic trials (learning_rate, hidden_units, "
            "dropout, optimizer) and --steps measurements each, for demos, screenshots and "
            "scale tests.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", default="demo")
        parser.add_argument("--job-id", default="demo_job")
        parser.add_argument("--trials", type=int, default=50)
        parser.add_argument("--steps", type=int, default=20)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--latency", action="store_true",
                            help="a second metric, latency_ms (minimised), at every step: a "
                                 "multi-objective study (it grows with hidden_units)")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["trials"] < 1 or o["steps"] < 1:
            raise CommandError("--trials and --steps must be at least 1")
        hp = {**DEMO_SPEC, "maxTrials": o["trials"], "maxParallelTrials": 4}
        data = {"jobId": o["job_id"], "trainingInput": {"pythonModule": "trainer.task",
                                                        "hyperparameters": hp}}
        try:
            spec = parse_job(data)
        except SpecError as exc:
            raise CommandError(str(exc)) from exc
        if o["latency"]:
            hps = dataclasses.replace(spec.definition.hyperparameters,
                                      more_metrics=(MetricSpec("latency_ms", "MINIMIZE"),))
            spec = dataclasses.replace(spec, definition=dataclasses.replace(
                spec.definition, hyperparameters=hps))
        rng = random.Random(o["seed"])  # noqa: S311 - demo data, reproducible by seed
        trials = [_demo_trial(rng, o["steps"], latency=o["latency"])
                  for _ in range(o["trials"])]
        try:
            job, measurements = demo_job_create(project=o["project"], spec=spec, trials=trials,
                                                seed=o["seed"])
        except DemoJobExists as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"created projects/{job.project_id}/jobs/{job.job_id} with "
                          f"{o['trials']} trials and {measurements} measurements")


def _demo_trial(rng: random.Random, steps: int, *, latency: bool = False) -> DemoTrial:
    """A made-up trial: its accuracy peaks near learning_rate 0.006 and 64 hidden units, sgd
    does worse; about 30 % stop before ``steps``.  With ``latency``, a latency_ms at every
    step that grows with hidden_units (and dropout makes a little cheaper)."""
    lr = math.exp(rng.uniform(math.log(1e-4), math.log(0.3)))
    units = int(math.exp(rng.uniform(math.log(8), math.log(256))))
    dropout = rng.choice([0.0, 0.1, 0.2, 0.3, 0.5])
    params = {"learning_rate": lr, "hidden_units": units, "dropout": dropout,
              "optimizer": rng.choice(["adam", "sgd", "rmsprop"])}
    quality = (0.97 - 0.08 * abs(math.log10(lr) + 2.2) - 0.02 * abs(
        math.log2(units) - 6) / 2 - (0.03 if params["optimizer"] == "sgd" else 0))
    stop = steps if rng.random() > 0.3 else rng.randint(3, steps)
    curve = [(s, round(quality * (1 - math.exp(-s / 4)) + rng.gauss(0, 0.004), 5))
             for s in range(1, stop + 1)]
    more: tuple[list[tuple[int, float]], ...] = ()
    if latency:
        cost = 2.0 + 0.12 * units * (1 - dropout / 2)
        more = ([(s, round(cost * (1 + 0.3 * math.exp(-s / 2)) + rng.gauss(0, 0.2), 3))
                 for s, _ in curve],)
    return DemoTrial(params=params, curve=curve, stopped_early=stop < steps, more=more)
