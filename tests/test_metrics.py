"""Metrics: values against hand computation, and how "accuracy" picks its kind."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw import metrics


def test_regression_metrics():
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.0], [2.0], [4.0], [2.0]])
    assert metrics.mse(y, p) == (0 + 0 + 1 + 4) / 4
    assert metrics.mae(y, p) == (0 + 0 + 1 + 2) / 4
    assert metrics.rmse(y, p) == pytest.approx(np.sqrt(5 / 4))
    assert metrics.r2(y, p) == pytest.approx(1 - 5 / 5)  # Σ(y − ȳ)² = 2.25 + 0.25 + 0.25 + 2.25
    assert metrics.r2(y, y) == 1.0
    assert metrics.r2(np.ones((3, 1)), np.ones((3, 1))) == 1.0
    assert metrics.r2(np.ones((3, 1)), np.zeros((3, 1))) == 0.0


def test_classification_metrics():
    probabilities = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    labels = np.array([1, 1, 0])
    onehot = np.eye(3)[labels]
    assert metrics.sparse_categorical_accuracy(labels, probabilities) == pytest.approx(1 / 3)
    assert metrics.categorical_accuracy(onehot, probabilities) == pytest.approx(1 / 3)
    assert metrics.top_k_accuracy(labels, probabilities, k=2) == pytest.approx(2 / 3)
    assert metrics.top_k_accuracy(onehot, probabilities, k=3) == 1.0
    assert metrics.binary_accuracy(np.array([[1.0], [0.0]]), np.array([[0.9], [0.6]])) == 0.5


@pytest.mark.parametrize(
    ("loss", "outputs", "expected"),
    [
        ("binary_crossentropy", 1, metrics.binary_accuracy),
        ("sparse_categorical_crossentropy", 3, metrics.sparse_categorical_accuracy),
        ("categorical_crossentropy", 3, metrics.categorical_accuracy),
        ("mse", 1, metrics.binary_accuracy),
    ],
)
def test_accuracy_picks_its_kind_from_the_loss_and_outputs(loss, outputs, expected):
    model = mf.Sequential([mf.layers.Dense(outputs, input_dim=2)])
    model.compile("sgd", loss, metrics=["accuracy"])
    model.build()  # the number of outputs is known once built
    assert model.metrics == [("accuracy", expected)]


def test_metrics_in_fit_and_evaluate_are_computed_on_all_rows(rng):
    X = rng.normal(size=(40, 2))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    model = mf.Sequential([mf.layers.Dense(3, activation="softmax")], dtype="float64", seed=0)
    model.compile(
        mf.optimizers.SGD(0.5),
        "sparse_categorical_crossentropy",
        metrics=["accuracy", "top_k_accuracy", metrics.sparse_categorical_accuracy],
    )
    history = model.fit(X, labels, epochs=5, batch_size=7, verbose=0)
    assert set(history.history) == {
        "loss",
        "accuracy",
        "top_k_accuracy",
        "sparse_categorical_accuracy",
    }
    assert history.history["top_k_accuracy"] == [1.0] * 5  # 3 classes, k = 5
    result = model.evaluate(X, labels, return_dict=True)
    predicted = model.predict(X).argmax(axis=1)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == labels))


def test_unknown_metric_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown metric 'f2'. Expected one of: .*'mae'"):
        metrics.get("f2")
