"""Losses: L(y_true, y_pred) -> float and ∂L/∂y_pred.

Arguments come in Keras order, ``(y_true, y_pred)``, for ``forward`` (also
``loss(y_true, y_pred)``) and ``backward``. Both arrays have shape
(n, k): n samples, k outputs. Shapes must match exactly: a (n,) target is never
broadcast against (n, 1) predictions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .registry import resolve

__all__ = ["Loss", "MSELoss", "get"]

_REDUCTIONS = ("mean", "sum")


class Loss:
    """Base class. ``reduction="mean"`` divides the summed loss by n·k, ``"sum"`` does not."""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: `reduction` must be one of {_REDUCTIONS}. "
                f"Received: reduction={reduction!r}"
            )
        self.reduction = reduction

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike) -> float:
        return self.forward(y_true, y_pred)

    def forward(self, y_true: ArrayLike, y_pred: ArrayLike) -> float:
        """The loss L, a Python float."""
        raise NotImplementedError

    def backward(self, y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
        """∂L/∂y_pred, with the shape of ``y_pred``."""
        raise NotImplementedError

    def targets(self, y: np.ndarray, n_outputs: int, dtype) -> np.ndarray:
        """Targets shaped like the model's predictions (n, n_outputs), in ``dtype``.

        ``y`` of shape (n,) is one output column and becomes (n, 1); any other
        mismatch is an error, never a broadcast.
        """
        if y.ndim == 1:
            if n_outputs != 1:
                raise ValueError(
                    f"y has shape {y.shape} (one value per sample) but the model has "
                    f"{n_outputs} outputs. Give y of shape ({len(y)}, {n_outputs})."
                )
            y = y.reshape(-1, 1)
        if y.shape[1] != n_outputs:
            raise ValueError(
                f"y has {y.shape[1]} columns (shape {y.shape}) but the model has {n_outputs} "
                f"output{'s' if n_outputs > 1 else ''}: y must have shape ({len(y)}, {n_outputs})."
            )
        return y.astype(dtype, copy=False)

    def _pair(self, y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.shape != y_pred.shape:
            hint = " Try y.reshape(-1, 1)." if y_true.shape == y_pred.shape[:1] else ""
            raise ValueError(
                f"{type(self).__name__}: y_true and y_pred must have the same shape. "
                f"Received: {y_true.shape} and {y_pred.shape}.{hint}"
            )
        return y_true, y_pred

    def _scale(self, y_pred: np.ndarray) -> float:
        """1 / (n·k) for the mean, 1 for the sum."""
        return 1.0 / y_pred.size if self.reduction == "mean" else 1.0

    def get_config(self) -> dict:
        return {"reduction": self.reduction}

    def __repr__(self) -> str:
        extra = "" if self.reduction == "mean" else f"reduction={self.reduction!r}"
        return f"{type(self).__name__}({extra})"


class MSELoss(Loss):
    """L = (1/(n·k)) Σ (y − ŷ)² ;  ∂L/∂ŷ = −2 (y − ŷ) / (n·k).

    Plain mean over samples and outputs, no ½: with one sample and one output
    (n = k = 1) the gradient is the lecture's −2(y − ŷ). ``reduction="sum"``
    drops the 1/(n·k).
    """

    def forward(self, y_true, y_pred):
        y_true, y_pred = self._pair(y_true, y_pred)
        error = y_pred - y_true
        return float(np.sum(error * error)) * self._scale(y_pred)

    def backward(self, y_true, y_pred):
        y_true, y_pred = self._pair(y_true, y_pred)
        return (y_pred - y_true) * (2.0 * self._scale(y_pred))


_NAMES = {"mse": MSELoss, "mean_squared_error": MSELoss}


def get(identifier: str | Loss) -> Loss:
    """A loss from its name (``"mse"``, ...) or an instance."""
    return resolve("loss", identifier, _NAMES, Loss)
