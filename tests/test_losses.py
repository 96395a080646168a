"""Losses: the written formula, its gradient, and shape strictness."""

from __future__ import annotations

import numpy as np
import pytest

from minifw import losses
from minifw.teaching.gradcheck import numeric_gradient


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


# -- the whole catalogue ----------------------------------------------------------

LOSSES = [
    losses.MSELoss(),
    losses.MAELoss(),
    losses.HuberLoss(delta=0.7),
    losses.HuberLoss(reduction="sum"),
    losses.BinaryCrossEntropy(),
    losses.BinaryCrossEntropy(from_logits=True),
    losses.CategoricalCrossEntropy(),
    losses.CategoricalCrossEntropy(from_logits=True),
    losses.SparseCategoricalCrossEntropy(),
    losses.SparseCategoricalCrossEntropy(from_logits=True, reduction="sum"),
]


def sample(loss, rng, n=5, k=4):
    """Targets and predictions of the kind ``loss`` takes, away from kinks and clips."""
    if isinstance(loss, losses.SparseCategoricalCrossEntropy):
        y_true = rng.integers(0, k, size=n)
    elif isinstance(loss, losses.CategoricalCrossEntropy):
        y_true = np.eye(k)[rng.integers(0, k, size=n)]
    elif isinstance(loss, losses.BinaryCrossEntropy):
        y_true = rng.uniform(size=(n, k))
    else:
        y_true = rng.normal(size=(n, k))
    if getattr(loss, "from_logits", True) is False:
        y_pred = rng.uniform(0.05, 0.95, size=(n, k))
    else:
        y_pred = rng.normal(size=(n, k)) * 2
    return y_true, y_pred


def written_formula(loss, y_true, y_pred) -> float:
    """Each loss computed from its docstring, independently of the library."""
    n, k = y_pred.shape
    mean = loss.reduction == "mean"
    e = y_pred - y_true if y_true.shape == y_pred.shape else None
    if isinstance(loss, losses.MSELoss):
        total, count = np.sum(e**2), n * k
    elif isinstance(loss, losses.MAELoss):
        total, count = np.sum(np.abs(e)), n * k
    elif isinstance(loss, losses.HuberLoss):
        d = loss.delta
        total = np.sum(np.where(np.abs(e) <= d, 0.5 * e**2, d * (np.abs(e) - 0.5 * d)))
        count = n * k
    elif isinstance(loss, losses.BinaryCrossEntropy):
        p = 1 / (1 + np.exp(-y_pred)) if loss.from_logits else y_pred
        total, count = -np.sum(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)), n * k
    else:
        if loss.from_logits:
            p = np.exp(y_pred) / np.exp(y_pred).sum(axis=1, keepdims=True)
        else:
            p = y_pred
        onehot = np.eye(k)[y_true] if y_true.ndim == 1 else y_true
        total, count = -np.sum(onehot * np.log(p)), n
    return total / count if mean else total


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_loss_value_matches_the_written_formula(loss, rng):
    y_true, y_pred = sample(loss, rng)
    assert loss(y_true, y_pred) == pytest.approx(written_formula(loss, y_true, y_pred), rel=1e-12)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_loss_gradient_matches_numeric(loss, rng):
    y_true, y_pred = sample(loss, rng)
    numeric = numeric_gradient(lambda: loss(y_true, y_pred), y_pred)
    np.testing.assert_allclose(loss.backward(y_true, y_pred), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_float32_predictions_give_float32_gradients(loss, rng):
    y_true, y_pred = sample(loss, rng)
    assert loss.backward(y_true, y_pred.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "loss",
    [
        losses.BinaryCrossEntropy(from_logits=True),
        losses.CategoricalCrossEntropy(from_logits=True),
        losses.SparseCategoricalCrossEntropy(from_logits=True),
    ],
    ids=repr,
)
def test_from_logits_is_finite_and_right_at_plus_minus_1000(loss):
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    if isinstance(loss, losses.SparseCategoricalCrossEntropy):
        right, wrong = np.array([0, 1]), np.array([1, 0])
    else:
        right, wrong = np.eye(2), np.eye(2)[::-1]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert loss(right, logits) == 0.0
        # each wrong entry costs 1000: BCE averages over entries, the others sum over classes
        per_row = 1000.0 if isinstance(loss, losses.BinaryCrossEntropy) else 2000.0
        assert loss(wrong, logits) == pytest.approx(per_row)
        grad = loss.backward(wrong, logits)
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0


def test_probability_losses_clip_exact_zeros_and_ones_to_finite_values():
    bce = losses.BinaryCrossEntropy()
    y_true, y_pred = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    value = bce(y_true, y_pred)
    assert value == pytest.approx(-np.log(1e-7), rel=1e-6)  # both entries clipped to ε
    grad = bce.backward(y_true, y_pred)
    assert np.isfinite(grad).all() and (grad == 0).all()  # the clip's derivative is 0 there
    cce = losses.CategoricalCrossEntropy()
    assert cce(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])) == pytest.approx(-np.log(1e-7))
    assert bce(np.array([[1.0]]), np.array([[1.0]])) == pytest.approx(-np.log(1 - 1e-7))


def test_targets_outside_what_the_loss_takes_are_refused():
    with pytest.raises(
        ValueError,
        match=r"targets between 0 and 1 \(labels or probabilities\). Received values from -1 to 2",
    ):
        losses.BinaryCrossEntropy()(np.array([[-1.0], [2.0]]), np.full((2, 1), 0.5))
    scce = losses.SparseCategoricalCrossEntropy()
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\).* from 0 to 3"):
        scce.targets(np.array([0, 3]), 3, np.float32)
    with pytest.raises(ValueError, match="integer class labels"):
        scce.targets(np.array([0.5, 1.0]), 3, np.float32)
    with pytest.raises(ValueError, match=r"one integer label per sample"):
        scce.targets(np.zeros((2, 3)), 3, np.float32)
    with pytest.raises(ValueError, match="Use SparseCategoricalCrossEntropy for integer labels"):
        losses.CategoricalCrossEntropy().targets(np.array([0, 2]), 3, np.float32)
    assert scce.targets(np.array([[2.0], [0.0]]), 3, np.float32).tolist() == [2, 0]


def test_every_loss_has_names_and_rejects_bad_arguments():
    for name, cls in [
        ("huber", losses.HuberLoss),
        ("binary_crossentropy", losses.BinaryCrossEntropy),
        ("categorical_crossentropy", losses.CategoricalCrossEntropy),
        ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossEntropy),
        ("mae", losses.MAELoss),
    ]:
        assert type(losses.get(name)) is cls
    with pytest.raises(ValueError, match="`delta` must be a positive finite number"):
        losses.HuberLoss(delta=0)
    with pytest.raises(TypeError, match="`from_logits` must be True or False"):
        losses.BinaryCrossEntropy(from_logits=1)


def every_loss():
    """Every built-in loss in each of its forms, with targets it takes and predictions."""
    forms = [
        (losses.MSELoss, {}, "values"),
        (losses.HalfSquaredError, {}, "values"),
        (losses.Poisson, {}, "rates"),
        (losses.MAELoss, {}, "values"),
        (losses.HuberLoss, {"delta": 0.7}, "values"),
        (losses.BinaryCrossEntropy, {}, "probabilities"),
        (losses.BinaryCrossEntropy, {"from_logits": True}, "logits"),
        (losses.CategoricalCrossEntropy, {}, "distribution"),
        (losses.CategoricalCrossEntropy, {"from_logits": True}, "logits"),
        (losses.SparseCategoricalCrossEntropy, {}, "distribution"),
        (losses.SparseCategoricalCrossEntropy, {"from_logits": True}, "logits"),
    ]
    return [
        pytest.param(cls, {**options, "reduction": reduction}, kind, id=f"{cls.__name__}-"
                     f"{'logits' if options.get('from_logits') else kind}-{reduction}")
        for cls, options, kind in forms
        for reduction in ("mean", "sum")
    ]


def pair(cls, kind, rng, n=7, k=3):
    logits = rng.normal(size=(n, k))
    predictions = {
        "values": logits,
        "logits": logits,
        "probabilities": 1 / (1 + np.exp(-logits)),
        "rates": np.exp(logits),
        "distribution": np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True),
    }[kind]
    if cls is losses.SparseCategoricalCrossEntropy:
        return rng.integers(0, k, size=n), predictions
    if cls is losses.CategoricalCrossEntropy:
        return np.eye(k)[rng.integers(0, k, size=n)], predictions
    if cls is losses.BinaryCrossEntropy:
        return rng.integers(0, 2, size=(n, k)).astype(float), predictions
    if cls is losses.Poisson:
        return rng.poisson(2.0, size=(n, k)).astype(float), predictions
    return rng.normal(size=(n, k)), predictions


@pytest.mark.parametrize(("cls", "options", "kind"), every_loss())
def test_every_losss_value_is_the_mean_or_sum_of_its_rows_with_and_without_weights(
    cls, options, kind, rng
):
    loss = cls(**options)
    y_true, y_pred = pair(cls, kind, rng)
    y_true = loss.targets(y_true, y_pred.shape[1], np.float64)
    rows = loss.rows(y_true, y_pred)
    assert rows.shape == (len(y_pred),)
    combine = np.mean if options["reduction"] == "mean" else np.sum
    expected = float(combine(rows))
    fused_value, fused_grad = loss.value_and_grad(y_true, y_pred)
    assert loss.value(y_true, y_pred) == pytest.approx(expected, rel=1e-12)
    assert fused_value == pytest.approx(expected, rel=1e-12)
    assert loss(y_true, y_pred) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred), fused_grad, rtol=1e-12)

    weights = rng.uniform(0.1, 3.0, size=len(y_pred))
    value, grad = loss.weighted_value_and_grad(y_true, y_pred, weights)
    if options["reduction"] == "mean":
        assert value == pytest.approx(weights.dot(rows) / weights.sum(), rel=1e-12)
    else:
        assert value == pytest.approx(weights.dot(rows), rel=1e-12)

    def weighted_value():
        return loss.weighted_value_and_grad(y_true, y_pred, weights)[0]

    np.testing.assert_allclose(grad, numeric_gradient(weighted_value, y_pred), rtol=1e-5, atol=1e-8)
    ones = loss.weighted_value_and_grad(y_true, y_pred, np.ones(len(y_pred)))
    assert ones[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("cls", "options", "kind"), every_loss())
def test_a_fused_training_form_equals_the_losss_one_written_formula(cls, options, kind, rng):
    """``entry`` or ``per_row`` is the formula both engines run; a loss that fuses its
    ``value_and_grad`` for speed (MSE) must give the same L and ∂L/∂ŷ."""
    loss = cls(**options)
    formula = loss.step_formula
    if formula is None:
        pytest.skip(f"{cls.__name__} writes no entry or per_row formula")
    y_true, y_pred = pair(cls, kind, rng)
    y_true = loss.targets(y_true, y_pred.shape[1], np.float64)
    values, grad = formula(y_true, y_pred, *loss.constant_values())
    scale = loss.entry_scale(y_pred)
    fused_value, fused_grad = loss.value_and_grad(y_true, y_pred)
    assert fused_value == pytest.approx(float(values.sum()) * scale, rel=1e-12)
    np.testing.assert_allclose(fused_grad, grad * scale, rtol=1e-12, atol=1e-300)
