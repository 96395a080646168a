"""Optimizers, checked step by step against their written formulas."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw import optimizers


def test_sgd_moves_by_minus_eta_times_gradient():
    w, g = np.array([1.0, -2.0]), np.array([1.0, 0.5])
    optimizers.SGD(learning_rate=0.5).apply_gradients(w, g)
    assert w.tolist() == [0.5, -2.25]  # w − η g with η = 0.5


def test_sgd_through_train_on_batch_matches_the_formula_for_three_steps(rng):
    model = mf.Sequential(
        [mf.layers.Dense(2, input_dim=3, activation="tanh"), mf.layers.Dense(1)],
        dtype="float64",
        seed=1,
    )
    model.compile(optimizers.SGD(learning_rate=0.25), "mse")
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    for _ in range(3):
        before = model.get_weights()
        _, grads = model.gradients(X, y)
        model.train_on_batch(X, y)
        for w_old, g, w_new in zip(before, grads, model.get_weights()):
            np.testing.assert_array_equal(w_new, w_old - 0.25 * g)
    assert model.optimizer.iterations == 3


def test_clipvalue_clips_each_entry():
    w, g = np.zeros(3), np.array([-5.0, 0.5, 5.0])
    optimizers.SGD(learning_rate=1.0, clipvalue=1.0).apply_gradients(w, g)
    assert w.tolist() == [1.0, -0.5, -1.0]


def test_clipnorm_rescales_each_parameter_array_on_its_own():
    w = np.zeros(4)
    g = np.array([3.0, 4.0, 0.3, 0.4])  # two arrays: norms 5 and 0.5
    optimizers.SGD(learning_rate=1.0, clipnorm=1.0).apply_gradients(
        w, g, [slice(0, 2), slice(2, 4)]
    )
    np.testing.assert_allclose(w, [-0.6, -0.8, -0.3, -0.4])


@pytest.mark.parametrize("learning_rate", [0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_learning_rate_must_be_a_positive_finite_number(learning_rate):
    with pytest.raises(ValueError, match="`learning_rate` must be a positive finite number"):
        optimizers.SGD(learning_rate=learning_rate)


def test_an_optimizer_refuses_a_second_model_of_another_size():
    sgd = optimizers.SGD(learning_rate=0.1)
    sgd.apply_gradients(np.zeros(3), np.zeros(3))
    assert sgd.iterations == 1
    # plain SGD keeps no state, so a size change is harmless; mismatched arrays are not
    with pytest.raises(ValueError, match="flat vectors of the same length"):
        sgd.apply_gradients(np.zeros(3), np.zeros(2))


def test_optimizer_names_resolve_and_unknown_ones_list_the_valid_names():
    assert isinstance(optimizers.get("SGD"), optimizers.SGD)
    with pytest.raises(ValueError, match="Unknown optimizer 'sgdd'. Expected one of: .*'sgd'"):
        optimizers.get("sgdd")
    with pytest.raises(TypeError, match="optimizer name"):
        optimizers.get(0.1)
