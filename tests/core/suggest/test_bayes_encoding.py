"""The Bayes suggester's unit-cube encoding agrees with the spec's scale helpers."""

from __future__ import annotations

import math

import numpy as np

from hpdash.core.spec.space import from_unit
from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec
from hpdash.core.suggest.bayes import Encoder


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
    enc = Encoder(spec)
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
    enc = Encoder(spec)
    X, points = enc.enumerate_untaken({("2", "2.5", "y"), ("3", "2.5", "x")})
    assert points == [
        {"a": 1, "f": 2.5, "c": "x"},
        {"a": 1, "f": 2.5, "c": "y"},
        {"a": 2, "f": 2.5, "c": "x"},
        {"a": 3, "f": 2.5, "c": "y"},
    ]
    for x, p in zip(X, points, strict=True):
        np.testing.assert_allclose(x, enc.encode(p))
    assert math.isclose(X[:, 0].max(), 5 / 6)  # integers own equal slices of [0, 1]
