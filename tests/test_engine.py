"""The plan's checks read facts from the classes: what a layer outputs (``output_kind``,
``output_range``) and what a loss compares (``regression``); nothing else is edited for a
new class to be judged."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from support import three_classes, unchanged

import minifw as mf
from minifw.engine import OUT_OF_RANGE_REFUSED


def regression(*layers, dtype="float64"):
    model = mf.Sequential([mf.layers.Dense(4, activation="tanh"), *layers], dtype=dtype, seed=0)
    model.compile("adam", "mse")
    return model


@pytest.mark.parametrize(
    ("output", "targets", "range_text"),
    [
        (mf.layers.Dense(1, activation="sigmoid"), lambda rng: rng.uniform(25, 346, 40), "[0, 1]"),
        (mf.layers.Dense(1, activation="relu"), lambda rng: -rng.uniform(1, 5, 40), "[0, inf]"),
        (mf.layers.Dense(1, activation="tanh"), lambda rng: rng.normal(0, 3, 40), "[-1, 1]"),
        (mf.layers.Dense(1, activation="softplus"), lambda rng: -rng.uniform(1, 2, 40), "[0, inf]"),
        (mf.layers.Dense(1, activation="elu"), lambda rng: -rng.uniform(2, 3, 40), "[-1, inf]"),
    ],
    ids=["sigmoid-salaries", "relu-negative", "tanh-wide", "softplus-negative", "elu-below"],
)
def test_regression_targets_a_bounded_output_cannot_reach_are_refused_before_training(
    output, targets, range_text, rng
):
    model = regression(output)
    X, y = rng.normal(size=(40, 3)), targets(rng)
    model.build((None, 3))
    before = model.get_weights()
    for call in (
        lambda: model.fit(X, y, epochs=1, verbose=0),
        lambda: model.train_on_batch(X, y),
    ):
        with pytest.raises(ValueError, match=rf"targets lie outside \{range_text}.*cannot reach"):
            call()
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.predict(X)  # predicting and evaluating are not refused
    model.evaluate(X, y)


def test_a_few_targets_outside_the_range_warn_and_train(rng):
    model = regression(mf.layers.Dense(1, activation="sigmoid"))
    X, y = rng.normal(size=(400, 3)), rng.uniform(0, 1, 400)
    y[:2] = 1.5  # 0.5% outside [0, 1]
    assert 2 <= OUT_OF_RANGE_REFUSED * 400
    with pytest.warns(UserWarning, match="2 of 400 targets lie outside"):
        model.fit(X, y, epochs=1, verbose=0)


def test_targets_on_the_bounds_and_unbounded_outputs_are_accepted(rng):
    X = rng.normal(size=(20, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        regression(mf.layers.Dense(1, activation="sigmoid")).fit(
            X, rng.integers(0, 2, 20), epochs=1, verbose=0
        )
        regression(mf.layers.Dense(1)).fit(X, rng.normal(0, 100, 20), epochs=1, verbose=0)
        cross_entropy = mf.Sequential([mf.layers.Dense(1, activation="relu")])
        cross_entropy.compile("sgd", mf.losses.BinaryCrossEntropy(from_logits=True))
        cross_entropy.fit(X, rng.integers(0, 2, 20), epochs=1, verbose=0)  # not regression


def test_a_batch_source_is_judged_by_its_first_batch(rng):
    model = regression(mf.layers.Dense(1, activation="sigmoid"))
    batches = [(rng.normal(size=(8, 3)), rng.uniform(10, 20, 8)) for _ in range(3)]
    with pytest.raises(ValueError, match="8 of 8 targets lie outside"):
        model.fit(batches, epochs=1, verbose=0)


# -- a new class, judged from its own declaration ---------------------------------------


class Bounded(mf.layers.Activation):
    """o = 2·σ(net) − 1, in (−1, 1): a user's activation that declares its range."""

    output_range = (-1.0, 1.0)

    def activate(self, x):
        return 2 * mf.layers.Sigmoid().activate(x) - 1

    def derivative(self, x, out):
        return (1 - out * out) / 2


class HardSigmoid(mf.layers.Activation):
    """o = clip(0.2·net + 0.5, 0, 1): probabilities, declared as such."""

    output_kind = "probabilities"
    output_range = (0.0, 1.0)

    def activate(self, x):
        return np.clip(0.2 * x + 0.5, 0, 1)

    def derivative(self, x, out):
        return np.where((out > 0) & (out < 1), 0.2, 0.0)


class Undeclared(mf.layers.Activation):
    """o = net³: a user's activation that says nothing about itself (raw scores)."""

    def activate(self, x):
        return x**3

    def derivative(self, x, out):
        return 3 * x * x


class LogCosh(mf.losses.Loss):
    """L = mean log cosh(ŷ − y): a user's regression loss."""

    regression = True

    def value(self, y_true, y_pred):
        return float(np.mean(np.log(np.cosh(y_pred - y_true))))

    def gradient(self, y_true, y_pred):
        return np.tanh(y_pred - y_true) / y_pred.size


def test_a_new_activation_is_judged_by_its_declared_range_and_a_new_loss_by_its_kind(rng):
    model = mf.Sequential([mf.layers.Dense(3), Bounded()], dtype="float64")
    model.compile("sgd", LogCosh())
    with pytest.raises(ValueError, match=r"outside \[-1, 1\].*Bounded"):
        model.fit(rng.normal(size=(10, 2)), rng.normal(5, 1, size=(10, 3)), verbose=0)
    model.fit(rng.normal(size=(10, 2)), rng.uniform(-1, 1, size=(10, 3)), verbose=0)


def test_binary_cross_entropy_after_an_undeclared_activation_is_refused_with_the_fix(rng):
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, 10)
    model = mf.Sequential([mf.layers.Dense(1), Undeclared()])
    model.compile("sgd", "binary_crossentropy")
    with pytest.raises(ValueError, match="declare it on the class: output_kind = 'probabilities'"):
        model.fit(X, y, verbose=0)
    declared = mf.Sequential([mf.layers.Dense(1), HardSigmoid()])
    declared.compile("sgd", "binary_crossentropy")
    declared.fit(X, y, verbose=0)


def test_every_built_in_activation_declares_what_it_outputs():
    for name, cls in mf.layers.base.LAYERS.classes.items():
        if issubclass(cls, mf.layers.Activation):
            assert cls.output_kind in ("raw", "probabilities", "distribution"), name
    assert mf.layers.Sigmoid.output_kind == "probabilities"
    assert mf.layers.Softmax.output_kind == "distribution"
    assert mf.layers.LeakyReLU(0.0).output_range == (0.0, np.inf)
    assert mf.layers.LeakyReLU(0.1).output_range == (-np.inf, np.inf)


class Brier(mf.losses.Loss):
    """L = (1/(n·k)) Σ (y − p)², on probabilities: a loss that declares what it expects."""

    expects = "probabilities"

    def entries(self, y_true, y_pred):
        return (y_true - y_pred) ** 2

    def gradient(self, y_true, y_pred):
        return 2 * (y_pred - y_true) / y_pred.size


def test_a_new_loss_is_judged_by_what_it_declares_it_expects(rng):
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, 10)
    raw = mf.Sequential([mf.layers.Dense(1)])
    raw.compile("sgd", Brier())
    with pytest.raises(ValueError, match=r"Brier expects probabilities in \(0, 1\), but"):
        raw.fit(X, y, verbose=0)
    sigmoid = mf.Sequential([mf.layers.Dense(1, activation="sigmoid")])
    sigmoid.compile("sgd", Brier())
    sigmoid.fit(X, y, verbose=0)

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


def test_a_mismatched_output_still_predicts_it_only_cannot_train(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    assert model.predict(X).shape == (30, 3)
    for call in (
        lambda: model.fit(X, labels, epochs=1, verbose=0),
        lambda: model.train_on_batch(X, labels),
        lambda: model.gradients(X, labels),
    ):
        with pytest.raises(ValueError, match="outputs raw scores"):
            call()
    assert model.optimizer.iterations == 0


def test_targets_a_rounding_error_past_a_bound_are_on_it(rng):
    model = regression(mf.layers.Dense(1, activation="sigmoid"))
    y = rng.uniform(0, 1, 20)
    y[:5] = 1 + 1e-12  # as a min-max scaling may leave them
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(rng.normal(size=(20, 3)), y, verbose=0)


def test_a_kind_of_output_of_ones_own_is_named_as_declared(rng):
    class Rates(mf.layers.Activation):
        """o = e^net, declared as rates: a kind minifw does not know."""

        output_kind = "rates"

        def activate(self, x):
            return np.exp(x)

        def derivative(self, x, out):
            return out

    model = mf.Sequential([mf.layers.Dense(1), Rates()])
    model.compile("sgd", "binary_crossentropy")
    with pytest.raises(ValueError, match="ends with Rates, which outputs rates"):
        model.fit(rng.normal(size=(6, 2)), rng.integers(0, 2, 6), verbose=0)
