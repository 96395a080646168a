"""gradcheck must fail on a wrong gradient, not only pass on right ones."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw.layers import Tanh
from minifw.teaching.gradcheck import numeric_gradient, relative_error, round_off_noise


class WrongTanh(Tanh):
    """tanh with the derivative of the wrong sign: a bug gradcheck must catch."""

    def derivative(self, x, out):
        return out * out - 1


class WrongWeightGradient(mf.layers.Dense):
    """Dense whose ∂L/∂W is off by a factor of 2."""

    def backward(self, grad_out):
        grad_in = super().backward(grad_out)
        self.grads["W"] *= 2
        return grad_in


def test_gradcheck_catches_a_wrong_activation_derivative(rng):
    errors = mf.gradcheck(WrongTanh(), rng.normal(size=(4, 3)))
    assert errors["input"] > 0.5


def test_gradcheck_catches_a_wrong_weight_gradient_inside_a_model(rng):
    model = mf.Sequential(
        [WrongWeightGradient(3, input_dim=2), mf.layers.Dense(1)], dtype="float64", seed=0
    )
    model.compile("sgd", "mse")
    errors = mf.gradcheck(model, rng.normal(size=(5, 2)), rng.normal(size=5))
    assert errors["wrong_weight_gradient_1/W"] > 0.3
    assert errors["dense_1/W"] < 1e-7


def test_numeric_gradient_of_a_quadratic_is_exact_enough_and_restores_the_input():
    x = np.array([1.0, -2.0, 3.0])
    before = x.copy()
    grad = numeric_gradient(lambda: float(np.sum(x**2)), x)
    np.testing.assert_allclose(grad, 2 * before, rtol=1e-9)
    np.testing.assert_array_equal(x, before)


def test_relative_error_is_zero_for_equal_arrays_and_large_for_wrong_ones():
    assert relative_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert relative_error([0.0], [0.0]) == 0.0
    assert relative_error([3.0, 4.0], [-3.0, -4.0]) == 2.0  # wrong sign
    assert relative_error([2.0, 4.0], [1.0, 2.0]) == 0.5  # wrong factor of 2
    assert relative_error([1e-17], [1e-11], noise=1e-8) == 0.0  # both zero up to round-off
    assert relative_error([2e-6], [1e-6], noise=1e-8) > 0.49  # a wrong factor above the noise


def test_an_exactly_zero_gradient_scores_zero_whatever_the_noise_of_the_numeric_one(rng):
    """A bias before BatchNormalization has ∂L/∂b = 0 exactly; its central difference is
    round-off only, which depends on the BLAS kernel, and must never count as an error."""
    X, y = rng.normal(size=(6, 3)), rng.normal(size=6)
    model = mf.Sequential(
        [mf.layers.Dense(4), mf.layers.BatchNormalization(), mf.layers.Dense(1)],
        dtype="float64",
        seed=0,
    )
    model.compile("sgd", "mse")
    errors = mf.gradcheck(model, X, y)
    assert errors["dense_1/b"] == 0.0
    assert max(errors.values()) < 1e-6


def test_the_round_off_bound_scales_with_the_loss_epsilon_and_size():
    assert round_off_noise(1.0, 1e-6, 1) == pytest.approx(2.22e-8, rel=1e-2)
    assert round_off_noise(100.0, 1e-6, 4) == pytest.approx(200 * round_off_noise(1.0, 1e-6, 1))
    assert round_off_noise(0.5, 1e-3, 1) == pytest.approx(round_off_noise(1.0, 1e-6, 1) / 1e3)


def test_gradcheck_refuses_other_objects_and_models_without_targets(rng):
    with pytest.raises(TypeError, match="expects a Sequential or a Layer"):
        mf.gradcheck("dense", np.ones((2, 2)))
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)])
    with pytest.raises(ValueError, match="needs targets y"):
        mf.gradcheck(model, np.ones((2, 2)))


def test_gradcheck_replays_dropout_masks_and_checks_float32_layers_in_float64(rng):
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    model = mf.Sequential(
        [mf.layers.Dense(6, activation="tanh"), mf.layers.Dropout(0.5), mf.layers.Dense(1)], seed=0
    )
    model.compile("sgd", "mse")
    assert max(mf.gradcheck(model, X, y).values()) < 1e-6
    assert max(mf.gradcheck(mf.layers.Dropout(0.3), X).values()) < 1e-6
    built32 = mf.layers.Dense(4, activation="sigmoid")
    built32.build((None, 3), np.random.default_rng(0), "float32")
    assert max(mf.gradcheck(built32, X).values()) < 1e-6
