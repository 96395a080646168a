"""mf.fit_many: K models trained as stacked arrays, each ending as its own fit would."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import minifw as mf

RNG = np.random.default_rng(0)
X = RNG.standard_normal((300, 6))
Y = np.sin(X[:, :1]) + 0.2 * X[:, 1:2]
LABELS = np.digitize(X[:, 0], [-0.5, 0.5])


def model(seed=0, optimizer=None, hidden="tanh", dropout=0.0, outputs=1, last=None, **compile):
    layers = [mf.layers.Dense(16, activation=hidden, input_shape=(6,))]
    if dropout:
        layers.append(mf.layers.Dropout(dropout))
    layers += [mf.layers.Dense(12, activation=hidden), mf.layers.Dense(outputs, activation=last)]
    built = mf.Sequential(layers, dtype=compile.pop("dtype", "float64"), seed=seed)
    built.compile(optimizer or mf.optimizers.Adam(1e-2), compile.pop("loss", "mse"), **compile)
    return built


def assert_as_alone(make, y=Y, epochs=3, sample_weight=None, **fit):
    """fit_many's models equal, to 1e-12 of each array's largest entry, the same models
    each trained by its own fit; their Histories too."""
    together = [make(k) for k in range(4)]
    alone = [make(k) for k in range(4)]
    histories = mf.fit_many(
        together, X, y, epochs=epochs, sample_weight=sample_weight, verbose=0, **fit
    )
    for k, (a, b) in enumerate(zip(together, alone)):
        weights = None
        if sample_weight is not None:
            weights = sample_weight[k] if np.ndim(sample_weight) == 2 else sample_weight
        own = b.fit(X, y, epochs=epochs, sample_weight=weights, verbose=0, **fit)
        for left, right in zip(a.get_weights(), b.get_weights()):
            assert np.abs(left - right).max() <= 1e-12 * np.abs(right).max()
        assert histories[k].history.keys() == own.history.keys()
        for key, values in own.history.items():
            assert histories[k].history[key] == pytest.approx(values, rel=1e-12), key
        assert a.optimizer.iterations == b.optimizer.iterations
        assert a.history is histories[k]
    return together


def test_models_differing_in_seed_and_learning_rate_end_as_their_own_fits():
    together = assert_as_alone(lambda k: model(k, mf.optimizers.Adam(10 ** -(1 + k % 3))))
    assert not np.allclose(together[0].get_weights()[0], together[1].get_weights()[0])


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda k: mf.optimizers.SGD(0.05, momentum=0.5 + 0.1 * k, nesterov=True),
        lambda k: mf.optimizers.SGD(0.05, weight_decay=0.01 * (k % 2)),  # 0 beside non-0
        lambda k: mf.optimizers.AdamW(1e-2, beta_1=0.8 + 0.05 * k, weight_decay=0.1 * k),
        lambda k: mf.optimizers.RMSprop(1e-3 * (k + 1), momentum=0.3),
        lambda k: mf.optimizers.Adagrad(0.1, clipnorm=0.5 + k),
        lambda k: mf.optimizers.Adam(
            mf.schedules.ExponentialDecay(1e-2, decay_steps=5, decay_rate=0.5 + 0.1 * k),
            clipvalue=0.05,
        ),
    ],
)
def test_every_optimizer_with_differing_hyperparameters(optimizer):
    assert_as_alone(lambda k: model(k, optimizer(k)))


def test_rows_weighed_per_model_and_dropout_masks_of_each_model():
    weights = RNG.uniform(0, 2, (4, len(X)))
    weights[:, :30] = 0
    assert_as_alone(lambda k: model(k, dropout=0.25), sample_weight=weights)
    assert_as_alone(lambda k: model(k), sample_weight=weights[0])


def test_classifiers_metrics_and_validation():
    assert_as_alone(
        lambda k: model(
            k, outputs=3, last="softmax", loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        ),
        y=LABELS,
        validation_data=(X[:50], LABELS[:50]),
        batch_size=20,
    )  # fmt: skip


def test_float32_and_no_shuffle():
    together = [model(k, dtype="float32") for k in range(3)]
    alone = [model(k, dtype="float32") for k in range(3)]
    mf.fit_many(together, X, Y, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(together, alone):
        b.fit(X, Y, epochs=2, shuffle=False, verbose=0)
        weights = b.get_weights()
        for k, (left, right) in enumerate(zip(a.get_weights(), weights)):
            assert left.dtype == np.float32
            # a bias on its kernel's scale: the output bias is a near-cancelling sum of steps
            scale = np.abs(weights[k - 1 if left.ndim == 1 else k]).max()
            assert np.abs(left - right).max() <= 1e-5 * scale


@pytest.mark.skipif(not importlib.util.find_spec("numba"), reason="numba is not installed")
def test_compiled_models_end_as_their_own_compiled_fits():
    assert_as_alone(lambda k: model(k, mf.optimizers.Adam(1e-2 * (k + 1)), jit_compile=True))


@pytest.mark.parametrize(
    "second, named",
    [
        (lambda: model(1, hidden="relu"), "layers"),
        (lambda: model(1, dtype="float32"), "dtype"),
        (lambda: model(1, loss="mae"), "loss"),
        (lambda: model(1, mf.optimizers.SGD(0.1)), "optimizer SGD"),
        (lambda: model(1, mf.optimizers.Adam(1e-3), outputs=2), "layers"),
    ],
)
def test_models_that_cannot_be_stacked_are_refused_naming_the_difference(second, named):
    first, other = model(0), second()
    before = [m.get_weights() for m in (first, other)]
    y = np.hstack([Y, Y]) if other.layers[-1].units == 2 else Y
    with pytest.raises(ValueError, match=named):
        mf.fit_many([first, other], X, y, verbose=0)
    for m, weights in zip((first, other), before):
        for a, b in zip(m.get_weights(), weights):
            np.testing.assert_array_equal(a, b)
    assert first.optimizer.iterations == other.optimizer.iterations == 0


def test_other_refusals():
    with pytest.raises(ValueError, match="at least one"):
        mf.fit_many([], X, Y)
    m = model(0)
    with pytest.raises(ValueError, match="same object"):
        mf.fit_many([m, m], X, Y, verbose=0)
    momentum, plain = model(0, mf.optimizers.SGD(0.1, momentum=0.9)), model(1, "sgd")
    with pytest.raises(ValueError, match="optimizer state"):
        mf.fit_many([momentum, plain], X, Y, verbose=0)
    nesterov = model(1, mf.optimizers.SGD(0.1, momentum=0.9, nesterov=True))
    with pytest.raises(ValueError, match="switches.*nesterov"):
        mf.fit_many([momentum, nesterov], X, Y, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight.*\(2, 300\)"):
        mf.fit_many([model(0), model(1)], X, Y, sample_weight=np.ones((3, 300)), verbose=0)
    uncompiled = mf.Sequential([mf.layers.Dense(1, input_shape=(6,))])
    with pytest.raises(ValueError, match="not compiled"):
        mf.fit_many([uncompiled], X, Y)


def test_a_non_finite_step_names_the_model_and_leaves_every_model_as_before_it():
    together = [model(k, mf.optimizers.SGD(1e-3)) for k in range(3)]
    mf.fit_many(together, X, Y, epochs=1, verbose=0)
    before = [m.get_weights() for m in together]
    huge = Y * 1e300
    with pytest.raises(mf.errors.NonFiniteError, match=r"model 0.*epoch 1, batch 1"):
        mf.fit_many(together, X, huge, epochs=1, verbose=0)
    for m, weights in zip(together, before):
        for a, b in zip(m.get_weights(), weights):
            np.testing.assert_array_equal(a, b)


def test_ctrl_c_ends_fit_many_after_a_whole_step():
    import os
    import signal
    import threading

    big = np.repeat(X, 200, axis=0)
    together = [model(k) for k in range(3)]
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            mf.fit_many(together, big, np.repeat(Y, 200, axis=0), epochs=50, verbose=0)
    finally:
        timer.cancel()
    steps = {m.optimizer.iterations for m in together}
    assert len(steps) == 1 and steps.pop() > 0
    assert all(np.isfinite(w).all() for m in together for w in m.get_weights())


@pytest.mark.parametrize("first", ["lstm", "conv"])
def test_models_the_stack_does_not_hold_are_trained_one_after_another(first):
    """Recurrent or convolutional models: each by its own fit, with the same results."""
    rng = np.random.default_rng(1)
    if first == "lstm":
        X, y = rng.normal(size=(64, 5, 2)), rng.normal(size=64)

        def make(seed):
            layers = [mf.layers.LSTM(3, input_shape=(5, 2)), mf.layers.Dense(1)]
            return mf.Sequential(layers, dtype="float64", seed=seed)

    else:
        X, y = rng.normal(size=(64, 5, 5, 1)), rng.normal(size=64)

        def make(seed):
            layers = [mf.layers.Conv2D(2, 3, input_shape=(5, 5, 1)), mf.layers.Flatten(),
                      mf.layers.Dense(1)]  # fmt: skip
            return mf.Sequential(layers, dtype="float64", seed=seed)

    together, alone = [make(k) for k in range(3)], [make(k) for k in range(3)]
    for k, model in enumerate(together + alone):
        model.compile(mf.optimizers.Adam(0.01 * (1 + k % 3)), "mse")
    histories = mf.fit_many(together, X, y, epochs=2, batch_size=16, verbose=0)
    for a, b, history in zip(together, alone, histories):
        own = b.fit(X, y, epochs=2, batch_size=16, verbose=0)
        assert history.history["loss"] == own.history["loss"]
        for left, right in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(left, right)
    ours = make(0)
    ours.compile("adam", "mse")
    with pytest.raises(ValueError, match="layers"):
        mf.fit_many([ours, model_of_another_architecture()], X, y, verbose=0)


def model_of_another_architecture():
    model = mf.Sequential([mf.layers.Flatten(), mf.layers.Dense(1)], dtype="float64")
    model.compile("adam", "mse")
    return model
