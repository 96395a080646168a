"""Sequence outputs (n, T, k): Dense on the last axis, losses and metrics over every entry.

Each is checked against its 2-D form on the steps as rows, written out in the test,
and against central differences; Keras's conventions (DESIGN.md, "Sequences").
"""

import numpy as np
import pytest

import minifw as mf
from minifw.losses import as_rows

L = mf.layers


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def test_dense_on_a_sequence_is_the_same_dense_at_every_step(rng):
    layer = L.Dense(3, activation="tanh")
    X = rng.normal(size=(4, 6, 2))
    out = layer(X)
    assert out.shape == (4, 6, 3)
    W, b = layer.params["W"], layer.params["b"]
    for t in range(6):
        np.testing.assert_allclose(out[:, t], np.tanh(X[:, t] @ W + b), rtol=1e-13)
    G = rng.normal(size=out.shape)
    grad_x = layer.backward(G)
    net_grad = G * (1 - out**2)
    np.testing.assert_allclose(grad_x, net_grad @ W.T, rtol=1e-12)  # W shared by the steps
    np.testing.assert_allclose(layer.grads["W"], sum(X[:, t].T @ net_grad[:, t] for t in range(6)))
    np.testing.assert_allclose(layer.grads["b"], net_grad.sum(axis=(0, 1)))


def test_dense_refuses_images_naming_flatten():
    with pytest.raises(ValueError, match="Flatten"):
        mf.Sequential([L.Dense(2)]).build((None, 4, 4, 1))
    with pytest.raises(ValueError, match=r"\(timesteps, features\)"):
        L.Dense(2, input_shape=(4, 4, 1))


LOSSES = [
    (mf.losses.MSELoss, "real"),
    (mf.losses.MAELoss, "real"),
    (mf.losses.HuberLoss, "real"),
    (mf.losses.Poisson, "positive"),
    (lambda: mf.losses.BinaryCrossEntropy(from_logits=True), "binary"),
    (lambda: mf.losses.CategoricalCrossEntropy(from_logits=True), "one-hot"),
    (lambda: mf.losses.SparseCategoricalCrossEntropy(from_logits=True), "labels"),
]


def targets(kind, shape, rng):
    n, steps, k = shape
    if kind == "labels":
        return rng.integers(0, k, size=(n, steps))  # prepared labels are integers
    if kind == "one-hot":
        return np.eye(k)[rng.integers(0, k, size=(n, steps))]
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(float)
    if kind == "positive":
        return rng.uniform(0.1, 3.0, size=shape)
    return rng.normal(size=shape)


@pytest.mark.parametrize("make, kind", LOSSES)
def test_a_loss_on_sequences_is_its_2d_form_on_every_step_as_a_row(make, kind, rng):
    loss = make()
    shape = (5, 4, 3)
    Y = targets(kind, shape, rng)
    P = rng.uniform(0.2, 2.0, size=shape) if kind == "positive" else rng.normal(size=shape)
    flat_Y = Y.reshape(20, 3) if kind != "labels" else Y.reshape(20)
    flat_P = P.reshape(20, 3)
    value, grad = loss.value_and_grad(Y, P)
    flat_value, flat_grad = loss.value_and_grad(flat_Y, flat_P)
    assert value == pytest.approx(flat_value, rel=1e-13)
    np.testing.assert_allclose(grad, flat_grad.reshape(shape), rtol=1e-13)
    # ℓ_i of a sequence: the mean of its steps' ℓ; L their mean
    rows = loss.rows(Y, P)
    assert rows.shape == (5,)
    np.testing.assert_allclose(rows, loss.rows(flat_Y, flat_P).reshape(5, 4).mean(axis=1))
    assert loss.value(Y, P) == pytest.approx(value, rel=1e-13)
    # one weight per sequence: its steps' rows weigh that much
    weights = rng.uniform(0.5, 2.0, size=5)
    w_value, w_grad = loss.weighted_value_and_grad(Y, P, weights)
    f_value, f_grad = loss.weighted_value_and_grad(flat_Y, flat_P, np.repeat(weights, 4))
    assert w_value == pytest.approx(f_value, rel=1e-12)
    np.testing.assert_allclose(w_grad, f_grad.reshape(shape), rtol=1e-12)
    # and the gradient is the loss's, by central differences
    step, e = 1e-6, (1, 2, 0)
    up, down = P.copy(), P.copy()
    up[e] += step
    down[e] -= step
    numeric = (loss.value(Y, up) - loss.value(Y, down)) / (2 * step)
    assert grad[e] == pytest.approx(numeric, rel=1e-6, abs=1e-10)


def tagger(units=4, classes=3, steps=5):
    model = mf.Sequential(
        [
            L.SimpleRNN(units, input_shape=(steps, 2), return_sequences=True),
            L.Dense(classes, activation="softmax"),
        ],
        dtype="float64",
        seed=1,
    )
    model.compile(mf.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_sequence_tagger_trains_and_evaluates_over_every_step(rng):
    X = rng.normal(size=(40, 5, 2))
    y = (X[..., 0] > 0).astype(int) + (X[..., 1] > 1).astype(int)  # a class for each step
    model = tagger()
    logs = model.evaluate(X, y, return_dict=True)
    P = model.predict(X)
    assert P.shape == (40, 5, 3)
    picked = np.take_along_axis(P, y[..., None], axis=-1)[..., 0]
    assert logs["loss"] == pytest.approx(-np.log(picked).mean(), rel=1e-12)
    assert logs["accuracy"] == pytest.approx(np.mean(P.argmax(-1) == y), rel=1e-12)
    history = model.fit(X, y, epochs=30, batch_size=8, verbose=0, validation_split=0.25)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_gradients_of_a_sequence_model_match_central_differences(rng):
    X = rng.normal(size=(6, 5, 2))
    y = rng.integers(0, 3, size=(6, 5))
    errors = mf.gradcheck(tagger(), X, y)
    assert errors and max(errors.values()) < 1e-6


def test_a_sequence_model_saves_and_loads(tmp_path, rng):
    X = rng.normal(size=(6, 5, 2))
    model = tagger()
    model.save(tmp_path / "tagger.minifw")
    loaded = mf.load_model(tmp_path / "tagger.minifw")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize(
    "y, message",
    [
        (np.zeros((8, 4)), r"y must have shape \(8, 5, 3\)"),
        (np.zeros((8, 5, 2)), r"3 values per step"),
        (np.zeros(8), r"outputs a sequence"),
    ],
)
def test_sequence_targets_of_the_wrong_shape_are_refused_before_training(y, message, rng):
    model = mf.Sequential([L.LSTM(4, input_shape=(5, 2), return_sequences=True), L.Dense(3)])
    model.compile("sgd", "mse")
    model.build()
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(rng.normal(size=(8, 5, 2)), y, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_class_weight_on_sequence_labels_asks_for_sample_weight(rng):
    with pytest.raises(ValueError, match="sample_weight"):
        tagger().fit(rng.normal(size=(8, 5, 2)), np.zeros((8, 5)), class_weight={0: 2.0}, verbose=0)


def test_sequence_targets_for_a_model_with_one_output_per_sample_are_refused(rng):
    model = mf.Sequential([L.LSTM(3, input_shape=(5, 2))])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="return_sequences=True"):
        model.fit(rng.normal(size=(8, 5, 2)), np.zeros((8, 5, 3)), verbose=0)


def test_as_rows_leaves_2d_arrays_and_flattens_sequences():
    y, p = np.zeros((4, 2)), np.ones((4, 2))
    assert as_rows(y, p) == (y, p)
    labels, sequence = np.zeros((4, 3)), np.ones((4, 3, 2))
    rows_y, rows_p = as_rows(labels, sequence)
    assert rows_y.shape == (12,) and rows_p.shape == (12, 2)


def test_the_compiled_engine_refuses_dense_on_sequences_naming_it():
    model = mf.Sequential([L.Dense(2, input_shape=(5, 3)), L.Dense(1)])
    with pytest.raises((ValueError, ImportError), match="sequences|numba"):
        model.compile("sgd", "mse", jit_compile=True)
