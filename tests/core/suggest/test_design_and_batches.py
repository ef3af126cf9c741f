"""Issue 23's mechanisms of the default suggester: the design follows the job's maxTrials, the
acquisition optimiser climbs from several starts, and a parallel batch spreads out."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hpdash.core.spec.space import to_unit
from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.core.suggest import SUGGESTERS, Observation
from hpdash.core.suggest.base import Point
from hpdash.core.suggest.bayes import Encoder, Fantasies, maximise_acquisition, n_initial
from hpdash.core.suggest.gp import Posterior

BAYES = SUGGESTERS["ALGORITHM_UNSPECIFIED"]

FIVE = HyperparameterSpec(
    params=(
        ParameterSpec("lr", "DOUBLE", 1e-4, 1.0, scale_type="UNIT_LOG_SCALE"),
        ParameterSpec("dropout", "DOUBLE", 0.0, 0.5),
        ParameterSpec("momentum", "DOUBLE", 0.5, 0.99),
        ParameterSpec("layers", "INTEGER", 1, 9),
        ParameterSpec("cell", "CATEGORICAL", categorical_values=("lstm", "gru", "rnn")),
    ),
    goal="MINIMIZE",
)


def loss(p: Point) -> float:
    return (math.log10(float(p["lr"])) + 2) ** 2 + float(p["dropout"]) + float(p["layers"]) / 9


def test_a_job_of_10_trials_runs_3_design_points_and_a_job_of_50_runs_d_plus_1():
    short = dataclasses.replace(FIVE, max_trials=10)
    long = dataclasses.replace(FIVE, max_trials=50)
    design = BAYES.suggest(long, [], 8, seed=4)
    assert BAYES.suggest(short, [], 8, seed=4) == design  # the same space-filling sequence
    done = [Observation(p, "SUCCEEDED", loss(p)) for p in design[:3]]
    # After 3 results the short job asks the model; the long one carries on with its design
    # until d + 1 = 6 trials have finished.
    (short_next,) = BAYES.suggest(short, done, 1, seed=4)
    assert short_next not in design
    assert BAYES.suggest(long, done, 1, seed=4) == [design[3]]
    done6 = [Observation(p, "SUCCEEDED", loss(p)) for p in design[:6]]
    assert BAYES.suggest(long, done6, 1, seed=4) != [design[6]]


@pytest.mark.parametrize("d", [1, 2, 5, 9, 14])
def test_the_design_never_takes_more_than_a_quarter_of_a_short_job(d: int):
    """At least 3 design points, at most a quarter of maxTrials (rounded up) when that is
    more, never more than clamp(d + 1, 5, 10), and never fewer for a longer job."""
    spec = HyperparameterSpec(
        params=tuple(ParameterSpec(f"x{i}", "DOUBLE", 0.0, 1.0) for i in range(d)))
    full = min(max(d + 1, 5), 10)
    counts = [n_initial(dataclasses.replace(spec, max_trials=m)) for m in range(1, 201)]
    for m, count in enumerate(counts, start=1):
        assert 3 <= count <= full
        assert count <= max(3, math.ceil(m / 4))
    assert counts == sorted(counts)
    assert counts[10 - 1] == 3 and counts[-1] == full


# --------------------------------------------------------------------------- acquisition

CUBE = HyperparameterSpec(params=tuple(ParameterSpec(f"x{i}", "DOUBLE", 0.0, 1.0)
                                       for i in range(3)))
BROAD, NARROW = np.array([0.3, 0.3, 0.3]), np.array([0.8, 0.7, 0.85])


def two_basins(X: np.ndarray) -> np.ndarray:
    """A wide basin of height 1 and a narrow one of height 2 (width 0.03 in the unit cube)."""
    out: np.ndarray = np.exp(-((X - BROAD) ** 2).sum(1) / (2 * 0.05**2)) + 2 * np.exp(
        -((X - NARROW) ** 2).sum(1) / (2 * 0.03**2))
    return out


def candidates(seed: int) -> np.ndarray:
    """Random candidates, none within 0.2 of either basin's centre, plus one point on each
    basin's slope: the wide basin's scores better (0.84 against 0.13)."""
    rng = np.random.default_rng(seed)
    X = rng.random((1000, 3))
    far = (np.abs(X - BROAD).max(1) > 0.2) & (np.abs(X - NARROW).max(1) > 0.2)
    slopes = np.array([BROAD + [0.03, 0, 0], NARROW + [0.07, 0, 0]])
    return np.vstack([X[far], slopes])


@pytest.mark.parametrize("seed", range(5))
def test_the_acquisition_optimiser_finds_a_narrow_basin_a_single_start_misses(seed: int):
    enc = Encoder(CUBE)
    X = candidates(seed)
    values = two_basins(X)
    assert np.argmax(values) == len(X) - 2  # the best candidate is in the wide basin
    _, single = maximise_acquisition(two_basins, enc, X, values, np.random.default_rng(seed),
                                     n_starts=1)
    assert single.max() <= 1.0  # it climbed the wide basin: at most its height
    X_top, multi = maximise_acquisition(two_basins, enc, X, values,
                                        np.random.default_rng(seed))
    assert multi.max() > 1.5
    assert np.abs(X_top[np.argmax(multi)] - NARROW).max() < 0.03


# --------------------------------------------------------------------------- batches


def unit(spec: HyperparameterSpec, p: Point) -> np.ndarray:
    return np.array([to_unit(q, float(p[q.name])) for q in spec.params])


@pytest.mark.parametrize("seed", range(6))
def test_a_parallel_batch_has_no_near_duplicates(seed: int):
    """A model sure of its optimum (30 trials of a smooth bowl in 2-d) asked for 8 points at
    once, 3 trials still running: no two of the 11 are within 0.05 of each other (L-inf, unit
    cube).  Before local penalisation the pessimistic lie alone let 5 of these 6 seeds put two
    points 0.0006-0.04 apart."""
    spec = HyperparameterSpec(
        params=tuple(ParameterSpec(f"x{i}", "DOUBLE", 0.0, 1.0) for i in range(2)),
        goal="MINIMIZE", max_trials=60, max_parallel_trials=8)

    def bowl(p: Point) -> float:
        return sum((float(p[f"x{i}"]) - 0.6) ** 2 for i in range(2))

    history: list[Observation] = []
    while len(history) < 30:
        (p,) = BAYES.suggest(spec, history, 1, seed)
        history.append(Observation(p, "SUCCEEDED", bowl(p)))
    running = BAYES.suggest(spec, history, 3, seed)
    history += [Observation(p, "PENDING") for p in running]
    batch = BAYES.suggest(spec, history, 8, seed)
    assert len(batch) == 8
    points = [unit(spec, p) for p in running + batch]
    gaps = [float(np.abs(a - b).max()) for i, a in enumerate(points) for b in points[i + 1:]]
    assert min(gaps) > 0.05, sorted(gaps)[:4]


# --------------------------------------------------------------------------- fantasies


def test_each_fantasy_is_the_posterior_conditioned_on_its_sampled_values():
    """Fantasies (FANTASIES): a sample's candidate means, from the shared Cholesky rows of the
    running points and that sample's z, equal a posterior built afresh from the finished
    values plus the sampled ones; every sample's incumbent is the best of both."""
    rng = np.random.default_rng(3)
    X, X_pend, X_cand = rng.random((12, 2)), rng.random((3, 2)), rng.random((50, 2))
    y = ((X - 0.4) ** 2).sum(1)
    y = (y - y.mean()) / y.std()
    theta = np.log([1.0, 0.3, 0.4, 1e-3])
    post = Posterior(theta, X, y, capacity=3 + 1)
    f = Fantasies(post, X_pend, float(y.min()), 8, 1, np.random.default_rng(4))
    assert post.n == 15
    V = post.solve(X_cand)
    means = V.T @ f.Z[: post.n]
    for j in range(8):
        values = np.concatenate([y, _sampled(f, post, j)])
        fresh = Posterior(theta, np.vstack([X, X_pend]), values)
        mean, sd = fresh.predict(X_cand)
        np.testing.assert_allclose(means[:, j], mean, atol=1e-8)
        np.testing.assert_allclose(post.moments(V)[1], sd, atol=1e-8)
        assert f.y_best[j] == min(float(y.min()), float(values[12:].min()))


def _sampled(f: Fantasies, post: Posterior, j: int) -> np.ndarray:
    """The values sample ``j`` gave the 3 running points: y = L z over their rows."""
    out: np.ndarray = (post.L[:15, :15] @ f.Z[:15, j])[12:]
    return out


def test_fantasies_change_nothing_without_running_trials(monkeypatch: pytest.MonkeyPatch):
    from hpdash.core.suggest import bayes

    spec = dataclasses.replace(FIVE, max_trials=40)
    history: list[Observation] = []
    while len(history) < 9:
        (p,) = BAYES.suggest(spec, history, 1, seed=7)
        history.append(Observation(p, "SUCCEEDED", loss(p)))
    plain = BAYES.suggest(spec, history, 3, seed=7)
    monkeypatch.setattr(bayes, "FANTASIES", 16)
    assert BAYES.suggest(spec, history, 3, seed=7) == plain


@pytest.mark.parametrize("seed", range(3))
def test_with_fantasies_a_batch_next_to_running_trials_spreads_out(
        monkeypatch: pytest.MonkeyPatch, seed: int):
    """With running trials integrated out, a batch of 4 asked while 3 run in a smooth bowl:
    no two of the 7 points within 0.05 (L-inf) of each other, and each is feasible."""
    from hpdash.core.suggest import bayes

    monkeypatch.setattr(bayes, "FANTASIES", 16)
    spec = HyperparameterSpec(
        params=tuple(ParameterSpec(f"x{i}", "DOUBLE", 0.0, 1.0) for i in range(2)),
        goal="MINIMIZE", max_trials=60, max_parallel_trials=4)

    def bowl(p: Point) -> float:
        return sum((float(p[f"x{i}"]) - 0.6) ** 2 for i in range(2))

    history: list[Observation] = []
    while len(history) < 20:
        (p,) = BAYES.suggest(spec, history, 1, seed)
        history.append(Observation(p, "SUCCEEDED", bowl(p)))
    running = BAYES.suggest(spec, history, 3, seed)
    history += [Observation(p, "PENDING") for p in running]
    batch = BAYES.suggest(spec, history, 4, seed)
    assert len(batch) == 4
    points = [unit(spec, p) for p in running + batch]
    assert all(((u >= 0) & (u <= 1)).all() for u in points)
    gaps = [float(np.abs(a - b).max()) for i, a in enumerate(points) for b in points[i + 1:]]
    assert min(gaps) > 0.05, sorted(gaps)[:4]


def test_before_trust_from_trials_the_candidates_come_from_the_whole_box(
        monkeypatch: pytest.MonkeyPatch):
    """TRUST_FROM (off by default): the trust region draws the random candidates only once
    that many trials have succeeded."""
    from hpdash.core.suggest import bayes

    calls: list[int] = []
    region = bayes.trust_region

    def spy(enc: Encoder, X: np.ndarray, y: np.ndarray, m: int,
            rng: np.random.Generator) -> np.ndarray:
        calls.append(len(y))
        return region(enc, X, y, m, rng)

    monkeypatch.setattr(bayes, "trust_region", spy)
    spec = dataclasses.replace(FIVE, max_trials=40)
    history = [Observation(p, "SUCCEEDED", loss(p)) for p in BAYES.suggest(spec, [], 8, seed=2)]
    BAYES.suggest(spec, history, 1, seed=2)
    assert calls == [8]  # the default: from the first model step
    monkeypatch.setattr(bayes, "TRUST_FROM", 9)
    BAYES.suggest(spec, history, 1, seed=2)
    assert calls == [8]  # 8 succeeded: the whole box
    (p,) = BAYES.suggest(spec, history, 1, seed=2)
    history.append(Observation(p, "SUCCEEDED", loss(p)))
    BAYES.suggest(spec, history, 1, seed=2)
    assert calls == [8, 9]
