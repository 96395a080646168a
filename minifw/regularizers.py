"""Weight penalties added to the loss: ``kernel_regularizer=`` / ``bias_regularizer=`` on Dense.

As in Keras, the penalty is added once per batch (not divided by the batch
size) to the reported loss, and its gradient to ∂L/∂w:

    L1:    l1 · Σ |w|          ∂/∂w = l1 · sign(w)   (0 at w = 0)
    L2:    l2 · Σ w²           ∂/∂w = 2 · l2 · w     (no ½)
    L1L2:  the sum of both
"""

from __future__ import annotations

import numpy as np

from .registry import Catalogue
from .validation import positive_float

__all__ = ["register", "Regularizer", "L1", "L2", "L1L2", "get", "serialize"]


class Regularizer:
    """``penalty(w) -> float`` and ``gradient(w) -> ndarray``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        owner = type(self).__name__
        self.l1 = positive_float(l1, "l1", owner, allow_zero=True)
        self.l2 = positive_float(l2, "l2", owner, allow_zero=True)

    def penalty(self, w: np.ndarray) -> float:
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(w).sum())
        if self.l2:
            flat = w.ravel()
            total += self.l2 * float(np.dot(flat, flat))
        return total

    def gradient(self, w: np.ndarray) -> np.ndarray:
        grad = np.zeros_like(w)
        if self.l1:
            grad += self.l1 * np.sign(w)
        if self.l2:
            grad += (2 * self.l2) * w
        return grad

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


#: Every regularizer a model file may name, added by ``@register`` where it is defined.
REGULARIZERS = Catalogue("regularizer", Regularizer, decorator="mf.regularizers.register")
register = REGULARIZERS.register


@register("l1")
class L1(Regularizer):
    """l1 · Σ |w| (Keras default l1 = 0.01)."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


@register("l2")
class L2(Regularizer):
    """l2 · Σ w² (Keras default l2 = 0.01)."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


@register("l1_l2", "l1l2")
class L1L2(Regularizer):
    """l1 · Σ |w| + l2 · Σ w²."""


def get(identifier: str | dict | Regularizer | None) -> Regularizer | None:
    """A regularizer from its name (``"l2"``, ...), an instance or a config; None stays None."""
    if identifier is None:
        return None
    return REGULARIZERS.get(identifier)


def serialize(regularizer: Regularizer | None) -> str | dict | None:
    """The registered name when that rebuilds it exactly, else ``{"class_name", "config"}``."""
    return REGULARIZERS.serialize(regularizer)
