"""Initial values for parameters: ``initializer(shape, rng, dtype) -> ndarray``.

Every random initializer draws from the ``numpy.random.Generator`` it is
given (the model's, seeded by ``Sequential(seed=...)``), never from NumPy's
global state, so one seed makes a run bit-identical. Random values are drawn
in float64 and then cast to the model dtype.

For a kernel of shape (inputs, units), fan_in = inputs and fan_out = units.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import Catalogue
from .validation import positive_float

__all__ = [
    "register",
    "Initializer",
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "VarianceScaling",
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "Orthogonal",
    "get",
]


class Initializer:
    """Base class: ``initializer(shape, rng, dtype)`` returns a new array."""

    def __call__(
        self, shape: tuple[int, ...], rng: np.random.Generator | None = None, dtype="float64"
    ) -> np.ndarray:
        """A new array of ``shape`` in ``dtype``; random ones draw from ``rng`` (a fresh,
        unseeded Generator when omitted)."""
        rng = np.random.default_rng() if rng is None else rng
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        return self._sample(shape, rng, np.dtype(dtype))

    def _sample(self, shape: tuple[int, ...], rng: np.random.Generator, dtype) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        """Constructor arguments as plain JSON-able values."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


#: Every initializer a model file may name, added by ``@register`` where it is defined.
INITIALIZERS = Catalogue("initializer", Initializer, decorator="mf.initializers.register")
register = INITIALIZERS.register


@register("constant")
class Constant(Initializer):
    """Every entry equal to ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise ValueError(
                f"Constant: `value` must be a finite number. Received: value={value!r}"
            )
        self.value = float(value)

    def _sample(self, shape, rng, dtype):
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self) -> dict:
        return {"value": self.value}


@register("zeros")
class Zeros(Constant):
    """Every entry 0 (the default for biases)."""

    def __init__(self) -> None:
        super().__init__(0.0)

    def get_config(self) -> dict:
        return {}


@register("ones")
class Ones(Constant):
    """Every entry 1 (the lecture's starting weights)."""

    def __init__(self) -> None:
        super().__init__(1.0)

    def get_config(self) -> dict:
        return {}


@register("random_normal")
class RandomNormal(Initializer):
    """w ~ N(mean, stddev²)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05) -> None:
        self.mean = float(mean)
        self.stddev = positive_float(stddev, "stddev", "RandomNormal")

    def _sample(self, shape, rng, dtype):
        return rng.normal(self.mean, self.stddev, size=shape).astype(dtype)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev}


@register("random_uniform")
class RandomUniform(Initializer):
    """w ~ U(minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05) -> None:
        if not minval < maxval:
            raise ValueError(
                f"RandomUniform: `minval` must be less than `maxval`. "
                f"Received: minval={minval!r}, maxval={maxval!r}"
            )
        self.minval, self.maxval = float(minval), float(maxval)

    def _sample(self, shape, rng, dtype):
        return rng.uniform(self.minval, self.maxval, size=shape).astype(dtype)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval}


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


# Standard deviation of N(0, 1) truncated to [-2, 2]; dividing by it keeps the
# variance at scale / fan after truncation (the Keras convention).
_TRUNCATED_STDDEV = 0.87962566103423978


@register("variance_scaling")
class VarianceScaling(Initializer):
    """Var(w) = scale / n, with n = fan_in, fan_out or their mean.

    distribution "uniform": w ~ U(-a, a) with a = sqrt(3 · scale / n);
    "truncated_normal": N(0, σ²) redrawn outside ±2σ, σ = sqrt(scale / n) / 0.8796;
    "normal": N(0, scale / n).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("uniform", "truncated_normal", "normal")

    def __init__(
        self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal"
    ) -> None:
        self.scale = positive_float(scale, "scale", type(self).__name__)
        if mode not in self._MODES:
            raise ValueError(f"Unknown mode {mode!r}. Expected one of: {self._MODES}.")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"Unknown distribution {distribution!r}. Expected one of: {self._DISTRIBUTIONS}."
            )
        self.mode, self.distribution = mode, distribution

    def _sample(self, shape, rng, dtype):
        fan_in, fan_out = _fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, size=shape)
        elif self.distribution == "normal":
            values = rng.normal(0.0, math.sqrt(variance), size=shape)
        else:
            values = _truncated_normal(rng, shape) * (math.sqrt(variance) / _TRUNCATED_STDDEV)
        return values.astype(dtype)

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


def _truncated_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """Standard normal samples, each redrawn until it lies in [-2, 2]."""
    values = rng.standard_normal(size=shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values


@register("glorot_uniform")
class GlorotUniform(VarianceScaling):
    """w ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Xavier uniform; Dense's default)."""

    def __init__(self) -> None:
        super().__init__(1.0, "fan_avg", "uniform")

    def get_config(self) -> dict:
        return {}


@register("glorot_normal")
class GlorotNormal(VarianceScaling):
    """Truncated normal with Var(w) = 2 / (fan_in + fan_out) (Xavier normal)."""

    def __init__(self) -> None:
        super().__init__(1.0, "fan_avg", "truncated_normal")

    def get_config(self) -> dict:
        return {}


@register("he_uniform")
class HeUniform(VarianceScaling):
    """w ~ U(-a, a), a = sqrt(6 / fan_in) (Kaiming uniform, for ReLU)."""

    def __init__(self) -> None:
        super().__init__(2.0, "fan_in", "uniform")

    def get_config(self) -> dict:
        return {}


@register("he_normal")
class HeNormal(VarianceScaling):
    """Truncated normal with Var(w) = 2 / fan_in (Kaiming normal, for ReLU)."""

    def __init__(self) -> None:
        super().__init__(2.0, "fan_in", "truncated_normal")

    def get_config(self) -> dict:
        return {}


@register("orthogonal")
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``: the Q of the QR decomposition of a
    standard normal matrix, its columns' signs fixed by R's diagonal (Keras's and
    PyTorch's recipe; a recurrent kernel's default). For shape (rows, cols), Qᵀ Q = I
    when rows ≥ cols, else Q Qᵀ = I."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = positive_float(gain, "gain", "Orthogonal")

    def _sample(self, shape, rng, dtype):
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))  # a unique, uniformly distributed Q
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype, order="C")

    def get_config(self) -> dict:
        return {"gain": self.gain}


def get(identifier: str | dict | Initializer) -> Initializer:
    """An initializer from its name (``"ones"``, ``"he_normal"``, ...), an instance,
    or a config dict written by :func:`serialize`."""
    return INITIALIZERS.get(identifier)


def serialize(initializer: Initializer) -> str | dict:
    """The registered name when that rebuilds it exactly, else ``{"class_name", "config"}``."""
    return INITIALIZERS.serialize(initializer)
