"""Activation layers: o = f(net), without parameters.

Each elementwise activation states f and f'. ``backward`` is the chain rule
∂L/∂net = ∂L/∂o · f'(net), so a new activation is two short static methods:
``function(x, *constants)`` (f) and ``slope(x, out, *constants)`` (f', given the
input and the output, whichever is cheaper). They are written with arithmetic and
NumPy's ufuncs only, so that the same lines work on a whole array (the NumPy
engine) and on one number (the compiled engine, ``minifw.jit``, runs them entry by
entry); ``constants`` names the attributes they take after x (LeakyReLU's alpha).
Every form here is stable for inputs of any size: no overflow at ±1000.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf, expit

from ..functional import softmax_parts
from ..validation import positive_float
from .base import LAYERS, Layer, declared_shape, register

__all__ = [
    "Activation",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "ELU",
    "Exponential",
    "GELU",
    "Softplus",
    "SiLU",
    "get",
    "serialize",
]


class _ByName(type):
    """``Activation("relu")`` builds the named activation layer, as Keras's Activation layer
    does; the subclasses are constructed as usual."""

    def __call__(cls, *args, **kwargs):
        if cls is Activation:
            if len(args) != 1 or set(kwargs) - {"name", "input_shape"}:
                raise TypeError(
                    "Activation takes the activation's name, e.g. Activation('relu'). "
                    f"Received: args={args!r}, kwargs={kwargs!r}"
                )
            activation = get(args[0])
            if kwargs.get("name") is not None:
                activation.name = kwargs["name"]
            if kwargs.get("input_shape") is not None:
                activation.declared = declared_shape(kwargs["input_shape"], "Activation")
            return activation
        return super().__call__(*args, **kwargs)


class Activation(Layer, metaclass=_ByName):
    """Base class of activations: o = f(net), ∂L/∂net = ∂L/∂o · f'(net) elementwise.

    ``Activation("relu")`` is Keras's spelling of ``ReLU()``. A new elementwise
    activation is two short static methods, written with arithmetic and ufuncs so
    that they run on arrays and on single numbers alike: ``function(x, *constants)``
    (f) and ``slope(x, out, *constants)`` (f', given the input and the output,
    whichever is cheaper); ``constants`` names the attributes passed after x. (A
    subclass may instead override ``activate`` and ``derivative``; the compiled engine
    then refuses it.)
    """

    keeps_mask = True  # each step alone: a sequence's mask passes through
    any_length = True

    #: Attributes passed to ``function`` and ``slope`` after x, in order.
    constants: tuple[str, ...] = ()

    #: f'(net) written out for ``explain``: ``slope_text(style, o, net)`` with o and net
    #: already written (as symbols, or as numbers) in the style's notation; None: not
    #: written out (the factor is shown with its value only).
    slope_text = None

    #: True when o_j depends on net_j alone, so that f' is one number per unit.
    elementwise = True
    #: Raw scores unless a subclass declares "probabilities" or "distribution".
    output_kind = "raw"

    def __init__(self, *, name: str | None = None, input_shape: tuple | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self._x: np.ndarray | None = None  # net and o of the last forward pass, for f'
        self._out: np.ndarray | None = None

    @staticmethod
    def function(x, *constants):
        """f(x), on an array or a number."""
        raise NotImplementedError

    @staticmethod
    def slope(x, out, *constants):
        """f'(x), given the input ``x`` and the output ``out`` = f(x), on arrays or numbers."""
        raise NotImplementedError

    def constant_values(self) -> tuple:
        """The values of ``constants``, as ``function`` and ``slope`` take them."""
        return tuple(getattr(self, name) for name in self.constants)

    def activate(self, x: np.ndarray) -> np.ndarray:
        """f(x), a new array (or ``x`` itself for the identity)."""
        return self.function(x, *self.constant_values()) if self.constants else self.function(x)

    def derivative(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """f'(x), given the input ``x`` and the output ``out`` = f(x)."""
        if self.constants:
            return self.slope(x, out, *self.constant_values())
        return self.slope(x, out)

    def forward(self, x, training=False):
        """o = f(net), keeping net and o for the derivative."""
        self._x = x
        self._out = self.activate(x)
        return self._out

    def backward(self, grad_output):
        """∂L/∂net = ∂L/∂o · f'(net), elementwise, in place."""
        grad_output *= self.derivative(self._x, self._out)
        return grad_output


@register("linear")
class Linear(Activation):
    """Identity activation: o = net, f'(net) = 1.

    This is Keras's ``"linear"`` activation (the lecture's hidden units), not
    PyTorch's ``nn.Linear``, which is a fully connected layer (``Dense`` here).
    A model leaves it out of its training step: it changes nothing.
    """

    @staticmethod
    def slope_text(style, o, net):
        return "1"

    @staticmethod
    def function(x):
        return x

    @staticmethod
    def slope(x, out):
        return np.ones_like(x)


@register("relu")
class ReLU(Activation):
    """o = max(net, 0);  f'(net) = 1 where net > 0, else 0 (0 at net = 0 exactly)."""

    output_range = (0.0, np.inf)

    @staticmethod
    def slope_text(style, o, net):
        return f"[{net} > 0]"  # 1 where net > 0, else 0

    @staticmethod
    def function(x):
        return np.maximum(x, 0)

    @staticmethod
    def slope(x, out):
        return x > 0  # exactly 1 or 0 (as bool, which multiplies without a float copy)


@register("leaky_relu")
class LeakyReLU(Activation):
    """o = net for net > 0, α·net otherwise;  f'(net) = 1 or α (α at net = 0).

    ``alpha`` defaults to 0.3, as Keras's LeakyReLU layer (PyTorch's default is 0.01).
    """

    def __init__(
        self, alpha: float = 0.3, *, name: str | None = None, input_shape: tuple | None = None
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.alpha = positive_float(alpha, "alpha", "LeakyReLU", allow_zero=True)
        self.output_range = (-np.inf if self.alpha else 0.0, np.inf)

    constants = ("alpha",)

    @staticmethod
    def function(x, alpha):
        return np.where(x > 0, x, x * alpha)

    @staticmethod
    def slope(x, out, alpha):
        return (x > 0) + (x <= 0) * alpha  # 1 or α, in x's precision

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register("sigmoid")
class Sigmoid(Activation):
    """o = σ(net) = 1 / (1 + e^(−net));  f'(net) = o (1 − o).

    Computed with ``scipy.special.expit``, which does not overflow for any net.
    """

    output_kind = "probabilities"
    output_range = (0.0, 1.0)

    @staticmethod
    def slope_text(style, o, net):
        return f"{o}{style.times}(1 {style.minus} {o})"

    @staticmethod
    def function(x):
        return expit(x)

    @staticmethod
    def slope(x, out):
        return out * (1 - out)


@register("tanh")
class Tanh(Activation):
    """o = tanh(net);  f'(net) = 1 − o²."""

    output_range = (-1.0, 1.0)

    @staticmethod
    def slope_text(style, o, net):
        return f"1 {style.minus} {style.squared(o)}"

    @staticmethod
    def function(x):
        return np.tanh(x)

    @staticmethod
    def slope(x, out):
        return 1 - out * out


@register("softmax")
class Softmax(Activation):
    """o_j = e^(net_j) / Σ_k e^(net_k) over the last axis;  ∂L/∂net = o ⊙ (g − Σ_k g_k o_k).

    Not elementwise: each o_j depends on every net_k (∂o_j/∂net_k = o_j (δ_jk − o_k)).
    The maximum is subtracted before exponentiating, so large logits do not overflow.
    """

    elementwise = False
    output_kind = "distribution"
    output_range = (0.0, 1.0)

    @staticmethod
    def function(x):
        return softmax_parts(x)[0]

    def backward(self, grad_output):
        """∂L/∂net = o ⊙ (g − Σ_k g_k o_k), g = ∂L/∂o."""
        out = self._out
        return out * (grad_output - np.sum(grad_output * out, axis=-1, keepdims=True))


@register("exponential")
class Exponential(Activation):
    """o = e^net;  f'(net) = o. Outputs in (0, ∞): a rate, with the Poisson loss."""

    output_range = (0.0, np.inf)

    @staticmethod
    def function(x):
        return np.exp(x)

    @staticmethod
    def slope(x, out):
        return out


@register("elu")
class ELU(Activation):
    """o = net for net > 0, α (e^net − 1) otherwise;  f'(net) = 1 or o + α."""

    def __init__(
        self, alpha: float = 1.0, *, name: str | None = None, input_shape: tuple | None = None
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.alpha = positive_float(alpha, "alpha", "ELU", allow_zero=True)
        self.output_range = (-self.alpha, np.inf)

    constants = ("alpha",)

    @staticmethod
    def function(x, alpha):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def slope(x, out, alpha):
        return (x > 0) + (x <= 0) * (out + alpha)  # 1 or o + α

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


@register("gelu")
class GELU(Activation):
    """o = net · Φ(net), Φ the standard normal CDF;  f'(net) = Φ(net) + net · φ(net).

    Exact form: Φ(x) = ½ (1 + erf(x / √2)) with scipy's erf. With
    ``approximate=True``: o = ½ x (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³), and
    f'(x) = ½ (1 + tanh u) + ½ x (1 − tanh² u) √(2/π) (1 + 3 · 0.044715 x²).
    """

    def __init__(
        self, approximate: bool = False, *, name: str | None = None, input_shape=None
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if not isinstance(approximate, bool):
            raise TypeError(f"GELU: `approximate` must be True or False. Received: {approximate!r}")
        self.approximate = approximate

    constants = ("approximate",)

    @staticmethod
    def function(x, approximate):
        if approximate:
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    @staticmethod
    def slope(x, out, approximate):
        if approximate:
            t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x**2)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
        cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return cdf + x * pdf

    def get_config(self):
        return {**super().get_config(), "approximate": self.approximate}


@register("softplus")
class Softplus(Activation):
    """o = log(1 + e^net), as ``logaddexp(0, net)``;  f'(net) = σ(net)."""

    output_range = (0.0, np.inf)

    @staticmethod
    def function(x):
        return np.logaddexp(0, x)

    @staticmethod
    def slope(x, out):
        return expit(x)


@register("silu", "swish")
class SiLU(Activation):
    """o = net · σ(net) (also called swish);  f'(net) = σ(net) (1 + net (1 − σ(net)))."""

    @staticmethod
    def function(x):
        return x * expit(x)

    @staticmethod
    def slope(x, out):
        sigma = expit(x)
        return sigma * (1 + x * (1 - sigma))


def get(identifier: str | dict | Activation | None) -> Activation | None:
    """An activation layer from its name (``"relu"``, ...), an instance, or a config
    dict written by :func:`serialize`; None stays None."""
    if identifier is None:
        return None
    return LAYERS.get(identifier, base=Activation, kind="activation")


def serialize(activation: Activation | None) -> str | dict | None:
    """The registered name when that rebuilds it exactly, else ``{"class_name", "config"}``."""
    return LAYERS.serialize(activation)
