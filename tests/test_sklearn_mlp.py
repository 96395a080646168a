"""minifw.sklearn.MLPClassifier and MLPRegressor: scikit-learn's MLP, swapped by the import."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import datasets  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_sample_weight_equivalence_on_dense_data,
    parametrize_with_checks,
)

from minifw.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

STOCHASTIC_WEIGHTS = (
    "minibatches of weighted rows are not minibatches of repeated rows (the full-batch "
    "lbfgs solver is checked for this below, as scikit-learn checks its own MLP)"
)


@parametrize_with_checks(
    [MLPClassifier(max_iter=100, random_state=0), MLPRegressor(max_iter=100, random_state=0)],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": STOCHASTIC_WEIGHTS
    },
)
def test_scikit_learns_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_sample_weights_equal_repeated_rows_with_the_full_batch_solver(estimator):
    check_sample_weight_equivalence_on_dense_data(
        estimator.__name__, estimator(solver="lbfgs", random_state=0)
    )


@pytest.mark.parametrize(
    ("ours", "theirs"), [(MLPClassifier, SkClassifier), (MLPRegressor, SkRegressor)]
)
def test_the_parameters_are_scikit_learns_names_and_defaults_plus_minifws_own(ours, theirs):
    mine, reference = ours().get_params(), theirs().get_params()
    assert {key: mine[key] for key in reference} == reference
    assert set(mine) - set(reference) == {"dtype", "jit_compile", "model"}


def test_the_user_guides_examples_run_with_the_import_swapped():
    X, y = [[0.0, 0.0], [1.0, 1.0]], [0, 1]
    clf = MLPClassifier(solver="lbfgs", alpha=1e-5, hidden_layer_sizes=(5, 2), random_state=1)
    clf.fit(X, y)
    assert clf.predict([[2.0, 2.0], [-1.0, -2.0]]).tolist() == [1, 0]
    assert [coef.shape for coef in clf.coefs_] == [(2, 5), (5, 2), (2, 1)]
    probabilities = clf.predict_proba([[2.0, 2.0], [1.0, 2.0]])
    assert probabilities.shape == (2, 2) and np.allclose(probabilities.sum(axis=1), 1)
    multilabel = MLPClassifier(
        solver="lbfgs", alpha=1e-5, hidden_layer_sizes=(15,), random_state=1
    ).fit([[0.0, 0.0], [1.0, 1.0]], [[0, 1], [1, 1]])
    assert multilabel.predict([[1.0, 2.0]]).tolist() == [[1, 1]]
    assert multilabel.predict([[0.0, 0.0]]).tolist() == [[0, 1]]


def test_a_forward_pass_by_hand_with_coefs_and_intercepts_gives_predict_proba(rng):
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, 30)
    clf = MLPClassifier(hidden_layer_sizes=(6, 5), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    out = X
    for coef, intercept in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        out = np.maximum(out @ coef + intercept, 0)
    logits = out @ clf.coefs_[-1] + clf.intercepts_[-1]
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), softmax, rtol=1e-10)
    assert clf.out_activation_ == "softmax" and clf.n_layers_ == 4 and clf.n_outputs_ == 3


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("tol", -np.inf), ("max_iter", 0), ("hidden_layer_sizes", 0), ("activation", "sigmoid"),
     ("solver", "newton"), ("batch_size", 0), ("validation_fraction", 1.0), ("momentum", 1.5)],
)
def test_parameters_are_validated_as_scikit_learn_validates_them(parameter, value):
    with pytest.raises(InvalidParameterError, match=parameter):
        MLPClassifier(**{parameter: value}).fit([[0.0], [1.0]], [0, 1])


def test_fitted_attributes_early_stopping_and_the_convergence_warning(rng):
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\) reached"):
        short = MLPClassifier(max_iter=3, random_state=0).fit(X, y)
    assert short.n_iter_ == 3 and short.t_ == 3 * 80 and len(short.loss_curve_) == 3
    assert short.loss_ == short.loss_curve_[-1] and short.best_loss_ == min(short.loss_curve_)
    assert short.validation_scores_ is None and short.best_validation_score_ is None
    stopped = MLPClassifier(early_stopping=True, max_iter=500, random_state=0).fit(X, y)
    assert stopped.best_loss_ is None and len(stopped.validation_scores_) == stopped.n_iter_
    assert stopped.best_validation_score_ == max(stopped.validation_scores_)
    assert stopped.n_iter_ < 500
    with pytest.raises(AttributeError, match="stochastic optimizers"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)


@pytest.mark.parametrize(
    ("load", "classifier"),
    [
        (datasets.load_iris, True),
        (datasets.load_wine, True),
        (datasets.load_breast_cancer, True),
        (datasets.load_digits, True),
        (datasets.load_diabetes, False),
    ],
    ids=["iris", "wine", "breast-cancer", "digits", "diabetes"],
)
def test_scores_are_within_noise_of_scikit_learns_mlp(load, classifier):
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours, theirs = (MLPClassifier, SkClassifier) if classifier else (MLPRegressor, SkRegressor)
    options = {"max_iter": 300, "learning_rate_init": 0.01 if not classifier else 0.001}
    scores = {"ours": [], "theirs": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in (0, 1):
            scores["ours"].append(ours(random_state=seed, **options).fit(X, y).score(X, y))
            scores["theirs"].append(theirs(random_state=seed, **options).fit(X, y).score(X, y))
    assert np.mean(scores["ours"]) > np.mean(scores["theirs"]) - 0.05, scores
