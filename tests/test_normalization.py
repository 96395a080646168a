"""BatchNormalization, LayerNormalization, Normalization, Dropout and Flatten."""

from __future__ import annotations

import numpy as np
import pytest
from support import small_regression

import minifw as mf
from minifw.layers import BatchNormalization, Dropout, Flatten, LayerNormalization, Normalization


@pytest.mark.parametrize(
    "make",
    [
        BatchNormalization,
        lambda: BatchNormalization(center=False),
        lambda: BatchNormalization(scale=False),
        LayerNormalization,
        lambda: LayerNormalization(epsilon=1e-5),
        Flatten,
    ],
    ids=["BN", "BN no beta", "BN no gamma", "LN", "LN eps", "Flatten"],
)
def test_gradcheck_passes_in_training_mode(make, rng):
    layer = make()
    errors = mf.gradcheck(layer, rng.normal(size=(6, 4)) * 2 + 1)
    assert max(errors.values()) < 1e-6


def test_batchnorm_uses_batch_statistics_in_training_and_moving_ones_in_inference(rng):
    layer = BatchNormalization(momentum=0.5)
    x = rng.normal(size=(8, 3)) * 3 + 5
    out = layer(x, training=True)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-3))
    # moving ← 0.5 · moving + 0.5 · batch, from 0 and 1, with the biased variance
    np.testing.assert_allclose(layer.state["moving_mean"], 0.5 * x.mean(axis=0))
    np.testing.assert_allclose(layer.state["moving_variance"], 0.5 + 0.5 * x.var(axis=0))
    inference = layer(x, training=False)
    expected = (x - layer.state["moving_mean"]) / np.sqrt(layer.state["moving_variance"] + 1e-3)
    np.testing.assert_allclose(inference, expected)


def test_batchnorm_inference_gradient_treats_moving_statistics_as_constants(rng):
    layer = BatchNormalization()
    x = rng.normal(size=(5, 3))
    layer(x, training=True)
    G = rng.normal(size=(5, 3))
    layer.forward(x, training=False)
    expected = G * layer.params["gamma"] / np.sqrt(layer.state["moving_variance"] + 1e-3)
    np.testing.assert_allclose(layer.backward(G), expected)


def test_batchnorm_with_all_equal_inputs_stays_finite():
    layer = BatchNormalization()
    x = np.full((4, 2), 7.0)
    out = layer(x, training=True)
    grad = layer.backward(np.ones_like(x))
    assert np.isfinite(out).all() and np.isfinite(grad).all()
    np.testing.assert_array_equal(out, 0.0)


def test_layernorm_standardizes_each_sample(rng):
    x = rng.normal(size=(4, 6)) * 4 - 2
    out = LayerNormalization(epsilon=1e-12)(x)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1, rtol=1e-9)


def test_a_model_with_batchnorm_predicts_differently_from_how_it_trains(rng):
    X, y = small_regression(rng, n=32)
    model = mf.Sequential(
        [mf.layers.Dense(8), BatchNormalization(), mf.layers.ReLU(), mf.layers.Dense(1)],
        dtype="float64",
        seed=0,
    )
    model.compile("adam", "mse")
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    train_mode = model.plan.outputs(X, True)
    assert not np.allclose(train_mode, model.predict(X))
    assert model.count_params() == 4 * 8 + 4 * 8 + 8 + 1 - 1 * 0  # W, b, γ, β, μ, σ², W, b
    assert [name.split("/")[1] for name in model.weight_names[2:6]] == [
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ]
    summary = model.summary()
    assert "Non-trainable params: 16" in summary


def test_gradients_does_not_move_the_moving_statistics(rng):
    X, y = small_regression(rng)
    model = mf.Sequential(
        [mf.layers.Dense(4), BatchNormalization(), mf.layers.Dense(1)], dtype="float64", seed=0
    )
    model.compile("sgd", "mse")
    model.build((None, 3))
    before = model.get_weights()
    _, grads = model.gradients(X, y)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert (grads[4] == 0).all() and (grads[5] == 0).all()  # moving statistics get zeros
    errors = mf.gradcheck(model, X, y)
    assert max(errors.values()) < 1e-6 and "batch_normalization_1/moving_mean" not in errors


def test_normalization_adapts_to_the_data_and_fixes_raw_iq_values(salary):
    X, y = salary
    layer = Normalization()
    layer.adapt(X)
    out = layer(X)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1)
    model = mf.Sequential([layer, mf.layers.Dense(2), mf.layers.Dense(1)], dtype="float64", seed=0)
    model.compile(mf.optimizers.SGD(1e-3), "mse")
    history = model.fit(X, y, epochs=100, batch_size=1, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < 3.0  # the raw-feature run is still near 27 after 1000
    assert model.count_params() == 4 + 6 + 3


def test_normalization_refuses_use_before_adapt_and_mismatched_features():
    with pytest.raises(ValueError, match=r"call layer.adapt\(X\)"):
        Normalization()(np.ones((2, 3)))
    layer = Normalization(mean=[0.0, 1.0], variance=[1.0, 4.0])
    np.testing.assert_allclose(layer(np.array([[1.0, 3.0]])), [[1.0, 1.0]])
    with pytest.raises(ValueError, match="adapt received 3"):
        layer.adapt(np.ones((2, 3)))
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        Normalization(mean=[0.0])


def test_dropout_is_inverted_in_training_and_the_identity_in_inference(rng):
    layer = Dropout(0.25)
    layer.build((None, 1000), np.random.default_rng(0), "float64")
    x = np.ones((20, 1000))
    out = layer.forward(x, training=True)
    assert set(np.unique(out)) == {0.0, 1 / 0.75}
    assert abs((out == 0).mean() - 0.25) < 0.01
    G = rng.normal(size=x.shape)
    np.testing.assert_array_equal(layer.backward(G), G * out)  # the same mask and scale
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_identical_seeds_give_identical_dropout_masks_and_fit_differs_from_predict(rng):
    X, y = small_regression(rng, n=16)
    runs = []
    for _ in range(2):
        model = mf.Sequential(
            [mf.layers.Dense(16, activation="relu"), Dropout(0.5), mf.layers.Dense(1)],
            dtype="float64",
            seed=11,
        )
        model.compile("sgd", "mse")
        model.fit(X, y, epochs=2, batch_size=4, verbose=0)
        runs.append(model.get_weights())
        np.testing.assert_array_equal(model.predict(X), model.predict(X))
        assert not np.allclose(model.plan.outputs(X, True), model.predict(X))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_dropout_refuses_rates_outside_zero_to_one():
    for rate in (-0.1, 1.0, "0.5"):
        with pytest.raises(ValueError, match=r"`rate` must be a number in \[0, 1\)"):
            Dropout(rate)


def test_flatten_turns_images_into_feature_vectors(rng):
    images = rng.normal(size=(5, 4, 3))
    model = mf.Sequential([Flatten(input_shape=(4, 3)), mf.layers.Dense(2)], seed=0)
    assert model.output_shape == (None, 2) and model.layers[0].output_shape == (None, 12)
    assert model.predict(images).shape == (5, 2)
    layer = Flatten()
    out = layer(images)
    assert out.shape == (5, 12)
    assert layer.backward(np.ones_like(out)).shape == (5, 4, 3)
