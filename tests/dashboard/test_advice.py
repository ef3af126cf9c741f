"""The new-job page's advice (``hpdash.dashboard.forms.advice``): warnings, not errors."""

from __future__ import annotations

from hpdash.core.spec import HyperparameterSpec
from hpdash.core.spec.types import ParameterSpec
from hpdash.dashboard.forms.advice import spec_warnings


def discrete(values: tuple[float, ...], scale: str = "NONE") -> HyperparameterSpec:
    p = ParameterSpec("lr", "DISCRETE", discrete_values=values, scale_type=scale)
    return HyperparameterSpec(params=(p,), max_trials=30)  # 30 trials: no "too few" advice


def log_scale_warnings(hp: HyperparameterSpec) -> list[str]:
    return [w for w in spec_warnings(hp) if "UNIT_LOG_SCALE" in w]


def test_discrete_values_spanning_orders_of_magnitude_get_the_log_scale_advice():
    (warning,) = log_scale_warnings(discrete((0.0001, 0.001, 0.01)))
    assert warning.startswith("lr's values span 2 orders of magnitude on a linear scale")


def test_discrete_values_of_one_magnitude_get_no_log_scale_advice():
    assert log_scale_warnings(discrete((1, 2, 3))) == []
    assert spec_warnings(discrete((1, 2, 3))) == []


def test_discrete_values_already_on_a_log_scale_get_no_log_scale_advice():
    assert log_scale_warnings(discrete((0.0001, 0.001, 0.01), "UNIT_LOG_SCALE")) == []
