"""A small Gaussian-process regressor for the Bayes suggester, with numpy and scipy only.

The model is the one skopt's ``cook_estimator("GP", noise="gaussian")`` builds:
``amplitude * Matern(nu=2.5, one length scale per input column) + white noise``, with the same
hyperparameter bounds, fit by maximum marginal likelihood.  It exists because the library
versions are too slow for the suggestion latency budget: sklearn's likelihood gradient cost
10-30 ms per evaluation at 100-300 points, and skopt's ``predict(return_std=True)`` is an
O(C N^2) einsum.  Here a likelihood evaluation is one Cholesky plus ``dpotri`` and a few
matrix products, predictions are one triangular solve, and conditioning on one more point
(a constant-liar batch) extends the Cholesky factor by a row.  ``tests/suggest/test_gp.py``
checks the likelihood, its gradient, the posterior and EI against skopt's.

``theta`` is the natural log of ``[amplitude, length_scale_1..d, noise]``, the layout of
``kernel.theta`` for sklearn's ``ConstantKernel * Matern + WhiteKernel``.  Predictions are of
the latent function (noise left out), as skopt does for ``noise="gaussian"``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.linalg import LinAlgError, cho_solve, cholesky, solve_triangular
from scipy.linalg.lapack import dpotri
from scipy.optimize import minimize
from scipy.special import ndtr

RESTART_MAX_ROWS = 100  # a second likelihood start only while it is cheap
XI = 0.01

# Hyperparameter bounds (natural log is taken): amplitude and length scales as skopt's
# cook_estimator; the noise variance is relative to standardised objectives.
AMPLITUDE_BOUNDS = (0.01, 1000.0)
LENGTH_SCALE_BOUNDS = (0.01, 100.0)
NOISE_BOUNDS = (1e-6, 10.0)
SQRT5 = math.sqrt(5.0)
# Hyperpriors (maximum a posteriori instead of maximum likelihood), by name: "" (none),
# "optuna" (Optuna GPSampler's: -(0.1 / lambda + 0.1 lambda) on each inverse squared length
# scale lambda, Gamma(2, 1) on the amplitude, Gamma(1.1, 30) on the noise variance), its parts
# "optuna_ls" and "optuna_noise" (amplitude and noise), "lognormal" (Hvarfner et al. 2024,
# BoTorch's default: log length scale ~ N(sqrt(2) + log(d) / 2, 3)).  Which one the bandit
# uses is ``bayes.PRIOR``.
PRIORS = ("", "optuna", "optuna_ls", "optuna_noise", "lognormal")
# Input warping (Snoek et al. 2014, BoTorch's ``Warp``): chosen columns pass through the
# Kumaraswamy CDF ``w(u) = 1 - (1 - u^a)^b`` before the kernel, with ``a`` and ``b`` per column
# fit with the other hyperparameters (:func:`fit_warped`): log a, log b ~ N(0, 0.75), as
# BoTorch's priors; inputs are squeezed into [WARP_EPS, 1 - WARP_EPS] first.
WARP_BOUNDS = (0.1, 10.0)
WARP_PRIOR_VAR = 0.75
WARP_EPS = 1e-6


def sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d: np.ndarray = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
    np.maximum(d, 0.0, out=d)
    return d


def matern52(r2: np.ndarray) -> np.ndarray:
    r = np.sqrt(r2)
    out: np.ndarray = (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * np.exp(-SQRT5 * r)
    return out


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
    nll, grad, _, _ = _likelihood_parts(theta, X, y)
    return nll, grad


def _likelihood_parts(
    theta: np.ndarray, X: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray]:
    """:func:`neg_log_marginal_likelihood` with the pair weights ``M`` and scaled rows ``Xs``
    its gradient is made of (``M`` is None where the kernel matrix does not factor)."""
    amp, ls, noise = math.exp(theta[0]), np.exp(theta[1:-1]), math.exp(theta[-1])
    n = len(y)
    Xs = X / ls
    r2 = sqdist(Xs, Xs)
    np.fill_diagonal(r2, 0.0)
    r = np.sqrt(r2)
    e = np.exp(-SQRT5 * r)
    K0 = (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * e
    K = amp * K0
    K[np.diag_indices(n)] += noise
    try:
        L = cholesky(K, lower=True, check_finite=False)
    except LinAlgError:
        return 1e25, np.zeros_like(theta), None, X
    alpha = cho_solve((L, True), y, check_finite=False)
    nll = 0.5 * float(y @ alpha) + float(np.log(np.diag(L)).sum()) + 0.5 * n * math.log(2 * math.pi)
    # d log p / d theta_k = 0.5 * sum(W * dK/dtheta_k), W = alpha alpha^T - K^-1
    K_inv, info = dpotri(L, lower=1)  # from the Cholesky factor: 3x cheaper than cho_solve(I)
    if info != 0:
        return 1e25, np.zeros_like(theta), None, X
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
    return nll, -grad, M, Xs


def log_prior(theta: np.ndarray, kind: str) -> tuple[float, np.ndarray]:
    """log p(theta) up to a constant, and its gradient in ``theta``, for prior ``kind`` (one
    of ``PRIORS``; the densities are of the parameters themselves, as Optuna's)."""
    grad = np.zeros_like(theta)
    t = theta[1:-1]
    if kind.startswith("optuna"):
        value = 0.0
        if kind != "optuna_noise":
            e2 = np.exp(2.0 * t)
            value = -float((0.1 * e2 + 0.1 / e2).sum())
            grad[1:-1] = -(0.2 * e2 - 0.2 / e2)
        if kind != "optuna_ls":
            amp, noise = math.exp(theta[0]), math.exp(theta[-1])
            value += theta[0] - amp + 0.1 * theta[-1] - 30.0 * noise
            grad[0], grad[-1] = 1.0 - amp, 0.1 - 30.0 * noise
        return value, grad
    if kind == "lognormal":
        mu, var = math.sqrt(2.0) + 0.5 * math.log(len(t)), 3.0
        value = -float(((t - mu) ** 2).sum()) / (2 * var)
        grad[1:-1] = -(t - mu) / var
        return value, grad
    return 0.0, grad


def neg_log_posterior(
    theta: np.ndarray, X: np.ndarray, y: np.ndarray, kind: str
) -> tuple[float, np.ndarray]:
    """:func:`neg_log_marginal_likelihood` minus :func:`log_prior`."""
    nll, grad, _, _ = _likelihood_parts(theta, X, y)
    if not kind or nll >= 1e25:
        return nll, grad
    lp, lgrad = log_prior(theta, kind)
    return nll - lp, grad - lgrad


def fit_hyperparameters(
    X: np.ndarray, y: np.ndarray, rng: np.random.Generator, prior: str = ""
) -> np.ndarray:
    """Maximum-likelihood ``theta`` (maximum a posteriori with a ``prior`` of ``PRIORS``) from a
    default start, plus one random restart for small data sets (where it is cheap and local
    optima are likelier)."""
    if prior not in PRIORS:
        raise ValueError(f"unknown GP prior {prior!r}; known: {PRIORS}")
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
                neg_log_posterior,
                np.clip(start, lo, hi),
                args=(X, y, prior),
                jac=True,
                method="L-BFGS-B",
                bounds=bnds,
                options={"maxiter": 200, "ftol": 1e-6},
            )
        if result.fun < best_value:
            best_theta, best_value = np.clip(result.x, lo, hi), float(result.fun)
    return best_theta


class Warp:
    """The Kumaraswamy-CDF input warping of columns ``cols`` with shapes ``a`` and ``b``."""

    def __init__(self, cols: np.ndarray, a: np.ndarray, b: np.ndarray):
        self.cols, self.a, self.b = np.asarray(cols, dtype=int), np.asarray(a), np.asarray(b)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = np.array(X, dtype=float)  # a copy: callers keep their unit-cube rows
        u = np.clip(out[:, self.cols], WARP_EPS, 1.0 - WARP_EPS)
        out[:, self.cols] = 1.0 - (1.0 - u**self.a) ** self.b
        return out

    def with_gradients(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The warped ``X`` and the derivatives of the warped columns in log a and log b."""
        out = np.array(X, dtype=float)
        u = np.clip(out[:, self.cols], WARP_EPS, 1.0 - WARP_EPS)
        p = u**self.a
        q = 1.0 - p
        qb = q**self.b
        out[:, self.cols] = 1.0 - qb
        d_log_a = self.a * self.b * (qb / q) * p * np.log(u)
        d_log_b = -self.b * qb * np.log(q)
        return out, d_log_a, d_log_b


def _neg_log_posterior_warped(
    vec: np.ndarray, X: np.ndarray, y: np.ndarray, prior: str, cols: np.ndarray
) -> tuple[float, np.ndarray]:
    """:func:`neg_log_posterior` of ``vec = [theta, log a (k), log b (k)]`` with the ``k``
    columns ``cols`` of ``X`` warped (:class:`Warp`), and its gradient."""
    k = len(cols)
    theta, log_a, log_b = vec[: len(vec) - 2 * k], vec[len(vec) - 2 * k : len(vec) - k], vec[-k:]
    warp = Warp(cols, np.exp(log_a), np.exp(log_b))
    Xw, d_a, d_b = warp.with_gradients(X)
    value, grad, M, Xs = _likelihood_parts(theta, Xw, y)
    if M is None:
        return value, np.zeros_like(vec)
    if prior:
        lp, lgrad = log_prior(theta, prior)
        value, grad = value - lp, grad - lgrad
    # d log p / d phi for a warp parameter phi of column c: with xs = w / ls_c, g = dxs/dphi
    # and M as in _likelihood_parts, -(m . (xs g) - xs . M g) (same pair algebra).
    ls = np.exp(theta[1:-1])
    m = M.sum(axis=1)
    xs = Xs[:, cols]
    out = np.empty_like(vec)
    out[: len(theta)] = grad
    for offset, d in ((len(theta), d_a), (len(theta) + k, d_b)):
        g = d / ls[cols]
        dlog = -(m @ (xs * g) - (xs * (M @ g)).sum(axis=0))
        out[offset : offset + k] = -dlog
    phi = vec[len(theta) :]
    out[len(theta) :] += phi / WARP_PRIOR_VAR
    return value + float((phi**2).sum()) / (2 * WARP_PRIOR_VAR), out


def fit_warped(
    X: np.ndarray, y: np.ndarray, rng: np.random.Generator, prior: str, cols: np.ndarray
) -> tuple[np.ndarray, Warp]:
    """``theta`` (as :func:`fit_hyperparameters`) and the input :class:`Warp` of columns
    ``cols``, fit together; the warp starts at the identity (a = b = 1)."""
    cols = np.asarray(cols, dtype=int)
    theta0 = fit_hyperparameters(X, y, rng, prior)
    if len(cols) == 0:
        return theta0, Warp(cols, np.ones(0), np.ones(0))
    wb = (math.log(WARP_BOUNDS[0]), math.log(WARP_BOUNDS[1]))
    bnds = theta_bounds(X.shape[1]) + [wb] * (2 * len(cols))
    start = np.concatenate([theta0, np.zeros(2 * len(cols))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = minimize(
            _neg_log_posterior_warped,
            start,
            args=(X, y, prior, cols),
            jac=True,
            method="L-BFGS-B",
            bounds=bnds,
            options={"maxiter": 200, "ftol": 1e-6},
        )
    lo, hi = np.array([b[0] for b in bnds]), np.array([b[1] for b in bnds])
    vec = np.clip(result.x, lo, hi)
    k = len(cols)
    theta = vec[: len(vec) - 2 * k]
    return theta, Warp(cols, np.exp(vec[len(vec) - 2 * k : len(vec) - k]), np.exp(vec[-k:]))


class Posterior:
    """GP posterior with fixed hyperparameters; grows one observation at a time.  With a
    ``warp``, rows pass through it before the kernel (:meth:`scaled`)."""

    def __init__(
        self, theta: np.ndarray, X: np.ndarray, y: np.ndarray, capacity: int = 0,
        warp: Warp | None = None,
    ):
        self.amp, self.ls, self.noise = math.exp(theta[0]), np.exp(theta[1:-1]), math.exp(theta[-1])
        self.warp = warp if warp is not None and len(warp.cols) else None
        n = len(y)
        size = n + capacity
        self.Xs = np.zeros((size, X.shape[1]))
        self.Xs[:n] = self.scaled(X)
        K = self.amp * matern52(sqdist(self.Xs[:n], self.Xs[:n]))
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

    def scaled(self, X: np.ndarray) -> np.ndarray:
        """Rows as the kernel sees them: warped (if at all), divided by the length scales."""
        if self.warp is not None:
            X = self.warp(X)
        out: np.ndarray = X / self.ls
        return out

    def cross(self, Xc: np.ndarray) -> np.ndarray:
        """Prior covariance between the training points and ``Xc`` (N x C)."""
        return self.amp * matern52(sqdist(self.Xs[: self.n], self.scaled(Xc)))

    def solve(self, Xc: np.ndarray) -> np.ndarray:
        """``V = L^-1 k(X, Xc)``: mean is ``V.T @ z``, variance ``amp - sum(V**2)``."""
        return solve_triangular(  # type: ignore[no-any-return]  # scipy is untyped
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
        self.Xs[n] = self.scaled(x[None, :])[0]
        self.n = n + 1
        return self.L[n, : n + 1]


class CandidateSet:
    """A fixed candidate set whose posterior moments follow :meth:`Posterior.add` cheaply."""

    def __init__(self, post: Posterior, X: np.ndarray, capacity: int):
        self.X = X
        self.Xs = post.scaled(X)
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
        k = post.amp * matern52(sqdist(self.Xs, post.scaled(x[None, :])))[:, 0]
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
