"""ALGORITHM_UNSPECIFIED, the default: a batched Gaussian-process bandit in the spirit of Google
Vizier (Golovin et al. 2017, §3; contract §12).

How one call works (stateless: everything is rebuilt from the history every time):

1. **Initial design.**  Until ``n_init = clamp(d + 1, 5, 10)`` trials have *finished*
   (``d`` = parameters with more than one feasible value; running trials do not count unless
   ``DESIGN_COUNTS_RUNNING``; a job of few trials caps ``n_init`` at a quarter of its
   ``maxTrials``, at least 3: :func:`n_initial`), or while fewer than 2 succeeded, points
   come from a scrambled Sobol sequence seeded with the job seed, taken at indices
   ``[len(history), len(history) + n)``: successive calls continue one space-filling sequence
   (a point that is already taken is skipped).  Unit coordinates become values through
   ``space.from_unit`` (scale warping and snapping); a categorical or DISCRETE parameter with
   ``k`` values takes value number ``floor(u k)``, so each of its values is equally likely.
2. **Encoding.**  Numeric parameters live in [0, 1] through ``space.to_unit``; categoricals
   are one-hot.  INTEGER and DISCRETE parameters with at most ``TABLE_MAX`` values are snapped
   to their feasible points in this encoding, so the model scores the point that will run.
3. **Model.**  The GP of skopt's ``cook_estimator("GP", noise="gaussian")``: constant
   amplitude x Matern(nu=2.5) with one length scale per encoded column (ARD) + white noise,
   same bounds, fit by maximising the log marginal likelihood (L-BFGS-B with the analytic
   gradient; hyperpriors: ``PRIOR``, off) on warped objectives:
   ``y = -value`` when maximising, then half-rank output warping (values worse than the median
   replaced by normal quantiles of their rank, see :func:`warp_objectives`), then zero mean
   and unit variance.  It is implemented in :mod:`hpdash.core.suggest.gp` with numpy/scipy,
   because the sklearn/skopt versions are too slow for the latency budget (see there); tests
   check it against skopt's.

   - Hyperparameters are fit on SUCCEEDED trials only, at most ``HYPERFIT_MAX_ROWS`` (200) of
     them: the best 100 plus a seeded random 100 of the rest.  An evaluation is O(N^3): 200
     rows keep the fit near 0.1 s on one core, 300 rows took 0.6 s.  A second, random start
     is added while there are at most ``RESTART_MAX_ROWS`` rows (cheap, and local optima are
     likelier with little data).
   - The posterior (hyperparameters fixed: one Cholesky) conditions on up to
     ``POSTERIOR_MAX_ROWS`` (1000) rows, subsampled the same way beyond that: SUCCEEDED trials
     with their value, FAILED ones with the worst observed value ("a particularly bad
     objective value", Vizier §5.3), PENDING ones with a pessimistic kriging-believer lie
     (posterior mean + 1 sd at the point, conditioned one after another), so running trials
     repel new suggestions without pretending they were as good as the best.
   - BLAS runs single-threaded during a suggestion: the matrices are small, and on a loaded
     2-core machine OpenBLAS threads spinning against each other (and against the trials)
     made the likelihood 10x slower.
4. **Acquisition.**  Expected improvement (the formula of ``skopt.acquisition.gaussian_ei``,
   ``xi = 0.01`` in standardised units) over candidates: uniform random points of a *trust
   region* (``2e6 / N`` of them, clamped to [1000, 4000], so the O(N^2 C) posterior solve
   stays bounded) plus Gaussian perturbations of the best observed points (reflected at the
   bounds); then a finer perturbation round around the best candidates (a cheap stand-in for
   Vizier's hill climbing; multi-start hill climbing from the best candidates that lie in
   different places, :func:`maximise_acquisition`, finds narrow basins but measured worse on
   the tuning set: ``MULTI_START``, off).  The trust region (:func:`trust_region`) is the
   union of L-inf boxes of half-width ``TRUST_RADIUS`` (0.2) around the best fifth of the
   succeeded trials (at least 3): EI alone, once the optimum is found, puts its maximum
   where the variance is largest - the corners of the box - and a resumed job spent half
   its trials there.
   Decided on the tuning set of ``benchmarks/search_quality.py`` (see its ablation table).
   The best candidate whose decoded point is not taken wins.  When the whole space is finite
   and small (at most ``ENUMERATE_MAX`` points) the candidates are exactly the untaken points,
   and an exhausted space yields fewer points.
5. **Batches.**  After each pick the posterior is conditioned on the picked point with the
   same lie by extending the Cholesky factor by one row (O(N C) for the candidate set): the same as
   refitting with the kernel hyperparameters fixed, without re-optimising them, so a batch of
   4 costs little more than one suggestion.  The acquisition is also multiplied by
   :func:`batch_penalty`, zero within ``BATCH_GAP`` of a point of the batch or a running
   trial (local penalisation): the lie alone let two points of one batch land 0.001 apart.

Everything random derives from ``(seed, len(history))``, so a call is deterministic.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import qmc, rankdata
from threadpoolctl import threadpool_limits

from hpdash.core.spec.space import (
    clean_value,
    fixed_value,
    format_value,
    from_unit,
    grid_values,
    space_size,
    to_unit,
    value_count,
)
from hpdash.core.spec.types import HyperparameterSpec, ParamValue

from .base import (
    FAILED,
    PENDING,
    SUCCEEDED,
    Observation,
    Point,
    PointKey,
    decode_unit,
    free_params,
    key_of,
    make_rng,
    random_points,
    taken_keys,
)
from .gp import (
    XI,
    CandidateSet,
    Posterior,
    Warp,
    expected_improvement,
    fit_hyperparameters,
    fit_warped,
    matern52,
    sqdist,
)

N_INIT_MIN, N_INIT_MAX = 5, 10
# A short job spends at most a quarter of its maxTrials on the design, and at least 3 trials.
N_INIT_FLOOR, DESIGN_SHARE = 3, 0.25
HYPERFIT_MAX_ROWS = 200
POSTERIOR_MAX_ROWS = 1000
CANDIDATES_MIN, CANDIDATES_MAX, CANDIDATE_WORK = 1000, 4000, 2_000_000
N_ELITE, PER_ELITE = 5, 60  # perturbations of the best observed points
ELITE_SIGMAS = (0.01, 0.05, 0.15)
N_REFINE, PER_REFINE = 5, 40  # finer perturbations around the best candidates of a pick
REFINE_SIGMA = 0.02
# Multi-start acquisition optimisation (maximise_acquisition): hill climbs from the N_STARTS
# best candidates at least START_GAP apart (L-inf, unit cube), LOCAL_PER proposals a start
# and round, one round per step size.
N_STARTS, START_GAP, LOCAL_PER = 6, 0.1, 16
LOCAL_SIGMAS = (0.05, 0.02, 0.01, 0.004)
# Batch diversity: a point of a batch (or a running trial) penalises the acquisition within
# BATCH_GAP of it (L-inf, unit cube), so parallel suggestions are never near-duplicates.
BATCH_GAP = 0.05
CATEGORY_FLIP = 0.2  # chance a perturbation re-draws a categorical parameter
TABLE_MAX = 10_000
ENUMERATE_MAX = 4000
MAX_DECODES = 500
# The trust region the random candidates are drawn in: L-inf boxes of half-width TRUST_RADIUS
# (unit cube) around the best TRUST_TOP share of the succeeded trials (at least TRUST_MIN).
TRUST_RADIUS, TRUST_TOP, TRUST_MIN = 0.2, 0.2, 3
# Alternatives measured on the tuning set for issue 23 (benchmarks/ablate.py; figures in
# search_quality.ABLATIONS), all off because they did no better there:
# * CENTRE_FIRST: design point 0 is the centre of the box (Vizier's first suggestion), then
#   the Sobol sequence: sequential @20 0.192 against 0.163 (paired +0.030 [+0.004, +0.056]).
# * DESIGN_COUNTS_RUNNING: running trials count towards the design, so 4 in parallel starts
#   the model after as many design points as sequential does (with 2-4 results and lies for
#   the running ones): 4 in parallel @20 0.231 against 0.226, @50 0.114 against 0.100
#   (paired +0.014 [+0.001, +0.028]); the lengthened design is not what parallel costs.
# * MULTI_START: the pick climbs from several distinct starts (maximise_acquisition) instead
#   of one round of perturbations around the 5 best candidates: sequential @20 0.209 against
#   0.163 (paired +0.046 [+0.021, +0.073]); it maximises EI better and searches worse.
CENTRE_FIRST = False
DESIGN_COUNTS_RUNNING = False
MULTI_START = False
# * DESIGN_WHEN_RUNNING: while trials are running (a parallel job), the design ends once this
#   many trials have finished (0: as sequentially, :func:`n_initial`), the running ones making
#   up the rest of it; meant with PRIOR while data are few (PRIOR_UNTIL), as the model then
#   starts from 3 results.  With 3 and the prior until 20 trials, 4 in parallel @20 0.202
#   against 0.220 on the tuning set (paired -0.019 [-0.038, -0.000]) and 0.229 against 0.253
#   on the decision set (-0.023 [-0.041, -0.008]), but that prior made sequential jobs worse
#   on the decision set (@50 0.129 against 0.115, +0.014 [+0.001, +0.028]: michalewicz5,
#   rastrigin5_offcentre), and with the prior only for the early model (PRIOR_UNTIL_DESIGN)
#   the parallel gain was gone (@20 +0.006 [-0.011, +0.023]).
DESIGN_WHEN_RUNNING = 0
# * FANTASIES: running trials integrated out (Snoek et al. 2012, "Practical Bayesian
#   optimization", §3.3): expected improvement averaged over FANTASIES joint posterior samples
#   of the running trials' values (:class:`Fantasies`), each with its own incumbent, instead of
#   EI of one posterior conditioned on the pessimistic lie (:func:`_lie`).  With 32, 4 in
#   parallel @20 0.223 against 0.225 (paired -0.002 [-0.023, +0.020]), @30 0.142 against 0.154
#   (-0.012 [-0.031, +0.008]), @50 0.088 against 0.095 (-0.008 [-0.026, +0.011]): no interval
#   clear of zero, and 4 in parallel stays 1.37 x sequential at 20 on the tuning set.  With
#   DESIGN_COUNTS_RUNNING as well (the model starts from 2-4 results and fantasies for the
#   rest): @10 0.327 against 0.351 (-0.024 [-0.049, +0.001]), @20 0.219 against 0.225 (-0.005
#   [-0.035, +0.024]), @50 0.097 against 0.095 (+0.002 [-0.021, +0.026]): no better.
FANTASIES = 0
# * TRUST_FROM: the trust region holds the random candidates only once TRUST_FROM trials
#   have succeeded; before that they are drawn in the whole box (more exploration in the
#   first model steps, aimed at the losses to random at 10 trials).  With 20, sequential @10
#   0.313 against 0.298 (paired +0.015 [-0.018, +0.048]), @20 0.189 against 0.163 (+0.026
#   [+0.005, +0.048]), @50 0.091 against 0.100 (-0.009 [-0.037, +0.018]): worse at 20.
TRUST_FROM = 0
# * PRIOR: the GP's hyperparameters fit with hyperpriors (``gp.PRIORS``) instead of by maximum
#   likelihood.  Optuna GPSampler's ("optuna") was better on the tuning set (20 seeds,
#   sequential @50 0.081 against 0.096, paired -0.016 [-0.033, -0.001]; level at 10/20/30)
#   and worse on the held-out set (@50 0.133 against 0.114, +0.019 [+0.007, +0.031]: shekel10
#   0.794 against 0.620, schwefel4 0.395 against 0.277; level at 10/20), so it is off: the
#   held-out set decided this one.  Its parts alone, and Hvarfner's log-normal length scales,
#   were worse on the tuning set already.
PRIOR = ""
# * PRIOR_UNTIL: with a PRIOR, it applies only while fewer than PRIOR_UNTIL trials have
#   succeeded (0: always), maximum likelihood after: the prior where data are scarce (a short
#   design), without its smoothing over narrow basins later (shekel10, schwefel4 above).  With
#   a 3-point design (N_INIT_MIN = N_INIT_MAX = 3) and 20 it passed the tuning set (sequential
#   @50 0.081 against 0.096, -0.015 [-0.027, -0.004]) and failed the decision set
#   (problems.DECISION: @30 +0.017 [+0.001, +0.031], condquad6 0.046 -> 0.115 at 50 trials).
PRIOR_UNTIL = 0
# * PRIOR_UNTIL_DESIGN: PRIOR_UNTIL is the job's sequential design size (:func:`n_initial`), so
#   the prior applies only to a model started early by DESIGN_WHEN_RUNNING; a sequential job
#   (whose model starts after n_initial results) never uses it.
PRIOR_UNTIL_DESIGN = False
# * WARP_INPUTS: numeric columns pass through a Kumaraswamy CDF fit with the GP (gp.Warp).
WARP_INPUTS = False


# =========================================================================== encoding


class Encoder:
    """Maps points of the free parameters to rows of the unit cube and back."""

    def __init__(self, spec: HyperparameterSpec):
        self.spec = spec
        self.free = free_params(spec)
        self.fixed: dict[str, ParamValue] = {
            p.name: v for p in spec.params if (v := fixed_value(p)) is not None
        }
        self.columns: list[slice] = []
        # For INTEGER/DISCRETE params with a small set of values: the values, their unit
        # coordinates, and the unit boundaries between neighbours that from_unit rounds at.
        self.tables: dict[int, tuple[list[ParamValue], np.ndarray, np.ndarray]] = {}
        start = 0
        for j, p in enumerate(self.free):
            width = len(p.categorical_values) if p.type == "CATEGORICAL" else 1
            self.columns.append(slice(start, start + width))
            start += width
            if p.type in ("INTEGER", "DISCRETE") and (value_count(p) or 0) <= TABLE_MAX:
                values = [clean_value(p, v) for v in grid_values(p)]
                units = np.array([to_unit(p, float(v)) for v in values])
                if p.type == "INTEGER":
                    cuts = np.array([to_unit(p, float(v) + 0.5) for v in values[:-1]])
                else:
                    cuts = (units[1:] + units[:-1]) / 2
                self.tables[j] = (values, units, cuts)
        self.dim = start
        self.numeric = [j for j, p in enumerate(self.free) if p.type != "CATEGORICAL"]
        self.categorical = [j for j, p in enumerate(self.free) if p.type == "CATEGORICAL"]

    def encode(self, point: dict[str, ParamValue]) -> np.ndarray:
        row = np.zeros(self.dim)
        for j, p in enumerate(self.free):
            col = self.columns[j]
            if p.type == "CATEGORICAL":
                value = str(point[p.name])
                if value in p.categorical_values:
                    row[col.start + p.categorical_values.index(value)] = 1.0
            else:
                u = to_unit(p, float(point[p.name]))
                row[col.start] = u if math.isfinite(u) else 0.5  # a NaN from a foreign history
        return row

    def decode(self, row: np.ndarray) -> Point:
        point: Point = {}
        free = iter(enumerate(self.free))
        for p in self.spec.params:
            if p.name in self.fixed:
                point[p.name] = self.fixed[p.name]
                continue
            j, _ = next(free)
            col = self.columns[j]
            if p.type == "CATEGORICAL":
                point[p.name] = str(p.categorical_values[int(np.argmax(row[col]))])
            else:
                point[p.name] = clean_value(p, from_unit(p, float(row[col.start])))
        return point

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Move rows onto feasible points: tabled numerics to their nearest value, categorical
        blocks to the one-hot of their largest entry."""
        np.clip(X, 0.0, 1.0, out=X)
        for j, (_, units, cuts) in self.tables.items():
            c = self.columns[j].start
            X[:, c] = units[np.searchsorted(cuts, X[:, c])]
        for j in self.categorical:
            col = self.columns[j]
            hot = np.argmax(X[:, col], axis=1)
            X[:, col] = 0.0
            X[np.arange(len(X)), col.start + hot] = 1.0
        return X

    def random(self, rng: np.random.Generator, m: int) -> np.ndarray:
        X = self.snap(rng.random((m, self.dim)))
        # DISCRETE values uniformly by index (as the initial design draws them), not by their
        # share of the scaled range, where a value next to a far neighbour would rarely come up.
        for j, (_, units, _) in self.tables.items():
            if self.free[j].type == "DISCRETE":
                X[:, self.columns[j].start] = units[rng.integers(len(units), size=m)]
        return X

    def perturb(
        self, rng: np.random.Generator, centers: np.ndarray, per: int, sigmas: Sequence[float]
    ) -> np.ndarray:
        X = np.repeat(centers, per, axis=0)
        sigma = rng.choice(np.asarray(sigmas, dtype=float), size=len(X))
        for j in self.numeric:
            c = self.columns[j].start
            X[:, c] += sigma * rng.standard_normal(len(X))
            # Reflect at the bounds: clipping put every overshooting perturbation exactly on
            # a face or a corner of the box, where EI is largest once the optimum is found.
            X[:, c] = 1.0 - np.abs(1.0 - np.abs(X[:, c]))
        for j in self.categorical:
            col = self.columns[j]
            flip = rng.random(len(X)) < CATEGORY_FLIP
            X[flip, col] = rng.random((int(flip.sum()), col.stop - col.start))
        return self.snap(X)

    def enumerate_untaken(self, taken: set[PointKey]) -> tuple[np.ndarray, list[Point]]:
        """Every untaken point of a finite space, encoded, with the points themselves."""
        value_lists = [
            list(p.categorical_values) if p.type == "CATEGORICAL" else self.tables[j][0]
            for j, p in enumerate(self.free)
        ]
        shape = tuple(len(v) for v in value_lists)
        index = np.stack(np.unravel_index(np.arange(math.prod(shape)), shape), axis=1)
        mask = np.ones(len(index), dtype=bool)
        lookups = [
            {format_value(p, v): i for i, v in enumerate(vals)}
            for p, vals in zip(self.free, value_lists, strict=True)
        ]
        positions = [self.spec.params.index(p) for p in self.free]
        for key in taken:
            try:
                multi = tuple(lookups[j][key[pos]] for j, pos in enumerate(positions))
            except (KeyError, IndexError):
                continue
            mask[np.ravel_multi_index(multi, shape)] = False
        index = index[mask]
        X = np.zeros((len(index), self.dim))
        for j, p in enumerate(self.free):
            col = self.columns[j]
            if p.type == "CATEGORICAL":
                X[np.arange(len(index)), col.start + index[:, j]] = 1.0
            else:
                X[:, col.start] = self.tables[j][1][index[:, j]]
        points = []
        for row in index:
            point: Point = {}
            free_j = 0
            for p in self.spec.params:
                if p.name in self.fixed:
                    point[p.name] = self.fixed[p.name]
                else:
                    point[p.name] = value_lists[free_j][int(row[free_j])]
                    free_j += 1
            points.append(point)
        return X, points


# =========================================================================== suggester


def n_initial(spec: HyperparameterSpec) -> int:
    """Design trials before the model: ``clamp(d + 1, 5, 10)`` (finished ones, unless
    ``DESIGN_COUNTS_RUNNING``), but at most ``DESIGN_SHARE`` of the job's ``maxTrials``
    (rounded up) and never fewer than ``N_INIT_FLOOR``: a job of 10 trials runs 3 design
    points and 7 of the model's, not 6 and 4."""
    full = min(max(len(free_params(spec)) + 1, N_INIT_MIN), N_INIT_MAX)
    return max(N_INIT_FLOOR, min(full, math.ceil(DESIGN_SHARE * spec.max_trials)))


def in_initial_design(
    spec: HyperparameterSpec, history: Sequence[Observation], good: Sequence[Observation]
) -> bool:
    """Whether the next points still come from the space-filling design: fewer than
    :func:`n_initial` trials have finished (with ``DESIGN_COUNTS_RUNNING``: exist, finished or
    running), fewer than 2 succeeded with a usable value (``good``), or nothing is free to
    choose.

    Counting only finished trials, every trial running at the end of the design adds a design
    point (3 more with 4 in parallel) and the model starts 3 trials later than sequentially.
    Counting running ones too (they enter the model with their lies) starts it from 2-4
    results, which measured worse on the tuning set (see ``DESIGN_COUNTS_RUNNING``)."""
    finished = sum(o.state != PENDING for o in history)
    started = len(history) if DESIGN_COUNTS_RUNNING else finished
    needed = n_initial(spec)
    if DESIGN_WHEN_RUNNING and finished < len(history):
        needed = min(needed, DESIGN_WHEN_RUNNING)
    return started < needed or len(good) < 2 or not free_params(spec)


def warp_objectives(y: np.ndarray) -> np.ndarray:
    """Minimisation values -> GP targets: half-rank warping, then zero mean, unit variance.

    Values better than (or at) the median are kept; each worse value is replaced by its
    normal quantile by rank, ``median + s * Phi^-1((rank - 1/2) / N)``, with ``s`` the spread
    of the better half (Vizier's "half-rank" output warping).  The map is monotone, so the
    best point stays the best, but one terrible trial (a diverged run, a log loss of 30) no
    longer squeezes every good value into one flat band after standardisation, which is what
    hyperparameter-tuning objectives do all the time.
    """
    y = np.array(y, dtype=float)
    n = len(y)
    if n >= 3:
        med = float(np.median(y))
        good = y <= med
        spread = math.sqrt(float(np.mean((y[good] - med) ** 2)))
        if spread > 0 and not good.all():
            ranks = rankdata(y)
            y[~good] = med + spread * ndtri((ranks[~good] - 0.5) / n)
    scale = float(y.std()) or 1.0
    out: np.ndarray = (y - y.mean()) / scale
    return out


def space_filling(
    spec: HyperparameterSpec, taken: set[PointKey], start: int, n: int, seed: int
) -> list[Point]:
    """Points ``start, start+1, ...`` of the job's design: with ``CENTRE_FIRST`` the centre of
    the box, then its scrambled Sobol sequence, skipping taken ones (then random points if the
    sequence keeps hitting taken points)."""
    d = len(free_params(spec))
    out: list[Point] = []
    if d > 0 and CENTRE_FIRST and start == 0:
        centre = decode_unit(spec, np.full(d, 0.5))
        key = key_of(spec, centre)
        if key is not None and key not in taken:
            taken.add(key)
            out.append(centre)
            if len(out) == n:
                return out
    if d > 0:
        sobol = qmc.Sobol(d, scramble=True, seed=make_rng(seed, 0x50B01))
        skip = start - 1 if CENTRE_FIRST and start > 0 else start
        if skip:
            sobol.fast_forward(skip)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "balance properties" needs powers of two
            U = sobol.random(n + 64)
        for u in U:
            point = decode_unit(spec, u)
            key = key_of(spec, point)
            if key is not None and key not in taken:
                taken.add(key)
                out.append(point)
                if len(out) == n:
                    return out
    return out + random_points(spec, taken, n - len(out), make_rng(seed, start, 1))


class GPBanditSuggester:
    """The default engine (``HPDASH_BAYES_ENGINE=hpdash``): the GP bandit described above."""

    def suggest(
        self, spec: HyperparameterSpec, history: Sequence[Observation], n: int, seed: int
    ) -> list[Point]:
        if n <= 0:
            return []
        taken = taken_keys(spec, history)
        good = [
            o
            for o in history
            if o.state == SUCCEEDED
            and o.value is not None
            and math.isfinite(o.value)
            and key_of(spec, o.params) is not None
        ]
        if in_initial_design(spec, history, good):
            return space_filling(spec, taken, len(history), n, seed)
        # The matrices here are small (<= 1000); OpenBLAS threads only spin against each other
        # and against the trials sharing the machine (10x slower on a loaded 2-core box).
        with threadpool_limits(limits=1, user_api="blas"):
            return _gp_suggest(spec, history, good, taken, n, make_rng(seed, len(history)))


def _gp_suggest(  # noqa: PLR0915, PLR0917 - one GP fit and pick; split in the search work
    spec: HyperparameterSpec,
    history: Sequence[Observation],
    good: list[Observation],
    taken: set[PointKey],
    n: int,
    rng: np.random.Generator,
) -> list[Point]:
    enc = Encoder(spec)
    sign = -1.0 if spec.maximize else 1.0
    y_raw = np.array([sign * o.value for o in good if o.value is not None])
    y_good = warp_objectives(y_raw)
    X_good = np.array([enc.encode(o.params) for o in good])
    y_best, y_worst = float(y_good.min()), float(y_good.max())

    # Hyperparameters from (a subsample of) the succeeded trials.
    fit_rows = _subsample(y_good, HYPERFIT_MAX_ROWS, rng)
    until = n_initial(spec) if PRIOR_UNTIL_DESIGN else PRIOR_UNTIL
    theta, warp = _fit(enc, X_good[fit_rows], y_good[fit_rows], rng, until)

    # Posterior: succeeded, failed (worst value) and pending (lie) trials.
    others = [
        o for o in history if o.state in (FAILED, PENDING) and key_of(spec, o.params) is not None
    ]
    pending = [o for o in others if o.state == PENDING]
    failed = [o for o in others if o.state == FAILED]
    budget = POSTERIOR_MAX_ROWS - len(pending)
    keep_good = _subsample(y_good, max(budget - min(len(failed), budget // 4), 2), rng)
    keep_failed = failed[: max(budget - len(keep_good), 0)]
    X_post = np.vstack([X_good[keep_good]] + [enc.encode(o.params)[None, :] for o in keep_failed])
    y_post = np.concatenate([y_good[keep_good], np.full(len(keep_failed), y_worst)])
    post = Posterior(theta, X_post, y_post, capacity=n + len(pending), warp=warp)
    fantasies = None
    if FANTASIES > 0 and pending:
        fantasies = Fantasies(post, np.array([enc.encode(o.params) for o in pending]), y_best,
                              FANTASIES, n, rng)
    else:
        for o in pending:
            x = enc.encode(o.params)
            post.add(x, _lie(post, x))

    def acquisition(mean: np.ndarray, sd: np.ndarray, V: np.ndarray) -> np.ndarray:
        """EI at candidates with posterior ``mean``, ``sd`` and ``V = L^-1 k(X, .)``."""
        if fantasies is not None:
            return fantasies.expected_improvement(V, sd)
        return expected_improvement(mean, sd, y_best)

    size = space_size(spec)
    finite = size is not None and size <= ENUMERATE_MAX
    if finite:
        X_cand, cand_points = enc.enumerate_untaken(taken)
        if len(X_cand) == 0:
            return []
    else:
        n_random = min(max(CANDIDATE_WORK // post.n, CANDIDATES_MIN), CANDIDATES_MAX)
        elite = X_good[np.argsort(y_good, kind="stable")[:N_ELITE]]
        X_cand = np.vstack(
            [trust_region(enc, X_good, y_good, n_random, rng) if len(y_good) >= TRUST_FROM
             else enc.random(rng, n_random),
             enc.perturb(rng, elite, PER_ELITE, ELITE_SIGMAS)]
        )
    cands = CandidateSet(post, X_cand, capacity=n)
    # Points of this batch and running trials: the acquisition is penalised near them.
    near: list[np.ndarray] = [enc.encode(o.params) for o in pending]

    out: list[Point] = []
    for _ in range(n):
        ei = acquisition(cands.mean, cands.sd, cands.V[: post.n]) * batch_penalty(cands.X, near)
        ei[~cands.alive] = -np.inf
        if finite:
            i = int(np.argmax(ei))
            if not cands.alive[i]:
                break
            cands.alive[i] = False
            point, x = cand_points[i], X_cand[i]
        else:
            picked = _pick_continuous(enc, post, cands, ei, acquisition, taken, near, rng)
            if picked is None:
                break
            point, x = picked
        key = key_of(spec, point)
        assert key is not None
        taken.add(key)
        out.append(point)
        near.append(x)
        if len(out) < n:
            cands.update(post, x, post.add(x, _lie(post, x)))
            if fantasies is not None:
                fantasies.add_lie(post)
    if len(out) < n and not finite:
        out += random_points(spec, taken, n - len(out), rng)
    return out


def _fit(
    enc: Encoder, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, until: int = 0
) -> tuple[np.ndarray, Warp | None]:
    """The GP's hyperparameters (with ``PRIOR``, if any, while there are fewer than ``until``
    rows; 0: always) and, with ``WARP_INPUTS``, the warp of the numeric columns fit with
    them."""
    prior = PRIOR if not until or len(y) < until else ""
    if not WARP_INPUTS:
        return fit_hyperparameters(X, y, rng, prior), None
    cols = np.array([enc.columns[j].start for j in enc.numeric], dtype=int)
    return fit_warped(X, y, rng, prior, cols)


def trust_region(
    enc: Encoder, X_good: np.ndarray, y_good: np.ndarray, m: int, rng: np.random.Generator
) -> np.ndarray:
    """``m`` candidates drawn uniformly in the trust region: a box of half-width
    ``TRUST_RADIUS`` around one of the best ``max(TRUST_MIN, TRUST_TOP * N)`` trials (chosen
    uniformly per candidate), clipped to the unit cube; categorical blocks are drawn at random.

    Expected improvement is largest where the model knows least, and once the optimum is found
    that is the faces and corners of the box (a resumed job sent 3 of its 6 trials to corners
    and scored below random points); TuRBO's and Vizier's trust regions answer the same
    problem.  With a fifth of the trials as centres the region still spans several basins."""
    k = max(TRUST_MIN, math.ceil(TRUST_TOP * len(y_good)))
    return around(enc, X_good[np.argsort(y_good, kind="stable")[:k]], m, rng)


def around(enc: Encoder, centers: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` points drawn uniformly in the L-inf boxes of half-width ``TRUST_RADIUS`` around
    ``centers`` (one centre per point, chosen uniformly), clipped to the unit cube;
    categorical blocks are drawn at random."""
    X = enc.random(rng, m)
    pick = centers[rng.integers(len(centers), size=m)]
    for j in enc.numeric:
        c = enc.columns[j].start
        lo = np.clip(pick[:, c] - TRUST_RADIUS, 0.0, 1.0)
        hi = np.clip(pick[:, c] + TRUST_RADIUS, 0.0, 1.0)
        X[:, c] = lo + (hi - lo) * rng.random(m)
    return enc.snap(X)


def _lie(post: Posterior, x: np.ndarray) -> float:
    """The value a pending point is conditioned on: the posterior mean plus one standard
    deviation there (a pessimistic kriging believer).  The old constant liar ``min(y)`` told
    the model that every running trial had matched the best one, which pulled the next
    suggestions into the same basin (hartmann6 with 4 in parallel: 0.42 against 0.03
    sequentially after 50 trials); the posterior mean alone did a little worse in
    ``benchmarks/search_quality.py`` (see its ablation table)."""
    mean, sd = post.predict(x[None, :])
    return float(mean[0] + sd[0])


class Fantasies:
    """Running trials integrated out of expected improvement (``FANTASIES``).

    ``k`` joint samples of the running trials' observed values are drawn from the posterior
    of the finished ones (latent covariance plus noise).  The posterior is then conditioned on
    the running points once (their rows of the Cholesky factor do not depend on the values);
    each sample only changes ``z = L^-1 y`` in those rows, so a candidate's mean under sample
    ``j`` is ``V.T @ Z[:, j]`` and its sd is the same for all.  Expected improvement is taken
    per sample against that sample's incumbent (the best of the finished values and its own
    running ones) and averaged: a candidate near a running trial gains little where that
    trial is likely to do well already, without pretending any one value for it."""

    def __init__(  # noqa: PLR0917
        self, post: Posterior, X_pend: np.ndarray, y_best: float, k: int, capacity: int,
        rng: np.random.Generator,
    ):
        n0, p = post.n, len(X_pend)
        V = post.solve(X_pend)
        mean = V.T @ post.z[:n0]
        Xs = post.scaled(X_pend)
        cov = post.amp * matern52(sqdist(Xs, Xs)) - V.T @ V
        cov[np.diag_indices(p)] += post.noise
        w, Q = np.linalg.eigh((cov + cov.T) / 2)
        F = mean[None, :] + (rng.standard_normal((k, p)) * np.sqrt(np.maximum(w, 0.0))) @ Q.T
        for i in range(p):
            post.add(X_pend[i], float(mean[i]))
        self.Z = np.zeros((n0 + p + capacity, k))
        self.Z[:n0] = post.z[:n0, None]
        L = post.L
        for i in range(p):
            r = n0 + i
            self.Z[r] = (F[:, i] - L[r, :r] @ self.Z[:r]) / L[r, r]
        self.y_best = np.minimum(y_best, F.min(axis=1))

    def add_lie(self, post: Posterior) -> None:
        """After ``post.add(x, mean + sd)``: the same pessimistic lie under every sample (its
        ``z`` entry, ``sd / d``, is then the same for all of them)."""
        r = post.n - 1
        row = post.L[r, :r]
        sd = math.sqrt(max(post.amp - float(row @ row), 0.0))
        self.Z[r] = sd / post.L[r, r]

    def expected_improvement(self, V: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Mean over the samples of EI at the columns of ``V`` (``L^-1 k(X, .)``)."""
        M = V.T @ self.Z[: len(V)]
        improve = self.y_best[None, :] - XI - M
        ei = np.zeros(len(sd))
        ok = sd > 0
        z = improve[ok] / sd[ok, None]
        ei[ok] = (improve[ok] * ndtr(z) + sd[ok, None] * np.exp(-0.5 * z * z)
                  / math.sqrt(2 * math.pi)).mean(axis=1)
        return ei


def _pick_continuous(  # noqa: PLR0917
    enc: Encoder,
    post: Posterior,
    cands: CandidateSet,
    ei: np.ndarray,
    ei_at: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    taken: set[PointKey],
    near: Sequence[np.ndarray],
    rng: np.random.Generator,
) -> tuple[Point, np.ndarray] | None:
    """Refine around the best candidates (one round of perturbations, or with
    ``MULTI_START`` :func:`maximise_acquisition`), then take the best point found, refined or
    candidate, that is untaken."""

    def acquisition(X: np.ndarray) -> np.ndarray:
        V = post.solve(X)
        mean, sd = post.moments(V)
        out: np.ndarray = ei_at(mean, sd, V) * batch_penalty(X, near)
        return out

    if MULTI_START:
        X_top, v_top = maximise_acquisition(acquisition, enc, cands.X, ei, rng)
    else:
        top = np.argsort(-ei, kind="stable")[:N_REFINE]
        X_top = enc.perturb(rng, cands.X[top], PER_REFINE, (REFINE_SIGMA,))
        v_top = acquisition(X_top)
    return best_untaken(enc, np.vstack([cands.X, X_top]), np.concatenate([ei, v_top]), taken,
                        cands.alive)


def best_untaken(enc: Encoder, X: np.ndarray, scores: np.ndarray, taken: set[PointKey],
                 alive: np.ndarray) -> tuple[Point, np.ndarray] | None:
    """The best-scoring row of ``X`` (candidates first, then refined points) whose decoded
    point is not taken, as (point, its encoding); at most ``MAX_DECODES`` rows are decoded.
    A candidate found taken is marked dead in ``alive`` (its first ``len(alive)`` rows)."""
    for i in np.argsort(-scores, kind="stable")[:MAX_DECODES]:
        if not np.isfinite(scores[i]):
            break
        point = enc.decode(X[i])
        if key_of(enc.spec, point) not in taken:
            return point, enc.encode(point)
        if i < len(alive):
            alive[i] = False
    return None


def maximise_acquisition(
    acquisition: Callable[[np.ndarray], np.ndarray],
    enc: Encoder,
    X: np.ndarray,
    values: np.ndarray,
    rng: np.random.Generator,
    *,
    n_starts: int = N_STARTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-start local optimisation of ``acquisition`` (rows of the encoded cube -> values,
    higher is better) from candidates ``X`` whose values are ``values``.

    The starts are the best candidates, each at least ``START_GAP`` (L-inf) from the better
    ones (:func:`distinct_best`), so they lie in different basins: the best random candidate
    of a narrow basin is a start even when a broad basin holds the ten best.  Each start hill
    climbs: per step size of ``LOCAL_SIGMAS`` (largest first) it proposes ``LOCAL_PER``
    perturbations (:meth:`Encoder.perturb`: snapped, categoricals re-drawn now and then) and
    moves to the best one if it is better.  Returns the climbed rows and their values, one per
    start.  A single start (``n_starts=1``) climbs the best candidate's basin only."""
    starts = distinct_best(X, values, n_starts, START_GAP)
    best_X, best_v = X[starts].copy(), values[starts].copy()
    k = len(starts)
    for sigma in LOCAL_SIGMAS:
        proposals = enc.perturb(rng, best_X, LOCAL_PER, (sigma,))  # grouped by start
        v = acquisition(proposals).reshape(k, LOCAL_PER)
        j = np.argmax(v, axis=1)
        better = v[np.arange(k), j] > best_v
        best_X[better] = proposals.reshape(k, LOCAL_PER, -1)[better, j[better]]
        best_v[better] = v[better, j[better]]
    return best_X, best_v


def distinct_best(X: np.ndarray, values: np.ndarray, k: int, gap: float) -> np.ndarray:
    """Indices of up to ``k`` rows of ``X``, best ``values`` first, each more than ``gap``
    (L-inf) from every row chosen before it; rows with a non-finite value are never chosen."""
    chosen: list[int] = []
    for i in np.argsort(-values, kind="stable"):
        if not np.isfinite(values[i]):
            break
        if all(np.max(np.abs(X[i] - X[c])) > gap for c in chosen):
            chosen.append(int(i))
            if len(chosen) == k:
                break
    return np.array(chosen, dtype=int)


def batch_penalty(X: np.ndarray, near: Sequence[np.ndarray]) -> np.ndarray:
    """A factor in [0, 1] per row of ``X``: 0 within ``BATCH_GAP`` (L-inf, encoded cube) of a
    point in ``near`` (this batch's picks and the running trials), rising linearly to 1 at
    twice that distance (local penalisation).

    The pessimistic lie (:func:`_lie`) lowers expected improvement around a picked point, but
    where the model is sure of a good region the next best point can still be a hair away from
    the last pick, and a batch then measures one point several times.  A point in another
    category is 1 away in the one-hot columns: never penalised."""
    factor = np.ones(len(X))
    for x in near:
        dist = np.max(np.abs(X - x), axis=1)
        factor *= np.clip(dist / BATCH_GAP - 1.0, 0.0, 1.0)
    return factor


def _subsample(y: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices: all rows if there are at most ``cap``, else the best half of ``cap`` and a
    random draw from the rest (sorted, so the order is deterministic)."""
    if len(y) <= cap:
        return np.arange(len(y))
    order = np.argsort(y, kind="stable")
    best = order[: cap // 2]
    rest = rng.choice(order[cap // 2 :], size=cap - cap // 2, replace=False)
    return np.sort(np.concatenate([best, rest]))
