"""The same layer code on batches: batched gradients are the mean of per-row gradients."""

from __future__ import annotations

import numpy as np
import pytest
from support import small_regression

import minifw as mf


def deep_model(activation: str, outputs: int = 1) -> mf.Sequential:
    model = mf.Sequential(
        [
            mf.layers.Dense(5, input_dim=3, activation=activation),
            mf.layers.Dense(4),
            mf.layers.Tanh(),
            mf.layers.Dense(3, activation=activation),
            mf.layers.Dense(outputs),
        ],
        dtype="float64",
        seed=7,
    )
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("outputs", [1, 2])
def test_batched_gradients_equal_the_mean_of_per_row_gradients(activation, outputs, rng):
    model = deep_model(activation, outputs)
    X, y = small_regression(rng, n=9, outputs=outputs)
    batch_loss, batch_grads = model.gradients(X, y)
    per_row = [model.gradients(X[i : i + 1], y[i : i + 1]) for i in range(len(X))]
    assert batch_loss == pytest.approx(np.mean([loss for loss, _ in per_row]), rel=1e-12)
    for k, grad in enumerate(batch_grads):
        mean = np.mean([grads[k] for _, grads in per_row], axis=0)
        np.testing.assert_allclose(grad, mean, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh"])
def test_gradcheck_passes_for_networks_deeper_than_2_2_1(activation, rng):
    model = deep_model(activation, outputs=2)
    X, y = small_regression(rng, n=6, outputs=2)
    errors = mf.gradcheck(model, X, y)
    assert list(errors) == model.weight_names
    assert max(errors.values()) < 1e-6


def test_gradcheck_on_a_float32_model_checks_a_float64_copy_and_changes_nothing(rng):
    model = mf.Sequential([mf.layers.Dense(4, activation="tanh"), mf.layers.Dense(1)], seed=0)
    X, y = small_regression(rng, n=5)
    model.build((None, 3))
    before = model.get_weights()
    errors = mf.gradcheck(model, X, y)
    assert max(errors.values()) < 1e-6
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
