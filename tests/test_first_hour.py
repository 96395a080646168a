"""A Keras user's first hour: results that look fine and are not become clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf


def three_classes(rng, n=30):
    X = rng.normal(size=(n, 4))
    labels = np.argmax(X[:, :3], axis=1)
    return X, labels


def unchanged(model, before) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


@pytest.mark.parametrize(
    ("last", "loss", "message"),
    [
        # the README's batched example without from_logits: a linear last layer
        (mf.layers.Dense(3), "sparse_categorical_crossentropy", r"outputs raw scores \(logits\)"),
        (mf.layers.Dense(3, activation="relu"), "categorical_crossentropy", "from_logits=True"),
        (mf.layers.Dense(1, activation="sigmoid"), "sparse_categorical_crossentropy", "1 output"),
        (mf.layers.Dense(3, activation="softmax"), "binary_crossentropy", "activation='sigmoid'"),
        (mf.layers.Dense(3, activation="sigmoid"), "categorical_crossentropy", "'softmax'"),
        (mf.layers.Dense(1, activation="tanh"), "binary_crossentropy", "raw scores"),
    ],
    ids=["linear+scce", "relu+cce", "sigmoid1+scce", "softmax+bce", "sigmoid+cce", "tanh+bce"],
)
def test_an_output_the_loss_cannot_mean_is_refused_before_training(last, loss, message, rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(8, input_dim=4, activation="relu"), last], seed=0)
    model.compile("adam", loss)
    before = model.get_weights()
    y = np.eye(3)[labels] if loss == "categorical_crossentropy" else labels
    if loss == "binary_crossentropy":
        y = (labels == 0).astype(float).reshape(-1, 1) * np.ones((1, last.units))
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, epochs=1, verbose=0)
    assert unchanged(model, before)


def test_a_softmax_output_with_a_logits_loss_warns_of_the_double_softmax(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4, activation="softmax")], seed=0)
    model.compile("adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    with pytest.warns(UserWarning, match="applies the activation a second time"):
        model.fit(X, labels, epochs=1, verbose=0)


def test_matching_outputs_and_losses_train_without_a_word(rng, recwarn):
    X, labels = three_classes(rng)
    for last, loss in [
        (mf.layers.Dense(3), mf.losses.SparseCategoricalCrossEntropy(from_logits=True)),
        (mf.layers.Dense(3, activation="softmax"), "sparse_categorical_crossentropy"),
        (mf.layers.Dense(1, activation="sigmoid"), "binary_crossentropy"),
    ]:
        model = mf.Sequential([mf.layers.Dense(4, input_dim=4), last], seed=0)
        model.compile("adam", loss, metrics=["accuracy"])
        y = (labels == 0).astype(float) if last.units == 1 else labels
        model.fit(X, y, epochs=2, verbose=0)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_binary_accuracy_compares_with_labels_and_refuses_other_values():
    assert mf.metrics.binary_accuracy(np.array([[1.0], [0.0]]), np.array([[0.9], [0.2]])) == 1.0
    with pytest.raises(ValueError, match="needs labels 0 and 1; the targets hold 1, 2"):
        mf.metrics.binary_accuracy(np.array([[1.0], [2.0]]), np.array([[0.9], [0.9]]))


def test_accuracy_of_mse_on_three_labels_is_refused_before_training(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(1, input_dim=4)], seed=0)
    model.compile("sgd", "mse", metrics=["accuracy"])
    before = model.get_weights()
    with pytest.raises(ValueError, match="metric 'accuracy' cannot be computed.*labels 0 and 1"):
        model.fit(X, labels, epochs=1, verbose=0)
    assert unchanged(model, before)


def test_a_metric_that_cannot_take_the_labels_fails_before_the_first_update(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile(
        "adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True), metrics=["mae"]
    )
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"metric 'mae' cannot be computed on these targets"):
        model.fit(X, labels, epochs=1, verbose=0)
    assert unchanged(model, before) and model.optimizer.iterations == 0


def test_class_weight_keys_that_match_no_class_are_refused(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile("adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    with pytest.raises(ValueError, match=r"not among the labels of y: \[7\].*0, 1, 2"):
        model.fit(X, labels, class_weight={0: 1.0, 7: 2.0}, epochs=1, verbose=0)
    model.fit(X, labels, class_weight={0: 1.0, 2: 2.0}, epochs=1, verbose=0)
