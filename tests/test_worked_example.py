"""The lecture's 2-2-1 example, number by number."""

from __future__ import annotations

import numpy as np
import pytest
from support import lecture_model

import minifw as mf

# Row 1 of the table: IQ 60, GPA 3.5, Salary 40.
X1, Y1 = np.array([[60.0, 3.5]]), np.array([40.0])


def test_forward_on_row_1_gives_the_lectures_values(worked_221):
    hidden = worked_221.layers[1](worked_221.layers[0](X1))
    # o_11 = w^1_11 x_i1 + w^1_21 x_i2 + b_11 = 60 + 3.5 + 0
    assert hidden.tolist() == [[63.5, 63.5]]
    # ŷ = w^2_11 o_11 + w^2_21 o_12 + b_21 = 63.5 + 63.5
    assert worked_221.predict(X1).tolist() == [[127.0]]


def test_gradients_on_row_1_are_the_lectures_numbers(worked_221):
    loss, (dW1, db1, dW2, db2) = worked_221.gradients(X1, Y1)
    assert loss == 7569.0  # (40 − 127)²
    # ∂L/∂w^2_11 = ∂L/∂w^2_21 = −2(y − ŷ) o_11 = 174 · 63.5
    assert dW2.tolist() == [[11049.0], [11049.0]]
    assert db2.tolist() == [174.0]  # ∂L/∂b_21 = −2(y − ŷ) = 174
    # ∂L/∂w^1_11 = ∂L/∂w^1_12 = 174 · 1 · 60 ; ∂L/∂w^1_21 = ∂L/∂w^1_22 = 174 · 1 · 3.5
    assert dW1.tolist() == [[10440.0, 10440.0], [609.0, 609.0]]
    assert db1.tolist() == [174.0, 174.0]  # ∂L/∂b_11 = ∂L/∂b_12 = 174 · 1


def test_explain_on_row_1_holds_every_value_and_factor(worked_221):
    X, y = mf.datasets.salary()
    step = mf.explain(worked_221, X[0], y[0])
    assert step.values["o_11"].tolist() == [63.5] and step.values["o_12"].tolist() == [63.5]
    assert step.values["y_hat"].tolist() == [127.0]
    assert step.loss == 7569.0
    expected = {
        "∂L/∂y_hat": 174.0,
        "∂L/∂w^2_11": 11049.0,
        "∂L/∂w^2_21": 11049.0,
        "∂L/∂b_21": 174.0,
        "∂L/∂w^1_11": 10440.0,
        "∂L/∂w^1_12": 10440.0,
        "∂L/∂w^1_21": 609.0,
        "∂L/∂w^1_22": 609.0,
        "∂L/∂b_11": 174.0,
        "∂L/∂b_12": 174.0,
    }
    assert {key: step.derivatives[key].value for key in expected} == expected
    chain = step.derivatives["∂L/∂w^1_21"].factors
    assert [(f.symbol, f.value.tolist()) for f in chain] == [
        ("∂L/∂y_hat", [174.0]),
        ("∂y_hat/∂o_11", [1.0]),
        ("∂o_11/∂w^1_21", [3.5]),
    ]
    text = str(step)
    assert "o_11 = w^1_11·x_i1 + w^1_21·x_i2 + b_11 = 1·60 + 1·3.5 + 0 = 63.5" in text
    assert "L = (y − y_hat)² = (40 − 127)² = 7569" in text
    assert "∂L/∂w^2_11 = ∂L/∂y_hat · ∂y_hat/∂w^2_11 = 174 · 63.5 = 11049" in text
    assert "∂L/∂w^1_11 = ∂L/∂y_hat · ∂y_hat/∂o_11 · ∂o_11/∂w^1_11 = 174 · 1 · 60 = 10440" in text
    assert "w^1_11 ← w^1_11 − η · ∂L/∂w^1_11 = 1 − 1e-05 · 10440 = 0.8956" in text


def test_one_update_on_row_1_is_w_minus_eta_times_gradient(worked_221):
    loss = worked_221.train_on_batch(X1, Y1)
    assert loss == 7569.0  # the loss before the update
    W1, b1, W2, b2 = worked_221.get_weights()
    assert W1 == pytest.approx(np.array([[1 - 1e-5 * 10440] * 2, [1 - 1e-5 * 609] * 2]), abs=1e-15)
    assert b1 == pytest.approx([-1e-5 * 174] * 2, abs=1e-15)
    assert W2 == pytest.approx(np.array([[1 - 1e-5 * 11049]] * 2), abs=1e-15)
    assert b2 == pytest.approx([-1e-5 * 174], abs=1e-15)


def test_explain_leaves_the_model_alone_unless_asked_to_apply(worked_221):
    X, y = mf.datasets.salary()
    before = worked_221.get_weights()
    step = mf.explain(worked_221, X[0], y[0])
    assert all(np.array_equal(a, b) for a, b in zip(before, worked_221.get_weights()))
    mf.explain(worked_221, X[0], y[0], apply=True)
    after_apply = worked_221.get_weights()
    reference = lecture_model()
    reference.train_on_batch(X[:1], y[:1])
    grads = step.grads
    for applied, trained, new, old, grad in zip(
        after_apply, reference.get_weights(), step.new_weights, before, grads, strict=True
    ):
        np.testing.assert_array_equal(applied, trained)  # the same training step, run twice
        np.testing.assert_array_equal(new, applied)  # what explain showed is what it applied
        # and it is the lecture's rule, to the round-off of one multiply-add
        np.testing.assert_allclose(new, old - 1e-5 * grad, rtol=1e-15, atol=1e-20)


def scalar_lecture(epochs: int, eta: float = 1e-5) -> list[float]:
    """The lecture's formulas in plain Python floats, row by row, as written in the notes.

    Returns [w^1_11, w^1_12, w^1_21, w^1_22, b_11, b_12, w^2_11, w^2_21, b_21].
    """
    rows = [(60.0, 3.5, 40.0), (80.0, 4.7, 60.0), (20.0, 3.0, 25.0), (90.0, 3.0, 50.0)]
    w1_11 = w1_12 = w1_21 = w1_22 = w2_11 = w2_21 = 1.0
    b_11 = b_12 = b_21 = 0.0
    for _ in range(epochs):
        for x_i1, x_i2, y in rows:
            o_11 = w1_11 * x_i1 + w1_21 * x_i2 + b_11
            o_12 = w1_12 * x_i1 + w1_22 * x_i2 + b_12
            y_hat = w2_11 * o_11 + w2_21 * o_12 + b_21
            dL_dy = -2 * (y - y_hat)
            grads = [
                dL_dy * w2_11 * x_i1,
                dL_dy * w2_21 * x_i1,  # ∂L/∂w^1_11, ∂L/∂w^1_12
                dL_dy * w2_11 * x_i2,
                dL_dy * w2_21 * x_i2,  # ∂L/∂w^1_21, ∂L/∂w^1_22
                dL_dy * w2_11,
                dL_dy * w2_21,  # ∂L/∂b_11, ∂L/∂b_12
                dL_dy * o_11,
                dL_dy * o_12,
                dL_dy,  # ∂L/∂w^2_11, ∂L/∂w^2_21, ∂L/∂b_21
            ]
            old = [w1_11, w1_12, w1_21, w1_22, b_11, b_12, w2_11, w2_21, b_21]
            (w1_11, w1_12, w1_21, w1_22, b_11, b_12, w2_11, w2_21, b_21) = [
                w - eta * g for w, g in zip(old, grads)
            ]
    return [w1_11, w1_12, w1_21, w1_22, b_11, b_12, w2_11, w2_21, b_21]


@pytest.mark.parametrize("epochs", [1, 10, 1000])
def test_fit_row_by_row_matches_the_scalar_formulas(epochs):
    X, y = mf.datasets.salary()
    model = lecture_model()
    model.fit(X, y, epochs=epochs, batch_size=1, shuffle=False, verbose=0)
    W1, b1, W2, b2 = model.get_weights()
    ours = [*W1.ravel(), *b1, *W2.ravel(), *b2]
    np.testing.assert_allclose(ours, scalar_lecture(epochs), rtol=1e-12, atol=0)


def test_first_epochs_loss_is_the_mean_of_the_four_row_losses():
    X, y = mf.datasets.salary()
    model = lecture_model()
    per_row = [model.train_on_batch(X[i : i + 1], y[i : i + 1]) for i in range(4)]
    history = lecture_model().fit(X, y, epochs=1, batch_size=1, shuffle=False, verbose=0)
    assert per_row[0] == 7569.0
    assert history.history["loss"] == [pytest.approx(sum(per_row) / 4, rel=1e-15)]
