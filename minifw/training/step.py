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

    #: This worker's part of the current batch's weight (rows or Σ sample weights).
    share: float

    def reduce(self, grads: np.ndarray, loss: float) -> float:
        """Sum ``grads`` (in place) and ``loss`` over the workers, each already scaled by
        its ``share``; return the batch's loss."""


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
        if plan.mismatch is not None:
            raise ValueError(plan.mismatch)
        self.plan, self.optimizer, self.reducer = plan, optimizer, reducer
        self.params, self.grads, self.slices = (
            parameters.params,
            parameters.grads,
            parameters.slices,
        )
        # bound once: this runs for every batch
        self._loss_and_gradients, self._update = plan.loss_and_gradients, optimizer.apply
        self.state = parameters.state if parameters.state.size else None  # moving statistics

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
        grads, state = self.grads, self.state
        if state is not None:  # the forward pass moves them: kept, for a refused step
            saved = state.copy()
        if self.reducer is None:
            loss, outputs = self._loss_and_gradients(x, y, weights)
        else:  # this process's share of the batch, then the sum over the processes
            if len(x):
                loss, outputs = self._loss_and_gradients(x, y, weights, self.reducer.share)
            else:  # no rows here in this batch: still take part in every reduction
                loss, outputs = 0.0, self.plan.zero_pass(x)
            loss = self.reducer.reduce(grads, loss)
        # one check for both: a NaN or inf in either makes the sum non-finite
        if not math.isfinite(loss + grads.dot(grads)):
            if state is not None:
                state[...] = saved
            raise NonFiniteError.during(loss, epoch, batch)
        self._update(self.params, grads, self.slices)
        return loss, outputs
