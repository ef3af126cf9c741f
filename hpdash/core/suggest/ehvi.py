"""Several metrics (a multi-objective Vertex study) searched by expected hypervolume
improvement (EHVI) over one GP per metric.  No Django here.

How one call works (stateless and deterministic per ``(seed, history)``, like every suggester):

1. **Initial design.**  As the single-objective engine: :func:`bayes.in_initial_design` (a
   trial counts as usable when it succeeded with every metric) and :func:`bayes.space_filling`.
2. **Models.**  Each metric becomes a loss (``-value`` when maximised), standardised over the
   succeeded trials (zero mean, unit variance; with ``WARP`` also half-rank warped first, a
   monotone map, so Pareto dominance is unchanged), and gets a GP of its own
   (:mod:`hpdash.core.suggest.gp`: the same kernel, likelihood fit and posterior as the
   single-objective engine).  Failed trials enter every GP with that metric's worst value;
   running ones with the posterior mean there (a kriging believer).
3. **Acquisition.**  The expected hypervolume improvement of a candidate over the observed
   Pareto front, with respect to a reference point ``REF_MARGIN`` of each metric's observed
   range beyond its worst value (in standardised units), as Optuna's and BoTorch's
   multi-objective GP samplers do.  It is exact, not Monte-Carlo: the region the front does
   not dominate (and the reference point does) is cut into axis-aligned boxes
   (:func:`improvement_cells`, ``k + 1`` boxes for ``k`` front points with 2 metrics,
   ``(k + 1)^2`` at most with 3), the hypervolume improvement of a point ``y`` is the sum over
   the boxes of the volume of ``box ∩ [y, ref]``, and since that volume is a product of one
   factor per metric and the GPs are independent, its expectation is the product of the
   one-dimensional expectations ``E[(u - max(l, Y))+] = psi(u) - psi(l)`` with
   ``psi(a) = E[(a - Y)+] = (a - m) Phi(z) + s phi(z)`` (:func:`expected_hvi`).
4. **Candidates.**  As the single-objective engine's, aimed at the whole front: uniform
   points of the trust regions (L-inf boxes of half-width ``bayes.TRUST_RADIUS``) around the
   Pareto-optimal trials, Gaussian perturbations of them (``bayes.ELITE_SIGMAS``), and a
   share of uniform points of the whole box; then one round of finer perturbations around the
   best candidates (``bayes.REFINE_SIGMA``).  The best untaken point wins; a finite space of
   at most ``bayes.ENUMERATE_MAX`` points is enumerated instead.
5. **Batches.**  After each pick every GP is conditioned on the picked point at its posterior
   mean (kriging believer), the believed point joins the front (so the improvement near it
   drops), and :func:`bayes.batch_penalty` zeroes the acquisition within ``bayes.BATCH_GAP``
   of it, as for one metric: a batch never measures one point twice.

Cost: one likelihood fit per metric, then per metric a normal CDF for each of ``C``
candidates and distinct cell bound, and ``C x cells`` products.  Measured on this 2-core box at
50 trials (median of 5): 0.12 s a suggestion with 2 metrics (0.27 s for a batch of 4; the
scalarisation took 0.05 s and 0.17 s), 0.15 s with 3 metrics (24 Pareto-optimal trials), 0.23 s
at 80 trials (33).  More than
``MAX_METRICS`` metrics go to the scalarisation of :mod:`hpdash.core.suggest.multiobjective`
(the box count grows as ``k^(m-1)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import ndtr
from threadpoolctl import threadpool_limits

from hpdash.core.spec.space import space_size
from hpdash.core.spec.types import HyperparameterSpec

from . import bayes
from .base import (
    FAILED,
    PENDING,
    SUCCEEDED,
    Observation,
    Point,
    PointKey,
    key_of,
    make_rng,
    random_points,
    taken_keys,
)
from .gp import CandidateSet, Posterior, fit_hyperparameters

MAX_METRICS = 3
# The reference point: worst observed + this share of the observed range (standardised
# units).  On the tuning problems (benchmarks/multiobjective.py --tuning, 5 seeds, HV @50)
# 0.1 / 0.25 / 0.5 / 1.0 gave ZDT3 121.3 / 124.5 / 125.1 / 125.2, DTLZ2 3.175 / 3.169 / 3.165 /
# 3.151, VLMOP2 0.539 / 0.538 / 0.538 / 0.538: a near reference leaves the front's far
# segments unexplored (ZDT3's last ones), a far one spreads trials off the front.
REF_MARGIN = 0.25
# Half-rank warp each metric before standardising (monotone: dominance is unchanged).  Off:
# on the tuning problems (HV @50) it gave ZDT3 120.5 against 121.3, DTLZ2 3.09 against 3.175,
# VLMOP2 0.519 against 0.539 (with REF_MARGIN 0.1).
WARP = False
N_TRUST, N_UNIFORM = 1500, 300  # candidates around the front, and in the whole box
PER_FRONT_TOTAL = 300  # perturbations of the Pareto-optimal trials, shared among them
_SALT = 0xE4F1
_INV_SQRT_2PI = 1.0 / math.sqrt(2 * math.pi)


# =========================================================================== hypervolume


def nondominated(Y: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``Y`` (losses, minimised) that no other row dominates."""
    n = len(Y)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        le = np.all(Y <= Y[i], axis=1)
        lt = np.any(Y < Y[i], axis=1)
        if np.any(le & lt):
            mask[i] = False
    return mask


def improvement_cells(front: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes ``(lo, hi)`` (rows; ``lo`` may be ``-inf``) that partition the region below
    ``ref`` that no row of ``front`` (losses) weakly dominates.  A grid over the front's
    coordinates in the first ``m - 1`` metrics; along the last metric each grid column's free
    part is one interval from ``-inf`` up to the best value of the front points that dominate
    the column's lower corner (``ref`` if none)."""
    m = len(ref)
    front = front[np.all(front < ref, axis=1)]
    axes = []
    for j in range(m - 1):
        c = np.unique(front[:, j])
        axes.append(np.concatenate([[-np.inf], c, [ref[j]]]))
    index = np.stack(np.meshgrid(*[np.arange(len(a) - 1) for a in axes], indexing="ij"),
                     axis=-1).reshape(-1, m - 1)
    lo = np.stack([axes[j][index[:, j]] for j in range(m - 1)], axis=1)
    hi = np.stack([axes[j][index[:, j] + 1] for j in range(m - 1)], axis=1)
    if len(front):
        dom = np.all(front[None, :, : m - 1] <= lo[:, None, :], axis=2)  # cells x front
        top = np.where(dom, front[None, :, m - 1], ref[m - 1]).min(axis=1)
    else:
        top = np.full(len(lo), ref[m - 1])
    keep = top > -np.inf
    lo = np.column_stack([lo[keep], np.full(int(keep.sum()), -np.inf)])
    hi = np.column_stack([hi[keep], top[keep]])
    return lo, hi


def hvi(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Hypervolume improvement of each row of ``y`` (points x metrics) over the front whose
    :func:`improvement_cells` are ``(lo, hi)``."""
    side = np.clip(hi[None, :, :] - np.maximum(lo[None, :, :], y[:, None, :]), 0.0, None)
    out: np.ndarray = side.prod(axis=2).sum(axis=1)
    return out


def _psi(a: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``E[(a - Y)+]`` for ``Y ~ N(mean, sd^2)``, broadcast; 0 where ``a`` is ``-inf``."""
    finite = np.isfinite(a)
    a0 = np.where(finite, a, 0.0)
    diff = a0 - mean
    z = diff / sd
    out = diff * ndtr(z) + sd * np.exp(-0.5 * z * z) * _INV_SQRT_2PI
    result: np.ndarray = np.where(finite, out, 0.0)
    return result


def expected_hvi(mean: np.ndarray, sd: np.ndarray, lo: np.ndarray, hi: np.ndarray
                 ) -> np.ndarray:
    """Exact expected hypervolume improvement of independent Gaussian points (rows of
    ``mean`` and ``sd``, points x metrics) over the front whose cells are ``(lo, hi)``.

    The cells' bounds take few distinct values per metric (the front's coordinates), so
    ``psi`` is evaluated once per point and distinct bound, and the ``points x cells`` work is
    gathers, differences and products only."""
    sd = np.maximum(sd, 1e-9)
    total = np.ones((len(mean), len(lo)))
    for j in range(lo.shape[1]):
        bounds, index = np.unique(np.concatenate([lo[:, j], hi[:, j]]), return_inverse=True)
        psi = _psi(bounds[None, :], mean[:, j : j + 1], sd[:, j : j + 1])  # points x bounds
        factor = psi[:, index[len(lo):]] - psi[:, index[: len(lo)]]
        total *= np.clip(factor, 0.0, None)
    out: np.ndarray = total.sum(axis=1)
    return out


# =========================================================================== suggester


def usable(spec: HyperparameterSpec, o: Observation) -> bool:
    return (o.state == SUCCEEDED and len(o.values) == len(spec.metrics)
            and all(math.isfinite(v) for v in o.values) and key_of(spec, o.params) is not None)


def standardised_losses(spec: HyperparameterSpec, good: Sequence[Observation]) -> np.ndarray:
    """The metrics of ``good`` as losses (``-value`` when maximised), standardised per metric
    (half-rank warped first with ``WARP``)."""
    signs = np.array([-1.0 if m.maximize else 1.0 for m in spec.metrics])
    Y = np.array([o.values for o in good], dtype=float) * signs
    cols = []
    for j in range(Y.shape[1]):
        if WARP:
            cols.append(bayes.warp_objectives(Y[:, j]))
        else:
            col = Y[:, j] - Y[:, j].mean()
            cols.append(col / (float(col.std()) or 1.0))
    return np.column_stack(cols)


class EHVISuggester:
    """Expected hypervolume improvement over a GP per metric (module docstring)."""

    def suggest(
        self, spec: HyperparameterSpec, history: Sequence[Observation], n: int, seed: int
    ) -> list[Point]:
        if n <= 0:
            return []
        taken = taken_keys(spec, history)
        good = [o for o in history if usable(spec, o)]
        if bayes.in_initial_design(spec, history, good):
            return bayes.space_filling(spec, taken, len(history), n, seed)
        with threadpool_limits(limits=1, user_api="blas"):
            return _ehvi_suggest(spec, history, good, taken, n,
                                 make_rng(seed, len(history), _SALT))


def _ehvi_suggest(  # noqa: PLR0915, PLR0917 - one fit per metric and a pick
    spec: HyperparameterSpec,
    history: Sequence[Observation],
    good: list[Observation],
    taken: set[PointKey],
    n: int,
    rng: np.random.Generator,
) -> list[Point]:
    enc = bayes.Encoder(spec)
    Y = standardised_losses(spec, good)
    X_good = np.array([enc.encode(o.params) for o in good])
    m = Y.shape[1]
    worst, best = Y.max(axis=0), Y.min(axis=0)
    ref = worst + REF_MARGIN * np.maximum(worst - best, 1e-6)

    others = [o for o in history
              if o.state in (FAILED, PENDING) or (o.state == SUCCEEDED and not usable(spec, o))]
    others = [o for o in others if key_of(spec, o.params) is not None]
    pending = [o for o in others if o.state == PENDING]
    failed = [o for o in others if o.state != PENDING]
    X_failed = np.array([enc.encode(o.params) for o in failed]).reshape(-1, enc.dim)
    posts = []
    for j in range(m):
        theta = fit_hyperparameters(X_good, Y[:, j], rng)
        post = Posterior(theta, np.vstack([X_good, X_failed]),
                         np.concatenate([Y[:, j], np.full(len(failed), worst[j])]),
                         capacity=n + len(pending))
        posts.append(post)
    for o in pending:
        x = enc.encode(o.params)
        for post in posts:
            post.add(x, float(post.predict(x[None, :])[0][0]))

    on_front = nondominated(Y)
    front = Y[on_front]
    size = space_size(spec)
    finite = size is not None and size <= bayes.ENUMERATE_MAX
    if finite:
        X_cand, cand_points = enc.enumerate_untaken(taken)
        if len(X_cand) == 0:
            return []
    else:
        X_front = X_good[on_front]
        per = max(PER_FRONT_TOTAL // len(X_front), 10)
        X_cand = np.vstack([
            bayes.around(enc, X_front, N_TRUST, rng),
            enc.random(rng, N_UNIFORM),
            enc.perturb(rng, X_front, per, bayes.ELITE_SIGMAS),
        ])
    cands = [CandidateSet(post, X_cand, capacity=n) for post in posts]
    near: list[np.ndarray] = [enc.encode(o.params) for o in pending]

    def moments(cs: list[CandidateSet]) -> tuple[np.ndarray, np.ndarray]:
        return (np.column_stack([c.mean for c in cs]), np.column_stack([c.sd for c in cs]))

    out: list[Point] = []
    for _ in range(n):
        lo, hi = improvement_cells(front, ref)
        mean, sd = moments(cands)
        score = expected_hvi(mean, sd, lo, hi) * bayes.batch_penalty(X_cand, near)
        alive = cands[0].alive
        score[~alive] = -np.inf
        picked: tuple[Point, np.ndarray] | None
        if finite:
            i = int(np.argmax(score))
            if not alive[i]:
                break
            alive[i] = False
            picked = cand_points[i], X_cand[i]
        else:
            picked = _pick(enc, posts, X_cand, score, alive, lo, hi, taken, near, rng)
        if picked is None:
            break
        point, x = picked
        key = key_of(spec, point)
        assert key is not None
        taken.add(key)
        out.append(point)
        near.append(x)
        if len(out) < n:
            believed = []
            for post, cs in zip(posts, cands, strict=True):
                mu = float(post.predict(x[None, :])[0][0])
                believed.append(mu)
                cs.update(post, x, post.add(x, mu))
            front = np.vstack([front, believed])
            front = front[nondominated(front)]
    if len(out) < n and not finite:
        out += random_points(spec, taken, n - len(out), rng)
    return out


def _pick(  # noqa: PLR0917
    enc: bayes.Encoder,
    posts: list[Posterior],
    X_cand: np.ndarray,
    score: np.ndarray,
    alive: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    taken: set[PointKey],
    near: Sequence[np.ndarray],
    rng: np.random.Generator,
) -> tuple[Point, np.ndarray] | None:
    """One round of finer perturbations around the best candidates, then the best point found,
    refined or candidate, that is untaken."""
    top = np.argsort(-score, kind="stable")[: bayes.N_REFINE]
    X_top = enc.perturb(rng, X_cand[top], bayes.PER_REFINE, (bayes.REFINE_SIGMA,))
    preds = [post.predict(X_top) for post in posts]
    mean = np.column_stack([p[0] for p in preds])
    sd = np.column_stack([p[1] for p in preds])
    v_top = expected_hvi(mean, sd, lo, hi) * bayes.batch_penalty(X_top, near)
    return bayes.best_untaken(enc, np.vstack([X_cand, X_top]), np.concatenate([score, v_top]),
                              taken, alive)
