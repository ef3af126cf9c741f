"""The hand-written GP pieces of the Bayes suggester agree with scikit-optimize's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skopt.acquisition import gaussian_ei
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from hpdash.spec.space import from_unit
from hpdash.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.suggest.bayes import (
    Posterior,
    _Candidates,
    _Encoder,
    expected_improvement,
    neg_log_marginal_likelihood,
)


def data(n: int = 25, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(4 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.standard_normal(n)
    theta = np.log(np.concatenate([[1.7], rng.uniform(0.1, 2.0, d), [0.01]]))
    return X, (y - y.mean()) / y.std(), theta


def skopt_kernel(theta: np.ndarray):
    d = len(theta) - 2
    kernel = ConstantKernel(1.0) * Matern(length_scale=np.ones(d), nu=2.5) + WhiteKernel()
    return kernel.clone_with_theta(theta)


def test_likelihood_and_its_gradient_match_scikit_learn():
    X, y, theta = data()
    gp = GaussianProcessRegressor(kernel=skopt_kernel(theta), optimizer=None, alpha=0.0).fit(X, y)
    lml, grad = gp.log_marginal_likelihood(theta, eval_gradient=True)
    nll, ngrad = neg_log_marginal_likelihood(theta, X, y)
    assert nll == pytest.approx(-lml, rel=1e-8)
    np.testing.assert_allclose(ngrad, -grad, rtol=1e-6, atol=1e-8)


def test_posterior_matches_skopt_with_the_noise_left_out_of_predictions():
    X, y, theta = data()
    gp = GaussianProcessRegressor(
        kernel=skopt_kernel(theta), optimizer=None, alpha=0.0, noise="gaussian"
    ).fit(X, y)
    Xc = np.random.default_rng(1).random((50, 3))
    mean, sd = Posterior(theta, X, y).predict(Xc)
    sk_mean, sk_sd = gp.predict(Xc, return_std=True)
    np.testing.assert_allclose(mean, sk_mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sd, sk_sd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        expected_improvement(mean, sd, y.min(), 0.01),
        gaussian_ei(Xc, gp, y_opt=y.min(), xi=0.01),
        rtol=1e-5,
        atol=1e-9,
    )


def test_adding_a_lie_equals_refitting_with_the_same_kernel():
    X, y, theta = data()
    Xc = np.random.default_rng(2).random((40, 3))
    post = Posterior(theta, X[:-2], y[:-2], capacity=2)
    cands = _Candidates(post, Xc, capacity=2)
    for i in (-2, -1):
        cands.update(post, X[i], post.add(X[i], float(y[i])))
    mean, sd = Posterior(theta, X, y).predict(Xc)
    np.testing.assert_allclose(cands.mean, mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cands.sd, sd, rtol=1e-5, atol=1e-6)


def test_snapping_a_candidate_gives_the_point_from_unit_would_pick():
    spec = HyperparameterSpec(
        params=(
            ParameterSpec("n", "INTEGER", 1, 300, scale_type="UNIT_LOG_SCALE"),
            ParameterSpec("k", "INTEGER", 2, 9, scale_type="UNIT_REVERSE_LOG_SCALE"),
            ParameterSpec("d", "DISCRETE", discrete_values=(0.1, 0.2, 0.5, 1.0, 5.0)),
            ParameterSpec(
                "s", "DISCRETE", discrete_values=(1.0, 3.0, 10.0), scale_type="UNIT_LOG_SCALE"
            ),
            ParameterSpec("c", "CATEGORICAL", categorical_values=("a", "b", "c")),
        )
    )
    enc = _Encoder(spec)
    raw = np.random.default_rng(3).random((300, enc.dim))
    snapped = enc.snap(raw.copy())
    for u, s in zip(raw, snapped, strict=True):
        expected = {p.name: from_unit(p, u[i]) for i, p in enumerate(spec.params[:4])}
        expected["c"] = "abc"[int(np.argmax(u[4:]))]
        point = enc.decode(s)
        assert point == expected
        np.testing.assert_allclose(enc.encode(point), s, atol=1e-12)


def test_enumerating_a_finite_space_leaves_out_taken_points():
    spec = HyperparameterSpec(
        params=(
            ParameterSpec("a", "INTEGER", 1, 3),
            ParameterSpec("f", "DOUBLE", 2.5, 2.5),
            ParameterSpec("c", "CATEGORICAL", categorical_values=("x", "y")),
        )
    )
    enc = _Encoder(spec)
    X, points = enc.enumerate_untaken({("2", "2.5", "y"), ("3", "2.5", "x")})
    assert points == [
        {"a": 1, "f": 2.5, "c": "x"},
        {"a": 1, "f": 2.5, "c": "y"},
        {"a": 2, "f": 2.5, "c": "x"},
        {"a": 3, "f": 2.5, "c": "y"},
    ]
    for x, p in zip(X, points, strict=True):
        np.testing.assert_allclose(x, enc.encode(p))
    assert math.isclose(X[:, 0].max(), 1.0)
