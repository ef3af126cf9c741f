from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from hpdash.core.spec import SpecError, parse_job
from hpdash.core.spec.stored import definition_to_json
from hpdash.core.states import JobState, TrialState
from hpdash.models import Job, Measurement, Project, Trial

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
        if Job.objects.filter(project__name=o["project"], job_id=o["job_id"]).exists():
            raise CommandError(f"job {o['job_id']} already exists in {o['project']}")
        rng = random.Random(o["seed"])  # noqa: S311 - demo data, reproducible by seed
        start = timezone.now() - dt.timedelta(seconds=30 * o["trials"])
        with transaction.atomic():
            project, _ = Project.objects.get_or_create(name=o["project"])
            job = Job.objects.create(
                project=project, job_id=o["job_id"],
                definition_json=definition_to_json(spec.definition), request=dict(spec.request),
                goal="MAXIMIZE", metric_tag="accuracy", algorithm="RANDOM_SEARCH",
                max_trials=o["trials"], max_parallel_trials=4, seed=o["seed"],
                state=JobState.SUCCEEDED, start_time=start,
                end_time=start + dt.timedelta(seconds=30 * o["trials"]), etag="ZGVtbw==")
            trials, curves = [], []
            for i in range(1, o["trials"] + 1):
                lr = math.exp(rng.uniform(math.log(1e-4), math.log(0.3)))
                units = int(math.exp(rng.uniform(math.log(8), math.log(256))))
                params = {"learning_rate": lr, "hidden_units": units,
                          "dropout": rng.choice([0.0, 0.1, 0.2, 0.3, 0.5]),
                          "optimizer": rng.choice(["adam", "sgd", "rmsprop"])}
                quality = (0.97 - 0.08 * abs(math.log10(lr) + 2.2) - 0.02 * abs(
                    math.log2(units) - 6) / 2 - (0.03 if params["optimizer"] == "sgd" else 0))
                stop = o["steps"] if rng.random() > 0.3 else rng.randint(3, o["steps"])
                curve = [(s, round(quality * (1 - math.exp(-s / 4)) + rng.gauss(0, 0.004), 5))
                         for s in range(1, stop + 1)]
                t0 = start + dt.timedelta(seconds=30 * (i - 1))
                trials.append(Trial(
                    job=job, trial_id=i, state=TrialState.SUCCEEDED, params=params,
                    final_value=curve[-1][1], final_step=curve[-1][0],
                    is_stopped_early=stop < o["steps"], start_time=t0,
                    end_time=t0 + dt.timedelta(seconds=1.5 * stop)))
                curves.append((curve, t0))
            Trial.objects.bulk_create(trials, batch_size=1000)
            saved = {t.trial_id: t for t in job.trials.all()}
            rows = [Measurement(trial=saved[i + 1], step=s, value=v,
                                reported_at=t0 + dt.timedelta(seconds=1.5 * s))
                    for i, (curve, t0) in enumerate(curves) for s, v in curve]
            Measurement.objects.bulk_create(rows, batch_size=5000)
        self.stdout.write(f"created projects/{job.project_id}/jobs/{job.job_id} with "
                          f"{o['trials']} trials and {len(rows)} measurements")
