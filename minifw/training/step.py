"""The training step: one batch, one update, the lecture's algorithm in matrix form.

1. forward and loss      Ŷ = model(X),  L = loss(Y, Ŷ)
2. backward              ∂L/∂w for every parameter w (the chain rule, layer by layer)
3. reduce (optional)     combine ∂L/∂w with other workers' (data-parallel training)
4. finite guard          refuse a NaN or infinite L or ∂L/∂w before it spreads
5. update                w ← optimizer(w, ∂L/∂w), e.g. w − η ∂L/∂w
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from ..engine import Plan
from ..errors import NonFiniteError
from ..optimizers import Optimizer
from ..parameters import ParameterStore


class GradientReducer(Protocol):
    """What a data-parallel reducer provides to ``TrainStep``."""

    def reduce(self, grads: np.ndarray, loss: float, weight: float) -> float:
        """Combine ``grads`` (this worker's, in place) and ``loss`` with the other workers',
        each weighted by its batch weight (rows or Σ sample weights); return the loss."""


class TrainStep:
    """One optimizer step on one batch (see the module docstring), built once per ``fit``.

    Parameters
    ----------
    plan : Plan
        The model's forward and backward steps and loss.
    parameters : ParameterStore
        The model's flat parameter and gradient vectors.
    optimizer : Optimizer
    reducer : GradientReducer, optional
        Called between the backward pass and the finite guard.
    """

    def __init__(
        self,
        plan: Plan,
        parameters: ParameterStore,
        optimizer: Optimizer,
        reducer: GradientReducer | None = None,
    ) -> None:
        self.plan, self.optimizer, self.reducer = plan, optimizer, reducer
        self.params, self.grads, self.slices = (
            parameters.params,
            parameters.grads,
            parameters.slices,
        )
        # bound once: this runs for every batch
        self._loss_and_gradients, self._update = plan.loss_and_gradients, optimizer.apply

    def __call__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray | None = None,
        epoch: int | None = None,
        batch: int | None = None,
    ) -> tuple[float, np.ndarray]:
        """Update the parameters from the batch (x, y); returns the loss before the update
        and the outputs. ``epoch`` and ``batch`` (from 0) name the step in an error."""
        loss, outputs = self._loss_and_gradients(x, y, weights)
        grads = self.grads
        if self.reducer is not None:
            loss = self.reducer.reduce(grads, loss, len(x) if weights is None else weights.sum())
        # one check for both: a NaN or inf in either makes the sum non-finite
        if not math.isfinite(loss + grads.dot(grads)):
            raise NonFiniteError(_non_finite_message(loss, epoch, batch))
        self._update(self.params, grads, self.slices)
        return loss, outputs


def _non_finite_message(loss: float, epoch: int | None, batch: int | None) -> str:
    place = "in train_on_batch" if epoch is None else f"in epoch {epoch + 1}, batch {batch + 1}"
    what = (
        f"The loss became {loss}"
        if not math.isfinite(loss)
        else "The gradient became infinite or NaN (or too large to square)"
    )
    return (
        f"{what} {place}; the weights were left as they were before this step. Lower the "
        "learning rate, standardize the inputs, or clip gradients (clipnorm=...)."
    )
