"""A Sigmoid or Softmax output with the matching cross-entropy trains on the logits."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf


def classifier(activation, loss, units, seed=0):
    model = mf.Sequential(
        [
            mf.layers.Dense(4, activation="tanh", input_dim=3),
            mf.layers.Dense(units, activation=activation),
        ],
        dtype="float64",
        seed=seed,
    )
    model.compile("sgd", loss)
    return model


@pytest.mark.parametrize(
    ("activation", "loss", "units", "targets"),
    [
        ("sigmoid", "binary_crossentropy", 1, lambda rng: rng.integers(0, 2, size=(6, 1))),
        ("softmax", "categorical_crossentropy", 3, lambda rng: np.eye(3)[rng.integers(0, 3, 6)]),
        ("softmax", "sparse_categorical_crossentropy", 3, lambda rng: rng.integers(0, 3, 6)),
    ],
)
def test_fused_training_gradients_equal_the_unfused_chain_rule(
    activation, loss, units, targets, rng
):
    X, y = rng.normal(size=(6, 3)), targets(rng)
    model = classifier(activation, loss, units)
    assert model.plan.fused is not None
    fused_loss, fused_grads = model.gradients(X, y)
    assert fused_loss == pytest.approx(model.evaluate(X, y), rel=1e-12)
    assert fused_loss == pytest.approx(
        model.loss(model.loss.targets(np.asarray(y), units, "f8"), model.predict(X)), rel=1e-9
    )
    assert max(mf.gradcheck(model, X, y).values()) < 1e-6
    # the same network with the activation as a subclass, which the fusion table does not
    # name, runs unfused: through Softmax/Sigmoid.backward and the probability loss
    plain = type("Plain", (type(model.layers[-1].activation),), {})()
    unfused = classifier(plain, loss, units)
    assert unfused.plan.fused is None
    unfused_loss, unfused_grads = unfused.gradients(X, y)
    assert unfused_loss == pytest.approx(fused_loss, rel=1e-9)
    for a, b in zip(fused_grads, unfused_grads):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12)


def test_a_saturated_sigmoid_still_learns_when_fused():
    X = np.array([[1.0, 0.0, 0.0]])
    model = classifier("sigmoid", "binary_crossentropy", 1)
    W1, b1, W2, b2 = model.get_weights()
    model.set_weights([W1, b1, W2, np.array([60.0])])  # σ(≈60) = 1.0 in float64
    assert model.predict(X)[0, 0] == 1.0
    _, grads = model.gradients(X, [0.0])
    assert grads[3][0] == pytest.approx(1.0)  # ∂L/∂b = σ(z) − y, not 0


def test_from_logits_losses_and_other_activations_are_not_fused():
    assert classifier(None, mf.losses.BinaryCrossEntropy(from_logits=True), 1).plan.fused is None
    with pytest.raises(ValueError, match=r"expects probabilities in \(0, 1\), but the model ends"):
        classifier("tanh", "binary_crossentropy", 1).gradients(np.ones((2, 3)), [0.0, 1.0])
    assert classifier("softmax", "mse", 3).plan.fused is None
