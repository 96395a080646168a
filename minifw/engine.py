"""The training step of a compiled model, laid out once and run many times.

A ``Plan`` lists the model's layers as forward and backward steps (a Dense
layer with an activation is two steps), ends them in the loss, and adds the
weight penalties:

    forward    O⁰ = X,  Oˢ = stepˢ(Oˢ⁻¹),  Ŷ = Oᔆ
    loss       L = loss(Y, Ŷ) + Σ penalty(w)
    backward   G = ∂L/∂Ŷ,  then G ← stepˢ.backward(G) for s = S … 1, each step
               writing its ∂L/∂w into the model's flat gradient vector,
               then ∂L/∂w += ∂penalty/∂w

When the last step is a Sigmoid or Softmax and the loss is the matching
cross-entropy on probabilities, the plan drops that step and uses the
loss's from-logits form (see ``minifw.losses``): ``fused`` is that activation.
Steps before the first layer with parameters get no backward pass, and that
layer does not compute ∂L/∂input, which nothing needs. Identity steps
(``Linear``) are left out altogether.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .layers.activations import Activation, Linear
from .layers.base import Layer
from .losses import Loss
from .regularizers import Regularizer


@dataclass
class Plan:
    forwards: list[Callable[[np.ndarray, bool], np.ndarray]]
    backwards: list[Callable[[np.ndarray], np.ndarray | None]]
    loss: Loss
    fused: Activation | None
    penalties: list[tuple[Regularizer, np.ndarray, np.ndarray]]

    @classmethod
    def compile(cls, layers: list[Layer], loss: Loss) -> Plan:
        # An identity (Linear) step changes nothing forward or backward: leave it out.
        steps = [step for layer in layers for step in layer.steps() if type(step[0]) is not Linear]
        if not steps:
            steps = [(layers[-1], layers[-1].forward, layers[-1].backward)]
        fused = None
        owner = steps[-1][0]
        fusable = loss.fuses_with is not None and not loss.from_logits
        if fusable and len(steps) > 1 and type(owner) is loss.fuses_with:
            fused, steps, loss = owner, steps[:-1], loss.with_logits()
        trainable = [i for i, (owner, _, _) in enumerate(steps) if owner.params]
        first = trainable[0] if trainable else len(steps)
        for i, (owner, _, _) in enumerate(steps):
            owner.needs_input_grad = i != first
        penalties = [
            (regularizer, layer.params[key], layer.grads[key])
            for layer in layers
            for key, regularizer in layer.regularizers().items()
        ]
        return cls(
            forwards=[forward for _, forward, _ in steps],
            backwards=[backward for _, _, backward in steps[first:]][::-1],
            loss=loss,
            fused=fused,
            penalties=penalties,
        )

    def outputs(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Ŷ, or the logits when the last activation is fused into the loss."""
        for forward in self.forwards:
            x = forward(x, training)
        return x

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        """What ``predict`` returns, from ``outputs``: the fused activation applied, if any."""
        return outputs if self.fused is None else self.fused.activate(outputs)

    def penalty(self) -> float:
        return sum(regularizer.penalty(param) for regularizer, param, _ in self.penalties)

    def loss_and_gradients(
        self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """One forward and backward pass; gradients land in the layers' ``grads``.

        ``weights`` (one per sample) make the loss Σ w_i ℓ_i / Σ w_i.
        """
        for forward in self.forwards:
            x = forward(x, True)
        if weights is None:
            loss, grad = self.loss._value_and_grad(y, x)
        else:
            loss, grad = self.loss._weighted_value_and_grad(y, x, weights)
        for backward in self.backwards:
            grad = backward(grad)
        for regularizer, param, param_grad in self.penalties:
            loss += regularizer.penalty(param)
            param_grad += regularizer.gradient(param)
        return loss, x
