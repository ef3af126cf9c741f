"""ALGORITHM_UNSPECIFIED, the default: a batched Gaussian-process bandit in the spirit of Google
Vizier (Golovin et al. 2017, §3; contract §12).

How one call works (stateless: everything is rebuilt from the history every time):

1. **Initial design.**  While the job has fewer than ``n_init = clamp(2 d + 1, 5, 10)`` trials
   (``d`` = parameters with more than one feasible value), or fewer than 2 succeeded, points
   come from a scrambled Sobol sequence seeded with the job seed, taken at indices
   ``[len(history), len(history) + n)``: successive calls continue one space-filling sequence
   (a point that is already taken is skipped).  Unit coordinates become values through
   ``space.from_unit`` (scale warping and snapping); a categorical takes value ``floor(u k)``.
2. **Encoding.**  Numeric parameters live in [0, 1] through ``space.to_unit``; categoricals
   are one-hot.  INTEGER and DISCRETE parameters with at most ``TABLE_MAX`` values are snapped
   to their feasible points in this encoding, so the model scores the point that will run.
3. **Model.**  The GP of skopt's ``cook_estimator("GP", noise="gaussian")``: constant
   amplitude x Matern(nu=2.5) with one length scale per encoded column (ARD) + white noise,
   same bounds, fit by maximising the log marginal likelihood (L-BFGS-B with the analytic
   gradient) on standardised objectives (``y = -value`` when maximising, then zero mean and
   unit variance, which is what ``normalize_y=True`` does).

   - The likelihood, its gradient and the posterior are written here with numpy/scipy: the
     library versions are too slow for the latency budget (sklearn's likelihood gradient took
     10-30 ms per evaluation at 100-300 points, skopt's ``predict(return_std=True)`` is an
     O(C N^2) einsum).  Tests check them against skopt's ``GaussianProcessRegressor`` and
     ``gaussian_ei``.
   - Hyperparameters are fit on SUCCEEDED trials only, at most ``HYPERFIT_MAX_ROWS`` (200) of
     them: the best 100 plus a seeded random 100 of the rest.  An evaluation is O(N^3): 200
     rows keep the fit near 0.1 s on one core, 300 rows took 0.6 s.  A second, random start
     is added while there are at most ``RESTART_MAX_ROWS`` rows (cheap, and local optima are
     likelier with little data).
   - The posterior (hyperparameters fixed: one Cholesky) conditions on up to
     ``POSTERIOR_MAX_ROWS`` (1000) rows, subsampled the same way beyond that: SUCCEEDED trials
     with their value, FAILED ones with the worst observed value ("a particularly bad
     objective value", Vizier §5.3), PENDING ones with the constant liar ``min(y)`` (cl_min),
     so running trials repel new suggestions.
   - BLAS runs single-threaded during a suggestion: the matrices are small, and on a loaded
     2-core machine OpenBLAS threads spinning against each other (and against the trials)
     made the likelihood 10x slower.
4. **Acquisition.**  Expected improvement (the formula of ``skopt.acquisition.gaussian_ei``,
   ``xi = 0.01`` in standardised units) over candidates: uniform random points of the encoded
   cube (``2e6 / N`` of them, clamped to [1000, 4000], so the O(N^2 C) posterior solve stays
   bounded) plus Gaussian perturbations of the best observed points; then a finer
   perturbation round around the best candidates (a cheap stand-in for Vizier's hill
   climbing).  The best candidate whose decoded point is not taken wins.  When the whole
   space is finite and small (at most ``ENUMERATE_MAX`` points) the candidates are exactly
   the untaken points, and an exhausted space yields fewer points.
5. **Batches.**  After each pick the posterior is conditioned on the picked point with the lie
   by extending the Cholesky factor by one row (O(N C) for the candidate set): the same as
   refitting with the kernel hyperparameters fixed, without re-optimising them, so a batch of
   4 costs little more than one suggestion.

Everything random derives from ``(seed, len(history))``, so a call is deterministic.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy.linalg import LinAlgError, cho_solve, cholesky, solve_triangular
from scipy.linalg.lapack import dpotri
from scipy.optimize import minimize
from scipy.special import ndtr
from scipy.stats import qmc
from threadpoolctl import threadpool_limits

from hpdash.spec.space import format_value, from_unit, grid_values, to_unit
from hpdash.spec.types import HyperparameterSpec, ParameterSpec, ParamValue

from .base import (
    FAILED,
    PENDING,
    SUCCEEDED,
    Observation,
    Point,
    PointKey,
    clean_value,
    decode_unit,
    fixed_value,
    free_params,
    key_of,
    make_rng,
    random_points,
    space_size,
    taken_keys,
)

N_INIT_MIN, N_INIT_MAX = 5, 10
HYPERFIT_MAX_ROWS = 200
RESTART_MAX_ROWS = 100  # a second likelihood start only while it is cheap
POSTERIOR_MAX_ROWS = 1000
CANDIDATES_MIN, CANDIDATES_MAX, CANDIDATE_WORK = 1000, 4000, 2_000_000
N_ELITE, PER_ELITE = 5, 60  # perturbations of the best observed points
N_REFINE, PER_REFINE = 5, 40  # finer perturbations around the best candidates of a pick
ELITE_SIGMAS = (0.01, 0.05, 0.15)
REFINE_SIGMA = 0.02
CATEGORY_FLIP = 0.2  # chance a perturbation re-draws a categorical parameter
TABLE_MAX = 10_000
ENUMERATE_MAX = 4000
XI = 0.01
MAX_DECODES = 500

# Hyperparameter bounds (natural log is taken): amplitude and length scales as skopt's
# cook_estimator; the noise variance is relative to standardised objectives.
AMPLITUDE_BOUNDS = (0.01, 1000.0)
LENGTH_SCALE_BOUNDS = (0.01, 100.0)
NOISE_BOUNDS = (1e-6, 10.0)
SQRT5 = math.sqrt(5.0)


# =========================================================================== encoding


class _Encoder:
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
        self.tables: dict[int, tuple[list, np.ndarray, np.ndarray]] = {}
        start = 0
        for j, p in enumerate(self.free):
            width = len(p.categorical_values) if p.type == "CATEGORICAL" else 1
            self.columns.append(slice(start, start + width))
            start += width
            if p.type in ("INTEGER", "DISCRETE") and _n_values(p) <= TABLE_MAX:
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

    def encode(self, point: dict) -> np.ndarray:
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
        return self.snap(rng.random((m, self.dim)))

    def perturb(
        self, rng: np.random.Generator, centers: np.ndarray, per: int, sigmas: Sequence[float]
    ) -> np.ndarray:
        X = np.repeat(centers, per, axis=0)
        sigma = rng.choice(np.asarray(sigmas, dtype=float), size=len(X))
        for j in self.numeric:
            c = self.columns[j].start
            X[:, c] += sigma * rng.standard_normal(len(X))
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


def _n_values(p: ParameterSpec) -> int:
    if p.type == "DISCRETE":
        return len(p.discrete_values)
    if p.type == "CATEGORICAL":
        return len(p.categorical_values)
    if p.type == "INTEGER":
        assert p.min_value is not None and p.max_value is not None
        return int(math.floor(p.max_value) - math.ceil(p.min_value) + 1)
    return TABLE_MAX + 1


# =========================================================================== Gaussian process


def _sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
    return np.maximum(d, 0.0, out=d)


def _matern52(r2: np.ndarray) -> np.ndarray:
    r = np.sqrt(r2)
    return (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * np.exp(-SQRT5 * r)


def theta_bounds(dim: int) -> list[tuple[float, float]]:
    """Bounds of ``theta = log([amplitude, length_scale_1..dim, noise])``."""

    def log(b: tuple[float, float]) -> tuple[float, float]:
        return math.log(b[0]), math.log(b[1])

    return [log(AMPLITUDE_BOUNDS)] + [log(LENGTH_SCALE_BOUNDS)] * dim + [log(NOISE_BOUNDS)]


def neg_log_marginal_likelihood(
    theta: np.ndarray, X: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """-log p(y | X, theta) and its gradient in ``theta`` (zero prior mean).

    Kernel: ``amp * Matern52(|x - x'| / length_scale) + noise * I``; ``theta`` is the natural
    log of ``[amp, length_scale..., noise]``, the layout of sklearn's ``kernel.theta`` for
    ``ConstantKernel * Matern + WhiteKernel``.
    """
    amp, ls, noise = math.exp(theta[0]), np.exp(theta[1:-1]), math.exp(theta[-1])
    n = len(y)
    Xs = X / ls
    r2 = _sqdist(Xs, Xs)
    np.fill_diagonal(r2, 0.0)
    r = np.sqrt(r2)
    e = np.exp(-SQRT5 * r)
    K0 = (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * e
    K = amp * K0
    K[np.diag_indices(n)] += noise
    try:
        L = cholesky(K, lower=True, check_finite=False)
    except LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve((L, True), y, check_finite=False)
    nll = 0.5 * float(y @ alpha) + float(np.log(np.diag(L)).sum()) + 0.5 * n * math.log(2 * math.pi)
    # d log p / d theta_k = 0.5 * sum(W * dK/dtheta_k), W = alpha alpha^T - K^-1
    K_inv, info = dpotri(L, lower=1)  # from the Cholesky factor: 3x cheaper than cho_solve(I)
    if info != 0:
        return 1e25, np.zeros_like(theta)
    K_inv = np.tril(K_inv) + np.tril(K_inv, -1).T
    W = np.outer(alpha, alpha) - K_inv
    grad = np.empty_like(theta)
    grad[0] = 0.5 * float((W * K0).sum()) * amp
    grad[-1] = 0.5 * float(np.trace(W)) * noise
    # dK/dlog(ls_d) = amp * 5/3 * (1 + sqrt5 r) e^(-sqrt5 r) * (xs_d - xs'_d)^2; the weighted
    # sum of squared differences over pairs is 2 (m . xs_d^2 - xs_d . M xs_d), M symmetric.
    M = W * (amp * (5.0 / 3.0) * (1.0 + SQRT5 * r) * e)
    m = M.sum(axis=1)
    grad[1:-1] = m @ (Xs * Xs) - (Xs * (M @ Xs)).sum(axis=0)
    return nll, -grad


def fit_hyperparameters(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Maximum-likelihood ``theta`` from a default start, plus one random restart for small
    data sets (where it is cheap and local optima are likelier)."""
    bnds = theta_bounds(X.shape[1])
    lo, hi = np.array([b[0] for b in bnds]), np.array([b[1] for b in bnds])
    default = np.concatenate([[0.0], np.full(X.shape[1], math.log(0.5)), [math.log(1e-2)]])
    restart = np.concatenate(
        [
            [rng.uniform(math.log(0.3), math.log(3.0))],
            rng.uniform(math.log(0.05), math.log(2.0), X.shape[1]),
            [rng.uniform(math.log(1e-4), math.log(1e-1))],
        ]
    )
    best_theta, best_value = default, math.inf
    starts = (default, restart) if len(y) <= RESTART_MAX_ROWS else (default,)
    for start in starts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = minimize(
                neg_log_marginal_likelihood,
                np.clip(start, lo, hi),
                args=(X, y),
                jac=True,
                method="L-BFGS-B",
                bounds=bnds,
                options={"maxiter": 200, "ftol": 1e-6},
            )
        if result.fun < best_value:
            best_theta, best_value = np.clip(result.x, lo, hi), float(result.fun)
    return best_theta


class Posterior:
    """GP posterior with fixed hyperparameters; grows one observation at a time."""

    def __init__(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray, capacity: int = 0):
        self.amp, self.ls, self.noise = math.exp(theta[0]), np.exp(theta[1:-1]), math.exp(theta[-1])
        n = len(y)
        size = n + capacity
        self.Xs = np.zeros((size, X.shape[1]))
        self.Xs[:n] = X / self.ls
        K = self.amp * _matern52(_sqdist(self.Xs[:n], self.Xs[:n]))
        K[np.diag_indices(n)] += self.noise
        jitter = 0.0
        for _ in range(8):  # near-duplicate rows with tiny noise: add jitter until it factors
            try:
                L = cholesky(K, lower=True, check_finite=False)
                break
            except LinAlgError:
                step = max(jitter * 9, 1e-8 * self.amp)
                K[np.diag_indices(n)] += step
                jitter += step
        else:
            raise LinAlgError("kernel matrix is not positive definite")
        self.noise += jitter
        self.L = np.zeros((size, size))
        self.L[:n, :n] = L
        self.z = np.zeros(size)  # L^-1 y
        self.z[:n] = solve_triangular(L, y, lower=True, check_finite=False)
        self.n = n

    def cross(self, Xc: np.ndarray) -> np.ndarray:
        """Prior covariance between the training points and ``Xc`` (N x C)."""
        return self.amp * _matern52(_sqdist(self.Xs[: self.n], Xc / self.ls))

    def solve(self, Xc: np.ndarray) -> np.ndarray:
        """``V = L^-1 k(X, Xc)``: mean is ``V.T @ z``, variance ``amp - sum(V**2)``."""
        return solve_triangular(
            self.L[: self.n, : self.n], self.cross(Xc), lower=True, check_finite=False
        )

    def predict(self, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        V = self.solve(Xc)
        return self.moments(V)

    def moments(self, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = V.T @ self.z[: self.n]
        var = np.maximum(self.amp - (V * V).sum(axis=0), 0.0)
        return mean, np.sqrt(var)

    def add(self, x: np.ndarray, y: float) -> np.ndarray:
        """Condition on ``(x, y)``; returns the new row of ``L`` (length n+1)."""
        n = self.n
        k = self.cross(x[None, :])[:, 0]
        row = solve_triangular(self.L[:n, :n], k, lower=True, check_finite=False)
        d = math.sqrt(max(self.amp + self.noise - float(row @ row), 1e-12))
        self.L[n, :n], self.L[n, n] = row, d
        self.z[n] = (y - float(row @ self.z[:n])) / d
        self.Xs[n] = x / self.ls
        self.n = n + 1
        return self.L[n, : n + 1]


class _Candidates:
    """A fixed candidate set whose posterior moments follow :meth:`Posterior.add` cheaply."""

    def __init__(self, post: Posterior, X: np.ndarray, capacity: int):
        self.X = X
        n = post.n
        self.V = np.zeros((n + capacity, len(X)))
        self.V[:n] = post.solve(X)
        self.mean, self.sd = post.moments(self.V[:n])
        self.var = self.sd**2
        self.alive = np.ones(len(X), dtype=bool)

    def update(self, post: Posterior, x: np.ndarray, lrow: np.ndarray) -> None:
        """After ``post.add(x, .)`` returned ``lrow``: extend V by one row (O(N C))."""
        n = post.n - 1
        d = lrow[n]
        k = post.amp * _matern52(_sqdist(self.X / post.ls, (x / post.ls)[None, :]))[:, 0]
        v = (k - self.V[:n].T @ lrow[:n]) / d
        self.V[n] = v
        self.mean += v * post.z[n]
        self.var = np.maximum(self.var - v * v, 0.0)
        self.sd = np.sqrt(self.var)


def expected_improvement(
    mean: np.ndarray, sd: np.ndarray, y_best: float, xi: float = XI
) -> np.ndarray:
    """EI for minimisation, as ``skopt.acquisition.gaussian_ei`` computes it."""
    ei = np.zeros_like(mean)
    ok = sd > 0
    improve = y_best - xi - mean[ok]
    z = improve / sd[ok]
    ei[ok] = improve * ndtr(z) + sd[ok] * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return ei


# =========================================================================== suggester


def n_initial(spec: HyperparameterSpec) -> int:
    return min(max(2 * len(free_params(spec)) + 1, N_INIT_MIN), N_INIT_MAX)


def space_filling(
    spec: HyperparameterSpec, taken: set[PointKey], start: int, n: int, seed: int
) -> list[Point]:
    """Points ``start, start+1, ...`` of the job's scrambled Sobol sequence, skipping taken
    ones (then random points if the sequence keeps hitting taken points)."""
    d = len(free_params(spec))
    out: list[Point] = []
    if d > 0:
        sobol = qmc.Sobol(d, scramble=True, seed=make_rng(seed, 0x50B01))
        if start:
            sobol.fast_forward(start)
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


class BayesSuggester:
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
        if len(history) < n_initial(spec) or len(good) < 2 or not free_params(spec):
            return space_filling(spec, taken, len(history), n, seed)
        # The matrices here are small (<= 1000); OpenBLAS threads only spin against each other
        # and against the trials sharing the machine (10x slower on a loaded 2-core box).
        with threadpool_limits(limits=1, user_api="blas"):
            return _gp_suggest(spec, history, good, taken, n, make_rng(seed, len(history)))


def _gp_suggest(
    spec: HyperparameterSpec,
    history: Sequence[Observation],
    good: list[Observation],
    taken: set[PointKey],
    n: int,
    rng: np.random.Generator,
) -> list[Point]:
    enc = _Encoder(spec)
    sign = -1.0 if spec.maximize else 1.0
    y_raw = np.array([sign * o.value for o in good if o.value is not None])
    scale = float(y_raw.std()) or 1.0
    y_good = (y_raw - y_raw.mean()) / scale
    X_good = np.array([enc.encode(o.params) for o in good])
    y_best, y_worst = float(y_good.min()), float(y_good.max())

    # Hyperparameters from (a subsample of) the succeeded trials.
    fit_rows = _subsample(y_good, HYPERFIT_MAX_ROWS, rng)
    theta = fit_hyperparameters(X_good[fit_rows], y_good[fit_rows], rng)

    # Posterior: succeeded, failed (worst value) and pending (lie) trials.
    others = [
        o for o in history if o.state in (FAILED, PENDING) and key_of(spec, o.params) is not None
    ]
    pending = [o for o in others if o.state == PENDING]
    failed = [o for o in others if o.state == FAILED]
    budget = POSTERIOR_MAX_ROWS - len(pending)
    keep_good = _subsample(y_good, max(budget - min(len(failed), budget // 4), 2), rng)
    keep_failed = failed[: max(budget - len(keep_good), 0)]
    X_post = np.vstack(
        [X_good[keep_good]] + [enc.encode(o.params)[None, :] for o in keep_failed + pending]
    )
    y_post = np.concatenate(
        [y_good[keep_good], np.full(len(keep_failed), y_worst), np.full(len(pending), y_best)]
    )
    post = Posterior(theta, X_post, y_post, capacity=n)

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
            [enc.random(rng, n_random), enc.perturb(rng, elite, PER_ELITE, ELITE_SIGMAS)]
        )
    cands = _Candidates(post, X_cand, capacity=n)

    out: list[Point] = []
    for _ in range(n):
        ei = expected_improvement(cands.mean, cands.sd, y_best)
        ei[~cands.alive] = -np.inf
        if finite:
            i = int(np.argmax(ei))
            if not cands.alive[i]:
                break
            cands.alive[i] = False
            point, x = cand_points[i], X_cand[i]
        else:
            picked = _pick_continuous(enc, post, cands, ei, y_best, taken, rng)
            if picked is None:
                break
            point, x = picked
        key = key_of(spec, point)
        assert key is not None
        taken.add(key)
        out.append(point)
        if len(out) < n:
            cands.update(post, x, post.add(x, y_best))
    if len(out) < n and not finite:
        out += random_points(spec, taken, n - len(out), rng)
    return out


def _pick_continuous(
    enc: _Encoder,
    post: Posterior,
    cands: _Candidates,
    ei: np.ndarray,
    y_best: float,
    taken: set[PointKey],
    rng: np.random.Generator,
) -> tuple[Point, np.ndarray] | None:
    """Refine around the best candidates, then take the best one whose point is untaken."""
    top = np.argsort(-ei, kind="stable")[:N_REFINE]
    X_ref = enc.perturb(rng, cands.X[top], PER_REFINE, (REFINE_SIGMA,))
    mean, sd = post.predict(X_ref)
    ei_ref = expected_improvement(mean, sd, y_best)
    X_all = np.vstack([cands.X, X_ref])
    scores = np.concatenate([ei, ei_ref])
    for i in np.argsort(-scores, kind="stable")[:MAX_DECODES]:
        if not np.isfinite(scores[i]):
            break
        point = enc.decode(X_all[i])
        if key_of(enc.spec, point) not in taken:
            return point, enc.encode(point)
        if i < len(cands.alive):
            cands.alive[i] = False
    return None


def _subsample(y: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices: all rows if there are at most ``cap``, else the best half of ``cap`` and a
    random draw from the rest (sorted, so the order is deterministic)."""
    if len(y) <= cap:
        return np.arange(len(y))
    order = np.argsort(y, kind="stable")
    best = order[: cap // 2]
    rest = rng.choice(order[cap // 2 :], size=cap - cap // 2, replace=False)
    return np.sort(np.concatenate([best, rest]))
