"""Weight penalties: value, gradient, and their place in the model's loss."""

from __future__ import annotations

import numpy as np
import pytest
from support import small_regression

import minifw as mf
from minifw import regularizers
from minifw.teaching.gradcheck import numeric_gradient

REGULARIZERS = [regularizers.L1(0.1), regularizers.L2(0.05), regularizers.L1L2(0.02, 0.03)]


@pytest.mark.parametrize("regularizer", REGULARIZERS, ids=repr)
def test_penalty_and_gradient_follow_the_written_formula(regularizer, rng):
    w = rng.normal(size=(4, 3))
    expected = regularizer.l1 * np.abs(w).sum() + regularizer.l2 * (w**2).sum()
    assert regularizer.penalty(w) == pytest.approx(expected, rel=1e-13)
    numeric = numeric_gradient(lambda: regularizer.penalty(w), w)
    np.testing.assert_allclose(regularizer.gradient(w), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("regularizer", REGULARIZERS, ids=repr)
def test_the_model_adds_penalties_to_loss_and_gradient(regularizer, rng):
    X, y = small_regression(rng, n=8)

    def model_with(kernel, bias):
        model = mf.Sequential(
            [
                mf.layers.Dense(
                    4, activation="tanh", kernel_regularizer=kernel, bias_regularizer=bias
                ),
                mf.layers.Dense(1),
            ],
            dtype="float64",
            seed=4,
        )
        model.compile("sgd", "mse")
        return model

    plain, penalized = model_with(None, None), model_with(regularizer, regularizer)
    loss, grads = plain.gradients(X, y)
    penalized_loss, penalized_grads = penalized.gradients(X, y)
    W, b = penalized.get_weights()[:2]
    assert penalized_loss == pytest.approx(
        loss + regularizer.penalty(W) + regularizer.penalty(b), rel=1e-12
    )
    np.testing.assert_allclose(penalized_grads[0], grads[0] + regularizer.gradient(W), rtol=1e-12)
    np.testing.assert_allclose(penalized_grads[1], grads[1] + regularizer.gradient(b), rtol=1e-12)
    assert penalized.evaluate(X, y) == pytest.approx(penalized_loss, rel=1e-12)
    assert max(mf.gradcheck(penalized, X, y).values()) < 1e-6


def test_regularizer_names_and_configs():
    assert type(regularizers.get("l2")) is regularizers.L2
    dense = mf.layers.Dense(2, kernel_regularizer=regularizers.L1L2(0.1, 0.2))
    rebuilt = mf.layers.deserialize(mf.layers.serialize(dense))
    assert rebuilt.kernel_regularizer.get_config() == {"l1": 0.1, "l2": 0.2}
    with pytest.raises(ValueError, match="Unknown regularizer 'l3'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="`l2` must be a non-negative finite number"):
        regularizers.L2(-1.0)
