"""Losses: the written formula, its gradient, and shape strictness."""

from __future__ import annotations

import numpy as np
import pytest

from minifw import losses
from minifw.gradcheck import numeric_gradient


def test_mse_is_the_plain_mean_with_no_half():
    y_true = np.array([[1.0, 2.0], [3.0, 4.0]])
    y_pred = np.array([[2.0, 2.0], [3.0, 6.0]])
    assert losses.MSELoss()(y_true, y_pred) == (1 + 0 + 0 + 4) / 4
    assert losses.MSELoss(reduction="sum")(y_true, y_pred) == 5.0


def test_mse_gradient_is_minus_two_times_the_error_over_n_k():
    y_true = np.array([[40.0]])
    y_pred = np.array([[127.0]])
    assert losses.MSELoss().backward(y_true, y_pred).tolist() == [[174.0]]  # −2(y − ŷ)
    y_true, y_pred = np.zeros((2, 2)), np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(losses.MSELoss().backward(y_true, y_pred), 2 * y_pred / 4)
    np.testing.assert_array_equal(
        losses.MSELoss(reduction="sum").backward(y_true, y_pred), 2 * y_pred
    )


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_gradient_matches_numeric(reduction, rng):
    loss = losses.MSELoss(reduction=reduction)
    y_true, y_pred = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    numeric = numeric_gradient(lambda: loss(y_true, y_pred), y_pred)
    np.testing.assert_allclose(loss.backward(y_true, y_pred), numeric, rtol=1e-6, atol=1e-8)


def test_mse_never_broadcasts_n_against_n_by_1():
    with pytest.raises(
        ValueError, match=r"same shape. Received: \(4,\) and \(4, 1\). Try y.reshape"
    ):
        losses.MSELoss()(np.zeros(4), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="same shape"):
        losses.MSELoss().backward(np.zeros((4, 1)), np.zeros((1, 4)))


def test_targets_turn_a_vector_into_one_column_and_refuse_other_widths():
    loss = losses.MSELoss()
    assert loss.targets(np.arange(3.0), 1, np.float32).shape == (3, 1)
    with pytest.raises(ValueError, match=r"y has 2 columns .* the model has 1 output"):
        loss.targets(np.zeros((3, 2)), 1, np.float64)
    with pytest.raises(ValueError, match="the model has 2 outputs"):
        loss.targets(np.zeros(3), 2, np.float64)


def test_loss_names_resolve_and_unknown_ones_list_the_valid_names():
    assert isinstance(losses.get("mse"), losses.MSELoss)
    assert isinstance(losses.get("Mean_Squared_Error"), losses.MSELoss)
    with pytest.raises(ValueError, match="Unknown loss 'msee'. Expected one of: .*'mse'"):
        losses.get("msee")
    with pytest.raises(ValueError, match="reduction"):
        losses.MSELoss(reduction="none")
