"""Search-quality problems: Bayesmark-style model x dataset objectives and synthetic functions.

Every problem is an hpdash :class:`HyperparameterSpec` (goal MINIMIZE) plus an objective that
takes a point (the dict a trainer would receive) and returns the loss.  The same space is mapped
onto Optuna distributions by :func:`optuna_distributions` (``log=True`` for UNIT_LOG_SCALE).

sklearn problems follow Bayesmark 0.0.8 (``bayesmark/sklearn_funcs.py``): the raw dataset that
ships with scikit-learn, ``train_test_split(test_size=0.2, random_state=0)``, the mean of
5-fold ``cross_val_score`` on the 80 % split, loss = ``-score`` (``nll`` = log loss, ``mse``).
Deviations, all for current scikit-learn or for a deterministic (hence cacheable) objective:

* Bayesmark's ``logit`` reals (DT's fractions, MLP momentum/power_t/validation_fraction) are
  DOUBLE with UNIT_LOG_SCALE over the same range: ml v1 has no logit scale; log is the "closest
  substitute" Bayesmark's own skopt wrapper used, and what the anchor measurement in
  benchmarks.md used for every method, so the figures stay comparable.  Optuna gets
  ``log=True`` for them too.
* ``LogisticRegression`` has no ``multi_class``/``penalty`` any more: the l2 model passes
  ``l1_ratio=0`` (the l1 model ``l1_ratio=1``) and is wrapped in ``OneVsRestClassifier`` for
  3+ classes, which is what ``multi_class="ovr"`` did.  ``normalize`` (Lasso/Ridge) is dropped.
* Models with internal randomness (SVC's Platt scaling, DT's ``max_features``, the MLP) get
  ``random_state=0``: Bayesmark left them noisy; fixed, a point always has one value, so values
  can be cached and ``opt`` in ``baseline.json`` is a property of the problem, not of luck.
* Booleans are CATEGORICAL ``("false", "true")``.

The problem set was chosen by cost (see ``/work/shared/reference/benchmarks.md``: all of these
take 5-60 ms per evaluation here) and to cover the anchor's seven problems (``ANCHOR``).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from hpdash.core.spec.types import HyperparameterSpec, ParameterSpec, ParamValue
from hpdash.core.suggest.base import Point

CV_SPLITS = 5


def real(name: str, lo: float, hi: float, log: bool = False) -> ParameterSpec:
    return ParameterSpec(
        name, "DOUBLE", lo, hi, scale_type="UNIT_LOG_SCALE" if log else "UNIT_LINEAR_SCALE"
    )


def logit(name: str, lo: float, hi: float) -> ParameterSpec:
    """A Bayesmark ``logit`` range, expressed as a log scale (see the module docstring)."""
    return real(name, lo, hi, log=True)


def integer(name: str, lo: int, hi: int, log: bool = False) -> ParameterSpec:
    return ParameterSpec(
        name, "INTEGER", lo, hi, scale_type="UNIT_LOG_SCALE" if log else "UNIT_LINEAR_SCALE"
    )


def boolean(name: str) -> ParameterSpec:
    return ParameterSpec(name, "CATEGORICAL", categorical_values=("false", "true"))


def categorical(name: str, *values: str) -> ParameterSpec:
    return ParameterSpec(name, "CATEGORICAL", categorical_values=values)


def discrete(name: str, *values: float, log: bool = False) -> ParameterSpec:
    return ParameterSpec(name, "DISCRETE", discrete_values=tuple(float(v) for v in values),
                         scale_type="UNIT_LOG_SCALE" if log else "UNIT_LINEAR_SCALE")


@dataclass
class Problem:
    """A minimisation problem: ``objective(point) -> loss``."""

    name: str
    params: tuple[ParameterSpec, ...]
    objective: Callable[[Point], float]
    kind: str  # "synthetic" or "sklearn"
    known_opt: float | None = None  # the true minimum where it is known (synthetic functions)
    deterministic: bool = True
    cache: dict[tuple[ParamValue, ...], float] = field(default_factory=dict, repr=False)

    @property
    def spec(self) -> HyperparameterSpec:
        return HyperparameterSpec(params=self.params, goal="MINIMIZE", metric_tag="loss")

    def __call__(self, point: Point) -> float:
        """The loss at ``point``; deterministic problems remember values already computed."""
        if not self.deterministic:
            return float(self.objective(point))
        key = tuple(point[p.name] for p in self.params)
        if key not in self.cache:
            self.cache[key] = float(self.objective(point))
        return self.cache[key]


# =========================================================================== synthetic


def branin(p: Point) -> float:
    x1, x2 = float(p["x1"]), float(p["x2"])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


HART6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
HART6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
HART6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(p: Point) -> float:
    x = np.array([float(p[f"x{i}"]) for i in range(1, 7)])
    inner = (HART6_A * (x - HART6_P) ** 2).sum(axis=1)
    return float(-(HART6_ALPHA * np.exp(-inner)).sum())


def styblinski_tang(p: Point) -> float:
    x = np.array([float(v) for v in p.values()])
    return float(0.5 * (x**4 - 16 * x**2 + 5 * x).sum())


# --------------------------------------------------------------------------- held out
# Functions of the held-out set (never used to choose anything in the suggester): 4-7 dims,
# optima off the centre of their boxes, log scales, mixed types.


def ackley(p: Point) -> float:
    x = np.array([float(v) for v in p.values()])
    d = len(x)
    return float(
        -20 * math.exp(-0.2 * math.sqrt(float((x * x).sum()) / d))
        - math.exp(float(np.cos(2 * math.pi * x).sum()) / d)
        + 20
        + math.e
    )


def levy(p: Point) -> float:
    x = np.array([float(v) for v in p.values()])
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = ((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2)).sum()
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def rosenbrock_log(p: Point) -> float:
    """Rosenbrock of the parameters' base-10 logarithms: a valley on a log scale (the optimum
    at 10 for every parameter, near the top of a [1e-3, 1e2] box)."""
    z = np.log10(np.array([float(v) for v in p.values()]))
    return float((100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2).sum())


MIXED_OPT = -3.0


def mixed7(p: Point) -> float:
    """A training-run-like response over 7 parameters of every type: a log-scale learning
    rate whose best value depends on the optimizer, a DISCRETE batch size spanning orders of
    magnitude, an INTEGER depth, a reverse-log momentum, dropout, and a log-scale width.
    Minimum -3.0 at lr 3e-3 (adam), batch 64, depth 4, momentum 0.9, dropout 0.1, width 256."""
    best_lr = {"adam": -2.5228787, "sgd": -1.0, "rmsprop": -2.0}[str(p["optimizer"])]
    bonus = {"adam": 0.0, "sgd": 0.4, "rmsprop": 0.2}[str(p["optimizer"])]
    lr = math.log10(float(p["lr"]))
    v = (lr - best_lr) ** 2 * (1 + 0.5 * abs(math.log2(float(p["batch"]) / 64)))
    v += 0.15 * math.log2(float(p["batch"]) / 64) ** 2
    v += 0.08 * (int(p["depth"]) - 4) ** 2
    v += 40 * (float(p["momentum"]) - 0.9) ** 2
    v += 8 * (float(p["dropout"]) - 0.1) ** 2
    v += 0.3 * (math.log2(float(p["width"])) - 8) ** 2
    return v + bonus + MIXED_OPT


# ---- held-out, added for issue 23 (chosen 2026-12-06 before any change to the suggester;
# see HELDOUT_23 below for why each one).


def schwefel(p: Point) -> float:
    """Schwefel's function: deceptive and multimodal, the best basin at x_i = 420.9687 near the
    upper corner of [-500, 500]^d, the second best far from it."""
    x = np.array([float(v) for v in p.values()])
    return float(418.98288727243374 * len(x) - (x * np.sin(np.sqrt(np.abs(x)))).sum())


SHEKEL_A = np.array([[4, 4, 4, 4], [1, 1, 1, 1], [8, 8, 8, 8], [6, 6, 6, 6], [3, 7, 3, 7],
                     [2, 9, 2, 9], [5, 5, 3, 3], [8, 1, 8, 1], [6, 2, 6, 2], [7, 3.6, 7, 3.6]],
                    dtype=float)
SHEKEL_C = np.array([1, 2, 2, 4, 4, 6, 3, 7, 5, 5], dtype=float) / 10
SHEKEL10_OPT = -10.536409816692  # at (4.000747, 4.000593, 3.999663, 3.999510)


def shekel10(p: Point) -> float:
    """Shekel's function with 10 narrow basins of similar depth on a flat floor, in 4-d."""
    x = np.array([float(v) for v in p.values()])
    return float(-(1 / (((x - SHEKEL_A) ** 2).sum(axis=1) + SHEKEL_C)).sum())


# A fixed rotation and an off-centre optimum for the sharp ridge (BBOB f13's form).
_RIDGE_ROT = np.linalg.qr(np.random.default_rng(13).standard_normal((5, 5)))[0]
_RIDGE_OPT = np.array([3.1, -2.4, 3.7, 1.9, -3.3])


def sharp_ridge5(p: Point) -> float:
    """BBOB's sharp ridge, rotated: ``z_1^2 + 100 sqrt(z_2^2 + ... + z_5^2)`` with ``z`` the
    rotated offset from an optimum away from the centre of [-5, 5]^5: a narrow, oblique
    ridge that axis-aligned models and perturbations follow badly."""
    z = _RIDGE_ROT @ (np.array([float(v) for v in p.values()]) - _RIDGE_OPT)
    return float(z[0] ** 2 + 100 * math.sqrt(float((z[1:] ** 2).sum())))


def net7(p: Point) -> float:
    """A network-training-like response that is mostly integer, DISCRETE and categorical:
    layers (INTEGER), units (INTEGER, log), kernel size (DISCRETE), warm-up steps (DISCRETE,
    uneven), activation and normalisation (CATEGORICAL) and a log-scale learning rate whose
    best value depends on the normalisation; the best width depends on the depth.  Minimum 0
    at 7 layers, 512 units, kernel 7, 1000 warm-up steps, gelu, layer norm, lr 10^-3.3."""
    layers = int(p["layers"])
    best_units = 512 if layers >= 5 else 128
    norm = str(p["norm"])
    best_lr = -3.3 + {"layer": 0.0, "batch": 0.6, "none": -0.8}[norm]
    v = 0.06 * (layers - 7) ** 2
    v += 0.25 * (math.log2(int(p["units"])) - math.log2(best_units)) ** 2
    v += 0.02 * (float(p["kernel"]) - 7) ** 2
    v += 0.4 * (math.log10(float(p["warmup"]) + 100) - math.log10(1100)) ** 2
    v += {"gelu": 0.0, "relu": 0.1, "selu": 0.25, "tanh": 0.5}[str(p["activation"])]
    v += {"layer": 0.0, "batch": 0.15, "none": 0.6}[norm]
    v += (math.log10(float(p["lr"])) - best_lr) ** 2 * (1 + 0.2 * abs(layers - 7))
    return v


# ---- the decision set (DECISION), chosen on 2026-12-07 before any change was tried that
# session; see DECISION below for what it is for and why each problem.


def rastrigin(p: Point) -> float:
    """Rastrigin's function: a regular grid of local minima (one per integer point) on a
    bowl; the global minimum 0 at the origin."""
    x = np.array([float(v) for v in p.values()])
    return float(10 * len(x) + (x * x - 10 * np.cos(2 * math.pi * x)).sum())


MICHALEWICZ5_OPT = -4.687658  # d = 5, m = 10 (Molga and Smutnicki's table)


def michalewicz(p: Point) -> float:
    """Michalewicz's function (m = 10): steep, narrow valleys along the axes on a flat floor,
    the valleys narrower in later coordinates."""
    x = np.array([float(v) for v in p.values()])
    i = np.arange(1, len(x) + 1)
    return float(-(np.sin(x) * np.sin(i * x * x / math.pi) ** 20).sum())


# A rotated, ill-conditioned ellipsoid in the base-10 logarithms of six log-scale parameters
# (coupled learning rates and penalties), its optimum off the centre of the box.
_ELLIPSOID_ROT = np.linalg.qr(np.random.default_rng(24).standard_normal((6, 6)))[0]
_ELLIPSOID_OPT = np.array([-2.3, 0.7, -3.1, 1.2, -0.5, -1.8])
_ELLIPSOID_W = 10.0 ** (3 * np.arange(6) / 5)


def ellipsoid6_log(p: Point) -> float:
    """``sum_i 10^(3 i / 5) (R u)_i^2`` with ``u`` the offset of ``log10(z)`` from the optimum:
    condition number 1000, rotated off the axes, on log scales.  Minimum 0."""
    u = _ELLIPSOID_ROT @ (np.log10(np.array([float(v) for v in p.values()])) - _ELLIPSOID_OPT)
    return float((_ELLIPSOID_W * u * u).sum())


# Per solver: the best (a, b, c) INTEGERs, (r, s) reals, the best DISCRETE block, and an
# offset: the categorical decides where every other optimum lies.
_COND = {
    "alpha": ((4, 22, 9), (0.2, 0.7), 8.0, 0.3),
    "beta": ((17, 5, 26), (0.8, 0.35), 32.0, 0.0),
    "gamma": ((27, 13, 3), (0.55, 0.9), 2.0, 0.15),
}


def condquad6(p: Point) -> float:
    """A conditional response: a CATEGORICAL solver moves the optimum of three INTEGERs
    (1-30), two reals and a DISCRETE block size (1-64, log-spaced).  Minimum 0 with beta at
    (17, 5, 26), (0.8, 0.35), 32."""
    ints, reals, block, offset = _COND[str(p["solver"])]
    v = offset
    v += sum(((int(p[k]) - o) / 29) ** 2 for k, o in zip(("a", "b", "c"), ints, strict=True))
    v += sum((float(p[k]) - o) ** 2 for k, o in zip(("r", "s"), reals, strict=True))
    v += 0.05 * math.log2(float(p["block"]) / block) ** 2
    return 3 * v


# =========================================================================== sklearn


def _friedman1(return_X_y: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Friedman's #1 regression problem (generated, no download): 10 features, 5 of them
    informative, noise sd 1."""
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=300, noise=1.0, random_state=0)
    return X, y


class SklearnObjective:
    """Mean 5-fold CV loss of ``model(**fixed, **point)`` on the 80 % split of a dataset."""

    def __init__(self, model: str, dataset: str, metric: str):
        self.model, self.dataset, self.metric = model, dataset, metric

    @cached_property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn import datasets
        from sklearn.model_selection import train_test_split

        loader = {
            "iris": datasets.load_iris,
            "wine": datasets.load_wine,
            "breast": datasets.load_breast_cancer,
            "digits": datasets.load_digits,
            "diabetes": datasets.load_diabetes,
            "friedman": _friedman1,
        }[self.dataset]
        X, y = loader(return_X_y=True)
        X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=0)
        return X_train, y_train

    def estimator(self, point: Point) -> Any:
        from sklearn.ensemble import GradientBoostingRegressor
        from sklearn.linear_model import Lasso, LogisticRegression, Ridge
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
        from sklearn.neural_network import MLPClassifier
        from sklearn.svm import SVC, SVR
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        kw: dict[str, Any] = {
            k: (v == "true") if v in ("true", "false") else v for k, v in point.items()
        }
        clf = self.metric in ("nll", "acc")
        if self.model == "kNN":
            return (KNeighborsClassifier if clf else KNeighborsRegressor)(**kw)
        if self.model == "SVM":
            if clf:
                return SVC(kernel="rbf", probability=True, random_state=0, **kw)
            return SVR(kernel="rbf", **kw)
        if self.model == "DT":
            cls = DecisionTreeClassifier if clf else DecisionTreeRegressor
            return cls(max_leaf_nodes=None, random_state=0, **kw)
        if self.model in ("linear", "lasso") and clf:
            lr = LogisticRegression(
                solver="liblinear",
                l1_ratio=1.0 if self.model == "lasso" else 0.0,
                fit_intercept=True,
                **kw,
            )
            return OneVsRestClassifier(lr) if len(np.unique(self.data[1])) > 2 else lr
        if self.model == "lasso":
            return Lasso(**kw)
        if self.model == "linear":
            return Ridge(solver="auto", **kw)
        if self.model == "GBR":
            return GradientBoostingRegressor(random_state=0, **kw)
        if self.model == "kNNs":  # a scaler chosen as a hyperparameter, then kNN
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import MinMaxScaler, StandardScaler

            scaler = {"none": "passthrough", "standard": StandardScaler(),
                      "minmax": MinMaxScaler()}[kw.pop("scaler")]
            return make_pipeline(scaler, KNeighborsClassifier(**kw))
        if self.model == "enet":
            from sklearn.linear_model import ElasticNet

            return ElasticNet(random_state=0, **kw)
        if self.model == "DTc":  # every tree option a user sets, on a 3-class problem
            kw["class_weight"] = None if kw["class_weight"] == "none" else kw["class_weight"]
            return DecisionTreeClassifier(random_state=0, **kw)
        if self.model == "KR":  # kernel ridge: kernel choice with its own parameters
            from sklearn.kernel_ridge import KernelRidge

            return KernelRidge(**kw)
        if self.model == "SGD":  # a linear model trained by SGD, scaled inputs
            from sklearn.linear_model import SGDClassifier
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            return make_pipeline(StandardScaler(), SGDClassifier(
                loss="log_loss", random_state=0, **kw))
        if self.model == "MLP-sgd":
            kw["hidden_layer_sizes"] = (int(kw["hidden_layer_sizes"]),)
            return MLPClassifier(
                solver="sgd",
                early_stopping=True,
                learning_rate="invscaling",
                nesterovs_momentum=True,
                random_state=0,
                **kw,
            )
        raise ValueError(f"no model {self.model} for {self.metric}")

    def __call__(self, point: Point) -> float:
        from sklearn.model_selection import cross_val_score

        scoring = {
            "nll": "neg_log_loss",
            "acc": "accuracy",
            "mse": "neg_mean_squared_error",
            "mae": "neg_mean_absolute_error",
        }[self.metric]
        X, y = self.data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: BO tries odd corners
            scores = cross_val_score(self.estimator(point), X, y, scoring=scoring, cv=CV_SPLITS)
        return float(-np.mean(scores))


KNN = (integer("n_neighbors", 1, 25), integer("p", 1, 4))
SVM = (real("C", 1.0, 1e3, log=True), real("gamma", 1e-4, 1e-3, log=True),
       real("tol", 1e-5, 1e-1, log=True))
DT = (
    integer("max_depth", 1, 15),
    logit("min_samples_split", 0.01, 0.99),
    logit("min_samples_leaf", 0.01, 0.49),
    logit("min_weight_fraction_leaf", 0.01, 0.49),
    logit("max_features", 0.01, 0.99),
    real("min_impurity_decrease", 0.0, 0.5),
)
LOGISTIC = (real("C", 1e-2, 1e2, log=True), real("intercept_scaling", 1e-2, 1e2, log=True))
MLP_SGD = (
    integer("hidden_layer_sizes", 50, 200),
    real("alpha", 1e-5, 10.0, log=True),
    integer("batch_size", 10, 250),
    real("learning_rate_init", 1e-5, 0.1, log=True),
    logit("power_t", 0.1, 0.9),
    real("tol", 1e-5, 0.1, log=True),
    logit("momentum", 0.001, 0.999),
    logit("validation_fraction", 0.1, 0.9),
)
LASSO_REG = (
    real("alpha", 1e-2, 1e2, log=True),
    boolean("fit_intercept"),
    integer("max_iter", 10, 5000, log=True),
    real("tol", 1e-5, 1e-1, log=True),
    boolean("positive"),
)
GBR = (
    integer("n_estimators", 5, 50),
    real("learning_rate", 1e-3, 1.0, log=True),
    integer("max_depth", 1, 6),
    real("subsample", 0.3, 1.0),
    integer("min_samples_leaf", 1, 50, log=True),
)
# SVR on Friedman #1 gets its own ranges (Bayesmark's gamma of 1e-4..1e-3 makes every SVR on
# these features a constant predictor).
SVR_SPACE = (real("C", 0.1, 1e3, log=True), real("gamma", 1e-3, 10.0, log=True),
             real("epsilon", 1e-3, 1.0, log=True))
KNN_WEIGHTED = (integer("n_neighbors", 1, 40), integer("p", 1, 4),
                categorical("weights", "uniform", "distance"))
# Held-out spaces of issue 23: mixed types as users write them.
KNN_SCALED = (integer("n_neighbors", 1, 60), categorical("weights", "uniform", "distance"),
              discrete("p", 1, 1.5, 2, 3, 4), categorical("scaler", "none", "standard", "minmax"))
ENET = (real("alpha", 1e-5, 10.0, log=True), real("l1_ratio", 0.0, 1.0),
        boolean("fit_intercept"), categorical("selection", "cyclic", "random"),
        real("tol", 1e-6, 1e-1, log=True), integer("max_iter", 5, 2000, log=True))
DT_MIXED = (integer("max_depth", 1, 20), integer("min_samples_leaf", 1, 64, log=True),
            real("max_features", 0.05, 1.0), categorical("criterion", "gini", "entropy"),
            categorical("splitter", "best", "random"),
            categorical("class_weight", "none", "balanced"),
            real("ccp_alpha", 1e-5, 0.3, log=True))
# Decision-set spaces (DECISION).
KERNEL_RIDGE = (real("alpha", 1e-4, 10.0, log=True),
                categorical("kernel", "rbf", "laplacian", "polynomial"),
                real("gamma", 1e-4, 1.0, log=True), integer("degree", 1, 5),
                real("coef0", 0.0, 5.0))
SGD_SPACE = (categorical("penalty", "l2", "l1", "elasticnet"), real("alpha", 1e-6, 1.0, log=True),
             real("l1_ratio", 0.0, 1.0),
             categorical("learning_rate", "optimal", "invscaling", "adaptive", "constant"),
             real("eta0", 1e-4, 1.0, log=True), integer("max_iter", 5, 500, log=True))
SKLEARN_SPACES = {"kNN": KNN, "SVM": SVM, "DT": DT, "linear": LOGISTIC, "lasso": LOGISTIC,
                  "MLP-sgd": MLP_SGD, "GBR": GBR, "kNNw": KNN_WEIGHTED, "SVR": SVR_SPACE,
                  "kNNs": KNN_SCALED, "enet": ENET, "DTc": DT_MIXED,
                  "KR": KERNEL_RIDGE, "SGD": SGD_SPACE}


def sklearn_problem(model: str, dataset: str, metric: str) -> Problem:
    params = LASSO_REG if (model == "lasso" and metric in ("mse", "mae")) else SKLEARN_SPACES[model]
    objective = SklearnObjective({"kNNw": "kNN", "SVR": "SVM"}.get(model, model), dataset, metric)
    return Problem(f"{model}_{dataset}_{metric}", params, objective, "sklearn")


def build_problems() -> dict[str, Problem]:
    """Every problem by name, in report order (fresh objects: caches are per process)."""
    problems = [
        Problem("branin", (real("x1", -5.0, 10.0), real("x2", 0.0, 15.0)), branin, "synthetic",
                known_opt=0.397887357729739),
        Problem("hartmann6", tuple(real(f"x{i}", 0.0, 1.0) for i in range(1, 7)), hartmann6,
                "synthetic", known_opt=-3.322368011391339),
        Problem("styblinski_tang4", tuple(real(f"x{i}", -5.0, 5.0) for i in range(1, 5)),
                styblinski_tang, "synthetic", known_opt=-39.16616570377142 * 4),
        sklearn_problem("kNN", "diabetes", "mse"),
        sklearn_problem("SVM", "wine", "nll"),
        sklearn_problem("DT", "breast", "nll"),
        sklearn_problem("linear", "breast", "nll"),
        sklearn_problem("DT", "diabetes", "mse"),
        sklearn_problem("lasso", "diabetes", "mse"),
        # 60-150 ms per evaluation, as much as the rest together: not in the default set
        # (DEFAULT), run it with --problems MLP-sgd_iris_nll.
        sklearn_problem("MLP-sgd", "iris", "nll"),
        # ---- the held-out set (HELDOUT): nothing in the suggester was chosen on these.
        Problem("ackley5_offcentre", tuple(real(f"x{i}", -8.0, 24.0) for i in range(1, 6)),
                ackley, "synthetic", known_opt=0.0),
        Problem("levy6_offcentre", tuple(real(f"x{i}", -3.0, 12.0) for i in range(1, 7)),
                levy, "synthetic", known_opt=0.0),
        Problem("rosenbrock4_log", tuple(real(f"z{i}", 1e-3, 1e2, log=True) for i in range(1, 5)),
                rosenbrock_log, "synthetic", known_opt=0.0),
        Problem(
            "mixed7",
            (
                real("lr", 1e-5, 1.0, log=True),
                discrete("batch", 8, 16, 32, 64, 128, 256, 512, 1024),
                integer("depth", 1, 12),
                ParameterSpec("momentum", "DOUBLE", 0.5, 0.999,
                              scale_type="UNIT_REVERSE_LOG_SCALE"),
                real("dropout", 0.0, 0.6),
                integer("width", 16, 2048, log=True),
                categorical("optimizer", "sgd", "adam", "rmsprop"),
            ),
            mixed7,
            "synthetic",
            known_opt=MIXED_OPT,
        ),
        sklearn_problem("SVR", "friedman", "mse"),
        sklearn_problem("GBR", "friedman", "mse"),
        sklearn_problem("kNNw", "friedman", "mae"),
        # ---- held out, added with issue 23 (HELDOUT_23)
        Problem("schwefel4", tuple(real(f"x{i}", -500.0, 500.0) for i in range(1, 5)),
                schwefel, "synthetic", known_opt=0.0),
        Problem("shekel10", tuple(real(f"x{i}", 0.0, 10.0) for i in range(1, 5)), shekel10,
                "synthetic", known_opt=SHEKEL10_OPT),
        Problem("sharp_ridge5", tuple(real(f"x{i}", -5.0, 5.0) for i in range(1, 6)),
                sharp_ridge5, "synthetic", known_opt=0.0),
        Problem(
            "net7",
            (
                integer("layers", 1, 8),
                integer("units", 8, 1024, log=True),
                discrete("kernel", 1, 3, 5, 7, 9),
                discrete("warmup", 0, 100, 500, 1000, 5000),
                categorical("activation", "relu", "tanh", "gelu", "selu"),
                categorical("norm", "none", "batch", "layer"),
                real("lr", 1e-5, 1e-1, log=True),
            ),
            net7,
            "synthetic",
            known_opt=0.0,
        ),
        sklearn_problem("kNNs", "wine", "nll"),
        sklearn_problem("enet", "diabetes", "mse"),
        sklearn_problem("DTc", "wine", "nll"),
        # ---- the decision set (DECISION)
        Problem("rastrigin5_offcentre", tuple(real(f"x{i}", -3.0, 7.0) for i in range(1, 6)),
                rastrigin, "synthetic", known_opt=0.0),
        Problem("michalewicz5", tuple(real(f"x{i}", 0.0, math.pi) for i in range(1, 6)),
                michalewicz, "synthetic", known_opt=MICHALEWICZ5_OPT),
        Problem("ellipsoid6_log", tuple(real(f"z{i}", 1e-5, 1e2, log=True) for i in range(1, 7)),
                ellipsoid6_log, "synthetic", known_opt=0.0),
        Problem(
            "condquad6",
            (
                categorical("solver", "alpha", "beta", "gamma"),
                integer("a", 1, 30),
                integer("b", 1, 30),
                integer("c", 1, 30),
                real("r", 0.0, 1.0),
                real("s", 0.0, 1.0),
                discrete("block", 1, 2, 4, 8, 16, 32, 64, log=True),
            ),
            condquad6,
            "synthetic",
            known_opt=0.0,
        ),
        sklearn_problem("KR", "diabetes", "mse"),
        sklearn_problem("SGD", "breast", "nll"),
    ]
    return {p.name: p for p in problems}


# The seven problems of the anchor (skopt GP 0.153, TPE 0.200, random 0.302 at 30 trials).
ANCHOR = ("branin", "hartmann6", "styblinski_tang4", "SVM_wine_nll", "DT_breast_nll",
          "MLP-sgd_iris_nll", "linear_breast_nll")
DEFAULT = ("branin", "hartmann6", "styblinski_tang4", "kNN_diabetes_mse", "SVM_wine_nll",
           "DT_breast_nll", "DT_diabetes_mse", "linear_breast_nll", "lasso_diabetes_mse")
QUICK = ("branin", "hartmann6", "kNN_diabetes_mse", "SVM_wine_nll")
# The tuning set is DEFAULT: every choice in the suggester is measured there.  The held-out
# set is only ever reported: seven problems added with issue 11 (4-7 dimensional synthetic
# functions with off-centre optima, log scales and mixed types, and three scikit-learn
# regressors) and seven added with issue 23 (HELDOUT_23).
TUNING = DEFAULT
HELDOUT_11 = ("ackley5_offcentre", "levy6_offcentre", "rosenbrock4_log", "mixed7",
              "SVR_friedman_mse", "GBR_friedman_mse", "kNNw_friedman_mae")
# Added with issue 23, chosen on 2026-12-06 and committed alone, before any change to the
# suggester was tried (the git history shows it), never tuned on.  Each covers a kind of
# problem the issue names that the first seven covered thinly or not at all:
# * schwefel4: multimodal and deceptive, the optimum near a corner (the outside measurement
#   found GPSampler clearly ahead on a multimodal problem);
# * shekel10: ten narrow basins on a flat floor (multi-start acquisition has to find them);
# * sharp_ridge5: a narrow ridge, rotated off the axes, optimum off-centre;
# * net7: mostly INTEGER / DISCRETE / CATEGORICAL coordinates with interactions, a log-scale
#   learning rate, optimum near the top of the depth range;
# * kNNs_wine_nll: a real model on bundled data with a DISCRETE Minkowski p, two categoricals
#   (weights, a scaler) and an integer;
# * enet_diabetes_mse: a real linear model with a log-scale penalty whose best value sits near
#   the bottom of its range, a boolean and a categorical among them;
# * DTc_wine_nll: a real tree on a 3-class dataset with integers (one log-scale), a real, a
#   log-scale pruning strength and three categoricals (a random forest was the first choice:
#   0.8 s an evaluation on this loaded machine, too slow for 20 seeds).
HELDOUT_23 = ("schwefel4", "shekel10", "sharp_ridge5", "net7", "kNNs_wine_nll",
              "enet_diabetes_mse", "DTc_wine_nll")
HELDOUT = HELDOUT_11 + HELDOUT_23
# The decision set: chosen on 2026-12-07, committed alone before any change was tried that
# session.  The held-out set had by then decided one choice (issue 23's hyperpriors), so
# further choices that pass the tuning set are accepted or rejected here, hpdash against
# hpdash, one decision per change, each recorded in search_quality.ABLATIONS; the held-out
# set goes back to being only reported.  Each problem is of a kind users bring:
# * rastrigin5_offcentre: a regular grid of local minima, the global one off the centre (and
#   a decoy local minimum at the centre);
# * michalewicz5: steep, narrow valleys on a flat floor;
# * ellipsoid6_log: smooth but rotated and ill-conditioned (1:1000) on six log scales, the
#   coupled learning rates and penalties of real models;
# * condquad6: a categorical that moves the optimum of three INTEGERs, two reals and a
#   log-spaced DISCRETE parameter (conditional structure);
# * KR_diabetes_mse: kernel ridge on bundled data, the kernel a categorical with a degree
#   only one kernel uses, log-scale penalty and width;
# * SGD_breast_nll: SGD logistic regression with categorical penalty and learning-rate
#   schedule, log-scale rates and iteration counts: a rough, partly flat landscape.
DECISION = ("rastrigin5_offcentre", "michalewicz5", "ellipsoid6_log", "condquad6",
            "KR_diabetes_mse", "SGD_breast_nll")
QUICK_HELDOUT = ("ackley5_offcentre", "mixed7", "kNNw_friedman_mae")


def optuna_distributions(spec: HyperparameterSpec) -> dict[str, Any]:
    """The same space as Optuna distributions (log scale -> ``log=True``)."""
    import optuna

    dists: dict[str, Any] = {}
    for p in spec.params:
        log = p.scale_type == "UNIT_LOG_SCALE"
        if p.type == "CATEGORICAL":
            dists[p.name] = optuna.distributions.CategoricalDistribution(p.categorical_values)
        elif p.type == "INTEGER":
            assert p.min_value is not None and p.max_value is not None
            dists[p.name] = optuna.distributions.IntDistribution(
                int(p.min_value), int(p.max_value), log=log
            )
        elif p.type == "DOUBLE":
            assert p.min_value is not None and p.max_value is not None
            dists[p.name] = optuna.distributions.FloatDistribution(
                p.min_value, p.max_value, log=log
            )
        else:  # DISCRETE: the index into the sorted values, ordered (see optuna_point)
            dists[p.name] = optuna.distributions.IntDistribution(0, len(p.discrete_values) - 1)
    return dists


def optuna_point(spec: HyperparameterSpec, params: dict[str, Any]) -> Point:
    """Optuna's parameters as the point a trainer receives: a DISCRETE parameter's index
    becomes its value.  Optuna gets DISCRETE parameters as an ordered ``IntDistribution`` over
    the indices of the sorted values, so its models see their order (its fair best; until
    issue 23 they were a ``CategoricalDistribution``)."""
    point = dict(params)
    for p in spec.params:
        if p.type == "DISCRETE":
            point[p.name] = sorted(p.discrete_values)[int(params[p.name])]
    return point


def optuna_params(spec: HyperparameterSpec, point: Point) -> dict[str, Any]:
    """The inverse of :func:`optuna_point`: a DISCRETE value becomes its index."""
    params: dict[str, Any] = dict(point)
    for p in spec.params:
        if p.type == "DISCRETE":
            params[p.name] = sorted(p.discrete_values).index(float(point[p.name]))
    return params


def peer_space(spec: HyperparameterSpec) -> list[dict[str, Any]]:
    """The space as ``benchmarks/peers/peer.py`` reads it (JSON; no hpdash types there).
    UNIT_REVERSE_LOG_SCALE has no counterpart in the peers: it is given as linear."""
    return [
        {
            "name": p.name,
            "type": p.type,
            "min": p.min_value,
            "max": p.max_value,
            "log": p.scale_type == "UNIT_LOG_SCALE",
            "values": list(p.categorical_values or p.discrete_values),
        }
        for p in spec.params
    ]
