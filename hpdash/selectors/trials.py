"""Trial reads: what the suggesters learn from, ranked trial lists for the API, and what a
running trial's worker needs to know (its job's state, its completed siblings' curves, why a
write of its attempt was refused).  Callers reach a job through :mod:`hpdash.selectors.jobs`
(scoped by user) or are the system itself (a worker, the scheduler)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OrderBy,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from hpdash.core.states import (
    ACTIVE_TRIAL_STATES,
    JobState,
    ObservationState,
    StopReason,
    TrialState,
)
from hpdash.core.suggest import Observation
from hpdash.models import Job, Measurement, Trial
from hpdash.selectors.objectives import final_value_of, final_values


class TrialRow(NamedTuple):
    """The fields of a trial that its API resource shows, read with ``values_list``: building
    10,000 ``Trial`` instances (every column, six datetimes each) costs more than the rest of a
    ``jobs.get`` put together.  Has the ``Trial`` attributes the serializers and
    :func:`rank_trials` read."""

    trial_id: int
    state: str
    params: dict[str, Any]
    final_value: float | None
    final_step: int | None
    is_stopped_early: bool
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    failure_reason: str
    pk: int
    note: str


def trial_rows(trials: QuerySet[Trial]) -> list[TrialRow]:
    """``trials`` (in their order) as :class:`TrialRow` tuples."""
    return [TrialRow._make(r) for r in trials.values_list(*TrialRow._fields)]


def trial_get(*, job: Job, trial_id: int) -> Trial | None:
    """The trial of ``job`` with this id, or None."""
    return job.trials.filter(trial_id=trial_id).first()


def trials_by_id(*, job: Job, trial_ids: Iterable[int]) -> list[Trial]:
    """These trials of ``job`` (ids it does not have left out), in trial order."""
    return list(job.trials.filter(trial_id__in=list(trial_ids)).order_by("trial_id"))


class RecentTrial(NamedTuple):
    trial_id: int
    state: str
    final_value: float | None
    final_step: int | None
    failure_reason: str


def trials_recent(*, job: Job, limit: int) -> list[RecentTrial]:
    """The latest ``limit`` trials of ``job``, newest first."""
    rows = job.trials.order_by("-trial_id").values_list(*RecentTrial._fields)[:limit]
    return [RecentTrial._make(r) for r in rows]


def trials_changed_at(*, job: Job) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The latest heartbeat and end time among ``job``'s trials: every write to a trial (a
    start, a measurement, a heartbeat, an end) moves one of them."""
    marks = job.trials.aggregate(heartbeat=Max("heartbeat_time"), end=Max("end_time"))
    return marks["heartbeat"], marks["end"]


def trials_and_measurements_count(*, jobs: Iterable[Job]) -> tuple[int, int]:
    """How many trials and measurements these jobs hold (what deleting them deletes)."""
    pks = [j.pk for j in jobs]
    return (Trial.objects.filter(job__in=pks).count(),
            Measurement.objects.filter(trial__job__in=pks).count())


class MeasurementsSoFar(NamedTuple):
    reported: int
    latest: tuple[int, float] | None  # (step, value) of the last reported


def trial_measurements_so_far(*, trial: Trial) -> MeasurementsSoFar:
    """How many measurements ``trial`` reported, and its latest."""
    latest = trial.measurements.filter(metric=0).order_by("-reported_at", "-id").values_list(
        "step", "value").first()
    return MeasurementsSoFar(trial.measurements.count(), latest)


def trial_observations(trials: Iterable[Trial],
                       values: dict[int, tuple[float | None, ...]] | None = None
                       ) -> list[Observation]:
    """What the suggesters learn from: results of finished trials, pending ones as taken.
    ``values``: every metric's final value by trial pk (a multi-objective study); a trial
    without all of them teaches as a failed one."""
    out: list[Observation] = []
    for t in trials:
        more = values.get(t.pk, ()) if values is not None else ()
        if None in more:
            out.append(Observation(params=t.params, state=ObservationState.FAILED))
        elif t.state == TrialState.SUCCEEDED and t.final_value is not None:
            out.append(Observation(params=t.params, state=ObservationState.SUCCEEDED,
                                   value=t.final_value,
                                   values=tuple(v for v in more if v is not None)))
        elif t.state in ACTIVE_TRIAL_STATES:
            out.append(Observation(params=t.params, state=ObservationState.PENDING))
        elif t.state == TrialState.FAILED:
            out.append(Observation(params=t.params, state=ObservationState.FAILED))
        # CANCELLED trials taught nothing and are not "taken": they may be suggested again.
    return out


def job_history(job: Job) -> list[Observation]:
    """The job's own trials, after every finished trial of the job it resumes (if any)."""
    chain: list[Observation] = []
    if job.previous_job_id:
        prev = Job.objects.get(pk=job.previous_job_id)
        chain = [o for o in job_history(prev) if o.state != ObservationState.PENDING]
    # Only the columns the suggesters learn from: this runs before every suggestion.
    trials = job.trials.order_by("trial_id").only("trial_id", "state", "final_value", "params")
    if not job.spec.multi_objective:
        return chain + trial_observations(trials)
    done = job.trials.filter(state=TrialState.SUCCEEDED)
    return chain + trial_observations(trials, final_values(spec=job.spec, trials=done))


# "Best first", the one definition every ranking uses (the API's trial list, the job page's
# table and best trial, the charts): a trial's value is its final metric if it SUCCEEDED (a
# running trial's latest value is not final, a failed trial's is not trusted); trials are
# ordered by that value in the goal's direction, those without one last, ties by trial id.
# ``best_first_key`` says it in Python, ``metric_order`` in the database (where a 10,000-trial
# table is paged); a test holds the two to the same order.


def ranked_value(state: str, final_value: float | None) -> float | None:
    """The value a trial is ranked by, or None when it has none (not SUCCEEDED)."""
    if state != TrialState.SUCCEEDED or final_value is None or not math.isfinite(final_value):
        return None
    return final_value


def best_first_key(value: float | None, trial_id: int, *, maximize: bool
                   ) -> tuple[int, float, int]:
    """The sort key of a trial ranked by ``value`` (:func:`ranked_value`): best first."""
    if value is None:
        return (1, 0.0, trial_id)
    return (0, -value if maximize else value, trial_id)


def metric_order(*, maximize: bool, best_first: bool = True, metric: int = 0
                 ) -> tuple[OrderBy, OrderBy]:
    """``order_by`` arguments for trials by their ranked value (of the job's ``metric``, by
    position; ``maximize`` is that metric's goal): best first (or worst first), trials without
    one last either way, ties by trial id."""
    value = Case(When(state=TrialState.SUCCEEDED, then=final_value_of(metric)), default=None)
    if best_first == maximize:
        return value.desc(nulls_last=True), F("trial_id").asc()
    return value.asc(nulls_last=True), F("trial_id").asc()


def rank_trials(trials: Sequence[Trial], maximize: bool) -> list[Trial]:
    """Best first; trials without a final metric (not SUCCEEDED) last; ties by trial id."""
    return sorted(trials, key=lambda t: best_first_key(ranked_value(t.state, t.final_value),
                                                       t.trial_id, maximize=maximize))


# A trial's curve (its first metric's unless told), wherever it is shown: (step, value) in step
# order, report order within a step (two metric sources, or an epoch counter that restarted, report
# out of step order).
CURVE_ORDER = ("trial_id", "step", "id")


def trial_curves(trials: Iterable[int]) -> dict[int, list[tuple[int, float]]]:
    """The curves of the trials with these primary keys."""
    curves: dict[int, list[tuple[int, float]]] = {pk: [] for pk in trials}
    rows = (Measurement.objects.filter(trial_id__in=list(curves), metric=0)
            .order_by(*CURVE_ORDER)
            .values_list("trial_id", "step", "value"))
    for trial_pk, step, value in rows:
        curves[trial_pk].append((step, value))
    return curves


def job_curves(*, job: Job, trial_ids: Iterable[int], metric: int = 0
               ) -> dict[int, list[tuple[int, float]]]:
    """The curves of the job's ``metric`` (by position) of these trials of ``job``, by trial
    id (a caller has already checked that the user may see the job)."""
    ids = list(trial_ids)
    rows = (Measurement.objects.filter(trial__job=job, trial__trial_id__in=ids, metric=metric)
            .order_by(*CURVE_ORDER).values_list("trial__trial_id", "step", "value"))
    curves: dict[int, list[tuple[int, float]]] = {i: [] for i in ids}
    for tid, step, value in rows:
        curves[tid].append((step, value))
    return curves


def completed_curves(*, job_pk: int, exclude: Iterable[int] = ()
                     ) -> dict[int, tuple[list[tuple[int, float]], bool]]:
    """The curves of the job's SUCCEEDED trials by trial primary key, each with whether hpdash
    stopped it early, leaving out ``exclude``: the early-stopping rule's reference."""
    rows = (Measurement.objects
            .filter(trial__job_id=job_pk, trial__state=TrialState.SUCCEEDED, metric=0)
            .exclude(trial_id__in=list(exclude))
            .order_by("trial_id", "id")
            .values_list("trial_id", "step", "value", "trial__is_stopped_early"))
    curves: dict[int, tuple[list[tuple[int, float]], bool]] = {}
    for trial_pk, step, value, stopped in rows:
        curves.setdefault(trial_pk, ([], stopped))[0].append((step, value))
    return curves


def trials_params(*, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The parameters of these trials by primary key (for a trial's own length)."""
    return dict(Trial.objects.filter(pk__in=list(pks)).values_list("pk", "params"))


def running_curves(*, job_pk: int, exclude: int) -> dict[int, list[tuple[int, float]]]:
    """The measurements so far of the job's other RUNNING trials (the ``asha`` rule's rungs)."""
    rows = (Measurement.objects
            .filter(trial__job_id=job_pk, trial__state=TrialState.RUNNING, metric=0)
            .exclude(trial_id=exclude).order_by("trial_id", "id")
            .values_list("trial_id", "step", "value"))
    curves: dict[int, list[tuple[int, float]]] = {}
    for trial_pk, step, value in rows:
        curves.setdefault(trial_pk, []).append((step, value))
    return curves


def job_state_now(*, job_pk: int) -> JobState | None:
    state = Job.objects.filter(pk=job_pk).values_list("state", flat=True).first()
    return JobState(state) if state else None


def trial_refusal(*, trial_pk: int, attempt: int) -> StopReason:
    """Why a write of this attempt was refused: the trial was settled with its job (cancelled,
    failed), or it belongs to a newer attempt now (superseded)."""
    row = Trial.objects.filter(pk=trial_pk).values_list("attempt", "stop_reason").first()
    if row is None or row[0] != attempt or not row[1]:
        return StopReason.SUPERSEDED
    return StopReason(row[1])


@dataclass(frozen=True)
class StoppingSavings:
    """What early stopping saved a job, estimated: each trial it stopped, run at its own pace
    (its wall time per step) to the full length (the most steps a trial that ran to its end
    reported)."""

    stopped: int  # trials stopped early
    finished: int  # trials that ended (succeeded, stopped early included)
    full_length: int  # steps
    steps_run: int  # steps the finished trials reported
    steps_saved: int
    seconds_saved: float

    @property
    def steps_saved_pct(self) -> int:
        total = self.steps_run + self.steps_saved
        return round(100 * self.steps_saved / total) if total else 0


def stopping_savings(*, job: Job) -> StoppingSavings | None:
    """None until a trial ran to its end (there is no full length to compare against).

    Read on every 3 s live poll of a job page with early stopping, so it costs one query of
    integer aggregates while no trial ends (10,000 trials on SQLite: 16 ms, where reading them
    all took 180 ms): the sums only move when a trial succeeds, which moves the count and the
    latest end time, so they are cached under those (:func:`_stopping_savings_sums`, 90 ms)."""
    ended = job.trials.filter(state=TrialState.SUCCEEDED, final_step__isnull=False)
    mark = ended.aggregate(n=Count("pk"), last=Max("end_time"), steps=Sum("final_step"),
                           stopped=Count("pk", filter=Q(is_stopped_early=True)),
                           full=Max("final_step", filter=Q(is_stopped_early=False)))
    full: int = mark["full"] or 0
    if full <= 0:
        return None
    last = mark["last"].timestamp() if mark["last"] else 0
    key = (f"hpdash:stopping-savings:{job.pk}:{mark['n']}:{mark['stopped']}:{mark['steps']}:"
           f"{last}:{full}")
    savings = cache.get(key)
    if not isinstance(savings, StoppingSavings):
        savings = _stopping_savings_sums(ended, full)
        cache.set(key, savings, timeout=3600)
    return savings


def _stopping_savings_sums(ended: QuerySet[Trial], full: int) -> StoppingSavings:
    """Summed by the database, nothing per trial comes back to Python."""
    short = Q(is_stopped_early=True, final_step__lt=full)
    timed = short & Q(final_step__gt=0, start_time__isnull=False, end_time__isnull=False)
    # Each stopped trial's wall time per step, times the steps it did not run.
    pace = ExpressionWrapper(
        (F("end_time") - F("start_time")) * (Value(full) - F("final_step")) / F("final_step"),
        output_field=DurationField())
    sums = ended.aggregate(
        finished=Count("pk"), stopped=Count("pk", filter=Q(is_stopped_early=True)),
        steps_run=Sum("final_step"),
        steps_saved=Sum(Value(full) - F("final_step"), filter=short),
        time_saved=Sum(pace, filter=timed))
    time_saved: dt.timedelta | None = sums["time_saved"]
    return StoppingSavings(
        stopped=sums["stopped"], finished=sums["finished"], full_length=full,
        steps_run=sums["steps_run"] or 0, steps_saved=sums["steps_saved"] or 0,
        seconds_saved=time_saved.total_seconds() if time_saved else 0.0)
