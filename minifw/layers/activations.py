"""Activation layers: o = f(net), applied elementwise, without parameters.

Each activation states f and f'. ``backward`` is the chain rule
∂L/∂net = ∂L/∂o · f'(net), so a new activation is two one-line methods:
``activate(x)`` and ``derivative(x, out)`` (f' given the input and the output,
whichever is cheaper).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..registry import resolve
from .base import Layer

__all__ = ["Activation", "Linear", "ReLU", "Sigmoid", "Tanh", "get"]


class Activation(Layer):
    """Base class of elementwise activations: o = f(net), ∂L/∂net = ∂L/∂o · f'(net)."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._x: np.ndarray | None = None
        self._out: np.ndarray | None = None

    def activate(self, x: np.ndarray) -> np.ndarray:
        """f(x), a new array (or ``x`` itself for the identity)."""
        raise NotImplementedError

    def derivative(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """f'(x), given the input ``x`` and the output ``out`` = f(x)."""
        raise NotImplementedError

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check_input(x)
        self._x = x
        self._out = self.activate(x)
        return self._out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self._check_grad(grad_out, self._out)
        return grad_out * self.derivative(self._x, self._out)


class Linear(Activation):
    """Identity activation: o = net, f'(net) = 1.

    This is Keras's ``"linear"`` activation (the lecture's hidden units), not
    PyTorch's ``nn.Linear``, which is a fully connected layer (``Dense`` here).
    """

    def activate(self, x):
        return x

    def derivative(self, x, out):
        return np.ones_like(x)

    def backward(self, grad_out):
        self._check_grad(grad_out, self._out)
        return grad_out


class ReLU(Activation):
    """o = max(net, 0);  f'(net) = 1 where net > 0, else 0 (0 at net = 0 exactly)."""

    def activate(self, x):
        return np.maximum(x, 0)

    def derivative(self, x, out):
        return (x > 0).astype(x.dtype)

    def backward(self, grad_out):
        self._check_grad(grad_out, self._out)
        return grad_out * (self._x > 0)


class Sigmoid(Activation):
    """o = σ(net) = 1 / (1 + e^(−net));  f'(net) = o (1 − o).

    Computed with ``scipy.special.expit``, which does not overflow for any net.
    """

    def activate(self, x):
        return expit(x)

    def derivative(self, x, out):
        return out * (1 - out)


class Tanh(Activation):
    """o = tanh(net);  f'(net) = 1 − o²."""

    def activate(self, x):
        return np.tanh(x)

    def derivative(self, x, out):
        return 1 - out * out


_NAMES = {"linear": Linear, "relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}


def get(identifier: str | Activation | None) -> Activation | None:
    """An activation layer from its name (``"relu"``, ...) or an instance; None stays None."""
    if identifier is None:
        return None
    return resolve("activation", identifier, _NAMES, Activation)


def name_of(activation: Activation | None) -> str | None:
    """The registered name of an activation (the inverse of :func:`get`), for configs."""
    if activation is None:
        return None
    for name, cls in _NAMES.items():
        if type(activation) is cls:
            return name
    raise ValueError(f"{activation!r} has no registered name and cannot be stored in a config.")
