"""The hand-written GP of the Bayes suggester agrees with scikit-optimize's."""

from __future__ import annotations

import numpy as np
import pytest
from skopt.acquisition import gaussian_ei
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.core.suggest.gp import (
    AMPLITUDE_BOUNDS,
    LENGTH_SCALE_BOUNDS,
    NOISE_BOUNDS,
    PRIORS,
    CandidateSet,
    Posterior,
    Warp,
    _neg_log_posterior_warped,
    expected_improvement,
    fit_hyperparameters,
    fit_warped,
    neg_log_marginal_likelihood,
    neg_log_posterior,
    theta_bounds,
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
    cands = CandidateSet(post, Xc, capacity=2)
    for i in (-2, -1):
        cands.update(post, X[i], post.add(X[i], float(y[i])))
    mean, sd = Posterior(theta, X, y).predict(Xc)
    np.testing.assert_allclose(cands.mean, mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cands.sd, sd, rtol=1e-5, atol=1e-6)


def test_hyperparameter_fit_reaches_the_likelihood_scikit_learn_finds():
    X, y, _ = data(n=40, d=2, seed=4)
    theta = fit_hyperparameters(X, y, np.random.default_rng(0))
    lo, hi = np.array(theta_bounds(2)).T
    assert np.all((lo <= theta) & (theta <= hi))
    kernel = ConstantKernel(1.0, AMPLITUDE_BOUNDS) * Matern(
        length_scale=np.ones(2), length_scale_bounds=[LENGTH_SCALE_BOUNDS] * 2, nu=2.5
    ) + WhiteKernel(1e-2, NOISE_BOUNDS)
    gp = GaussianProcessRegressor(
        kernel=kernel, alpha=0.0, n_restarts_optimizer=3, random_state=0
    ).fit(X, y)
    ours, _ = neg_log_marginal_likelihood(theta, X, y)
    assert ours <= -gp.log_marginal_likelihood_value_ + 0.1


@pytest.mark.parametrize("prior", [p for p in PRIORS if p])
def test_the_posterior_objective_has_the_gradient_it_reports(prior: str):
    X, y, theta = data(n=12)
    value, grad = neg_log_posterior(theta, X, y, prior)
    step = 1e-6
    for k in range(len(theta)):
        shifted = theta.copy()
        shifted[k] += step
        numeric = (neg_log_posterior(shifted, X, y, prior)[0] - value) / step
        assert numeric == pytest.approx(grad[k], rel=1e-3, abs=1e-4)


def test_the_optuna_prior_keeps_few_points_from_switching_coordinates_off():
    """Six points of a function of the first coordinate only: maximum likelihood puts the other
    two length scales on their upper bound (100: the model ignores them from then on); with
    Optuna's hyperpriors (``bayes.PRIOR``, off) they stay near 1, and the noise stays small."""
    rng = np.random.default_rng(0)
    X = rng.random((6, 3))
    y = np.sin(6 * X[:, 0])
    y = (y - y.mean()) / y.std()
    ml = np.exp(fit_hyperparameters(X, y, np.random.default_rng(0)))
    mapped = np.exp(fit_hyperparameters(X, y, np.random.default_rng(0), "optuna"))
    assert ml[2:4].min() == pytest.approx(LENGTH_SCALE_BOUNDS[1])
    assert np.all((mapped[1:4] > 0.1) & (mapped[1:4] < 10.0))
    assert mapped[-1] < 0.05


def test_prior_until_applies_the_prior_only_while_rows_are_few(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``bayes.PRIOR_UNTIL`` (off): the bandit's fit uses ``PRIOR`` below that many rows and
    maximum likelihood from there on (the same six points as above)."""
    from hpdash.core.suggest import bayes

    rng = np.random.default_rng(0)
    X = rng.random((6, 3))
    y = np.sin(6 * X[:, 0])
    y = (y - y.mean()) / y.std()
    enc = bayes.Encoder(HyperparameterSpec(
        params=tuple(ParameterSpec(f"x{i}", "DOUBLE", 0.0, 1.0) for i in range(3))))
    monkeypatch.setattr(bayes, "PRIOR", "optuna")
    scarce, _ = bayes._fit(enc, X, y, np.random.default_rng(0), until=7)
    enough, _ = bayes._fit(enc, X, y, np.random.default_rng(0), until=6)
    assert np.all((np.exp(scarce)[1:4] > 0.1) & (np.exp(scarce)[1:4] < 10.0))
    assert np.exp(enough)[2:4].min() == pytest.approx(LENGTH_SCALE_BOUNDS[1])


def test_an_unknown_prior_is_refused_by_name():
    X, y, _ = data(n=8)
    with pytest.raises(ValueError, match="unknown GP prior 'gamma'"):
        fit_hyperparameters(X, y, np.random.default_rng(0), "gamma")


def test_the_warped_objective_has_the_gradient_it_reports():
    X, y, theta = data(n=15)
    cols = np.array([0, 2])
    vec = np.concatenate([theta, [0.3, -0.4], [0.2, 0.5]])
    value, grad = _neg_log_posterior_warped(vec, X, y, "optuna", cols)
    step = 1e-6
    for k in range(len(vec)):
        shifted = vec.copy()
        shifted[k] += step
        numeric = (_neg_log_posterior_warped(shifted, X, y, "optuna", cols)[0] - value) / step
        assert numeric == pytest.approx(grad[k], rel=1e-3, abs=1e-4)


def test_a_warped_posterior_is_the_plain_one_on_warped_rows():
    X, y, theta = data(n=20)
    warp = Warp(np.array([1]), np.array([2.5]), np.array([0.6]))
    Xc = np.random.default_rng(3).random((30, 3))
    mean, sd = Posterior(theta, X, y, warp=warp).predict(Xc)
    plain_mean, plain_sd = Posterior(theta, warp(X), y).predict(warp(Xc))
    np.testing.assert_allclose(mean, plain_mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sd, plain_sd, rtol=1e-9, atol=1e-12)
    assert not np.allclose(warp(Xc), Xc)  # it did warp


def test_fitting_a_warp_finds_a_function_that_changes_only_near_one_end():
    """``f(u) = sin(8 u^4)``: flat over most of [0, 1], busy near 1.  The fit warps that
    column towards its busy end (the warped coordinate spends more of [0, 1] above u = 0.7),
    and the warped model fits at least as well as the plain one."""
    rng = np.random.default_rng(5)
    X = rng.random((25, 2))
    y = np.sin(8 * X[:, 0] ** 4)
    y = (y - y.mean()) / y.std()
    theta, warp = fit_warped(X, y, np.random.default_rng(0), "", np.array([0, 1]))
    assert warp(np.array([[0.7, 0.5]]))[0, 0] < 0.5
    plain = fit_hyperparameters(X, y, np.random.default_rng(0))
    warped_nll = _neg_log_posterior_warped(
        np.concatenate([theta, np.log(warp.a), np.log(warp.b)]), X, y, "", np.array([0, 1])
    )[0]
    assert warped_nll <= neg_log_marginal_likelihood(plain, X, y)[0] + 1e-6
