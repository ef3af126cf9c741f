"""The Bayes suggester's output warping and its treatment of running trials."""

from __future__ import annotations

import numpy as np

from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.core.suggest import Observation, get_suggester
from hpdash.core.suggest.bayes import _lie, warp_objectives
from hpdash.core.suggest.gp import Posterior


def test_warping_keeps_the_order_of_the_values():
    y = np.random.default_rng(0).lognormal(size=40)
    w = warp_objectives(y)
    assert np.array_equal(np.argsort(y, kind="stable"), np.argsort(w, kind="stable"))
    assert abs(w.mean()) < 1e-12 and abs(w.std() - 1.0) < 1e-12


def test_one_diverged_trial_does_not_flatten_the_good_values():
    y = np.linspace(0.10, 0.20, 19)
    with_outlier = np.append(y, 1e6)
    plain = (with_outlier - with_outlier.mean()) / with_outlier.std()
    warped = warp_objectives(with_outlier)
    # Plain standardisation squeezes the 19 good values into a band of width ~1e-7.
    assert np.ptp(plain[:19]) < 1e-6
    assert np.ptp(warped[:19]) > 0.5
    assert warped[-1] == warped.max()


def test_warping_copes_with_ties_and_tiny_histories():
    for y in ([1.0, 1.0, 1.0], [2.0], [0.3, 0.3, 0.3, 0.3, 0.9], [5.0, 1.0]):
        w = warp_objectives(np.array(y))
        assert np.all(np.isfinite(w))


def test_a_running_trial_is_assumed_worse_than_the_model_expects_there():
    rng = np.random.default_rng(1)
    X = rng.random((12, 2))
    y = warp_objectives(((X - 0.3) ** 2).sum(1))
    theta = np.log([1.0, 0.3, 0.3, 1e-4])
    post = Posterior(theta, X, y, capacity=1)
    x = np.array([0.3, 0.3])
    mean, sd = post.predict(x[None, :])
    assert _lie(post, x) > mean[0]
    assert _lie(post, x) == mean[0] + sd[0]


def test_a_batch_with_three_running_trials_still_spreads_out():
    spec = HyperparameterSpec(
        params=(ParameterSpec("x", "DOUBLE", 0.0, 1.0), ParameterSpec("y", "DOUBLE", 0.0, 1.0)),
        goal="MINIMIZE",
    )
    bayes = get_suggester("ALGORITHM_UNSPECIFIED")
    rng = np.random.default_rng(2)
    history = [
        Observation({"x": float(a), "y": float(b)}, "SUCCEEDED", float((a - 0.7) ** 2 + b**2))
        for a, b in rng.random((10, 2))
    ]
    running: list[Observation] = []
    for _ in range(4):
        (p,) = bayes.suggest(spec, history + running, 1, seed=3)
        running.append(Observation(p, "PENDING"))
    pts = np.array([[o.params["x"], o.params["y"]] for o in running])
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(pts) for b in pts[i + 1 :]]
    assert min(gaps) > 0.01
