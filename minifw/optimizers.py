"""Optimizers: update a model's parameters from their gradients, in place.

A built model keeps every parameter in one flat vector and every gradient in
another, so an optimizer updates the whole model with a few whole-vector
operations. Its per-parameter state (velocity, moments, ...) is held as
vectors of the same length, created on the first step. Clipping works per
parameter array (Keras's convention), through the array boundaries the model
passes along.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .registry import resolve
from .validation import positive_float

__all__ = ["Optimizer", "SGD", "get"]


class Optimizer:
    """Base class: clipping, step counting and lazily created state.

    Parameters
    ----------
    learning_rate : float
        η, a positive finite number.
    clipnorm : float, optional
        Each parameter array's gradient g is rescaled to g · clipnorm / ‖g‖
        when ‖g‖ > clipnorm.
    clipvalue : float, optional
        Each gradient entry is clipped to [−clipvalue, clipvalue].
    """

    def __init__(
        self, learning_rate: float, *, clipnorm: float | None = None, clipvalue: float | None = None
    ) -> None:
        owner = type(self).__name__
        self.learning_rate = positive_float(learning_rate, "learning_rate", owner)
        self.clipnorm = None if clipnorm is None else positive_float(clipnorm, "clipnorm", owner)
        self.clipvalue = (
            None if clipvalue is None else positive_float(clipvalue, "clipvalue", owner)
        )
        self.iterations = 0
        self.state: dict[str, np.ndarray] = {}

    def apply_gradients(
        self, params: np.ndarray, grads: np.ndarray, arrays: Sequence[slice] = ()
    ) -> None:
        """One step: ``params`` ← update(``params``, ``grads``), both flat vectors.

        ``arrays`` are the slices of the individual parameter arrays inside the
        vectors, used by ``clipnorm``. ``grads`` may be clipped in place.
        """
        if params.shape != grads.shape:
            raise ValueError(
                f"{type(self).__name__}: params and grads must have the same shape. "
                f"Received: {params.shape} and {grads.shape}."
            )
        if self.iterations == 0:
            self.state = self.init_state(params)
        elif any(value.shape != params.shape for value in self.state.values()):
            raise ValueError(
                f"{type(self).__name__} holds state for another model's parameters and "
                f"cannot update {params.size}: use a new optimizer for each model."
            )
        self._clip(grads, arrays)
        self.update(params, grads, self.learning_rate)
        self.iterations += 1

    def init_state(self, params: np.ndarray) -> dict[str, np.ndarray]:
        """Per-parameter state vectors (velocity, moments); none by default."""
        return {}

    def update(self, params: np.ndarray, grads: np.ndarray, learning_rate: float) -> None:
        """The update rule, applied in place to the flat ``params``."""
        raise NotImplementedError

    def _clip(self, grads: np.ndarray, arrays: Sequence[slice]) -> None:
        if self.clipvalue is not None:
            np.clip(grads, -self.clipvalue, self.clipvalue, out=grads)
        if self.clipnorm is not None:
            for part in arrays:
                norm = float(np.linalg.norm(grads[part]))
                if norm > self.clipnorm:
                    grads[part] *= self.clipnorm / norm

    def get_config(self) -> dict:
        return {
            "learning_rate": self.learning_rate,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


class SGD(Optimizer):
    """Plain stochastic gradient descent: w ← w − η · ∂L/∂w (the lecture's rule).

    Examples
    --------
    >>> import numpy as np
    >>> w, g = np.array([1.0]), np.array([1.0])
    >>> SGD(learning_rate=0.5).apply_gradients(w, g)
    >>> w
    array([0.5])
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)

    def update(self, params, grads, learning_rate):
        params -= learning_rate * grads


_NAMES = {"sgd": SGD}


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimizer from its name (``"sgd"``, ...) or an instance."""
    return resolve("optimizer", identifier, _NAMES, Optimizer)
