"""minifw.sklearn: scikit-learn's own estimator checks, the tools it works in, real data sets."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn import datasets  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from minifw.sklearn import Classifier, Regressor  # noqa: E402

FAST = dict(hidden=(16,), epochs=60, learning_rate=0.01, random_state=0)


@parametrize_with_checks([Classifier(**FAST), Regressor(**FAST)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_string_labels_probabilities_and_partial_fit(rng):
    X = rng.normal(size=(60, 3))
    labels = np.where(X[:, 0] > 0, "yes", "no")
    model = Classifier(**FAST).fit(X, labels)
    assert list(model.classes_) == ["no", "yes"] and model.n_features_in_ == 3
    probabilities = model.predict_proba(X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    assert set(model.predict(X)) <= {"no", "yes"} and model.score(X, labels) > 0.9
    online = Classifier(**FAST)
    with pytest.raises(ValueError, match="needs `classes`"):
        online.partial_fit(X, labels)
    for _ in range(20):
        online.partial_fit(X, labels, classes=["no", "yes"])
    assert online.n_iter_ == 20 and online.score(X, labels) > 0.8


def test_pipeline_grid_search_cross_validation_clone_and_pickle():
    X, y = datasets.load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), Classifier(**FAST))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.mean() > 0.85
    search = GridSearchCV(pipeline, {"classifier__hidden": [(8,), (16,)]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.85
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    restored[-1].partial_fit(StandardScaler().fit_transform(X), y)  # still trains after pickling
    fresh = clone(fitted)
    assert fresh.get_params()["classifier__hidden"] == fitted.get_params()["classifier__hidden"]
    assert not hasattr(fresh[-1], "model_")


def test_a_model_function_gives_full_control(rng):
    import minifw as mf

    def network(features, outputs):
        return [mf.layers.Dense(8, activation="tanh"), mf.layers.Dense(outputs)]

    X = rng.normal(size=(50, 4))
    y = X @ rng.normal(size=4)
    model = Regressor(model=network, epochs=80, learning_rate=0.01, random_state=0).fit(X, y)
    assert [type(layer).__name__ for layer in model.model_.layers] == ["Dense", "Dense"]
    assert model.model_.layers[0].units == 8 and model.score(X, y) > 0.8


CLASSIFICATION = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast cancer": datasets.load_breast_cancer,
}


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
def test_classification_scores_are_close_to_scikit_learns_mlp(name):
    X, y = CLASSIFICATION[name](return_X_y=True)
    ours, theirs = [], []
    for seed in range(3):
        split = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
        X_train, X_test, y_train, y_test = split
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        options = dict(learning_rate=1e-3, batch_size=32, random_state=seed)
        ours.append(
            Classifier(hidden=(32,), epochs=200, **options)
            .fit(X_train, y_train)
            .score(X_test, y_test)
        )
        mlp = MLPClassifier(
            hidden_layer_sizes=(32,),
            learning_rate_init=1e-3,
            batch_size=32,
            max_iter=200,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's MLP warns it did not converge
            theirs.append(mlp.fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) > np.mean(theirs) - 0.03, (ours, theirs)


def test_regression_score_on_diabetes_is_close_to_scikit_learns_mlp():
    X, y = datasets.load_diabetes(return_X_y=True)
    ours, theirs = [], []
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        mean, std = y_train.mean(), y_train.std()
        model = Regressor(hidden=(32,), epochs=200, learning_rate=1e-3, random_state=seed)
        model.fit(X_train, (y_train - mean) / std)
        ours.append(_r2(y_test, model.predict(X_test) * std + mean))
        mlp = MLPRegressor(
            hidden_layer_sizes=(32,),
            learning_rate_init=1e-3,
            batch_size=32,
            max_iter=200,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp.fit(X_train, (y_train - mean) / std)
        theirs.append(_r2(y_test, mlp.predict(X_test) * std + mean))
    assert np.mean(ours) > np.mean(theirs) - 0.05, (ours, theirs)


def _r2(y, predicted) -> float:
    return 1 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2)


def test_a_dataframe_keeps_its_feature_names(rng):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(rng.normal(size=(40, 2)), columns=["iq", "gpa"])
    y = frame["iq"] * 2 + frame["gpa"]
    model = Regressor(**FAST).fit(frame, y)
    assert list(model.feature_names_in_) == ["iq", "gpa"]
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(frame.to_numpy())


@pytest.mark.parametrize("estimator", [Classifier, Regressor])
def test_a_refused_refit_keeps_the_fitted_network_and_its_predictions(estimator, rng):
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    fitted = estimator(epochs=3, random_state=0, dtype="float32").fit(X, y)
    model, predictions = fitted.model_, fitted.predict(X)
    bad_targets = np.array(["a", "b"] * 20) if estimator is Regressor else np.zeros(40)
    for bad in [(np.full((40, 3), 1e39), y), (X, bad_targets)]:
        with pytest.raises((ValueError, TypeError)):
            fitted.fit(*bad)
        assert fitted.model_ is model
        np.testing.assert_array_equal(fitted.predict(X), predictions)


def test_a_refused_first_partial_fit_leaves_the_estimator_unfitted(rng):
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    estimator = Classifier(dtype="float32")
    with pytest.raises(ValueError, match="too large for the model's dtype float32"):
        estimator.partial_fit(np.full((40, 3), 1e39), y, classes=[0, 1])
    assert not hasattr(estimator, "model_") and not hasattr(estimator, "classes_")
    with pytest.raises(NotFittedError):
        estimator.predict(X)
