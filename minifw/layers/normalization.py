"""Normalization layers: BatchNormalization, LayerNormalization and Normalization.

BatchNormalization and LayerNormalization standardize over different axes
and share one backward formula. With x̂ = (x − μ) / √(σ² + ε) over m
entries and g = ∂L/∂x̂:

    ∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g · x̂))

with both means over the same m entries.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..validation import as_features, positive_float, unit_fraction
from .base import LOCAL, BatchContext, Layer, Step, register


def local_mean(array: np.ndarray, axes) -> np.ndarray:
    """The mean over ``axes`` of the array's own entries, dims kept."""
    return array.mean(axis=axes, keepdims=True)


def _standardize(x: np.ndarray, axes, epsilon: float, mean_of=local_mean):
    """x̂ = (x − μ) / √(σ² + ε) over ``axes`` (σ² biased); returns x̂, 1 / √(σ² + ε), μ, σ²."""
    mean = mean_of(x, axes)
    centered = x - mean
    variance = mean_of(centered * centered, axes)
    inv_std = (1.0 / np.sqrt(variance + epsilon)).astype(x.dtype, copy=False)
    return centered * inv_std, inv_std, mean, variance


def _standardize_backward(grad_xhat, xhat, inv_std, axes, mean_of=local_mean) -> np.ndarray:
    """∂L/∂x from ∂L/∂x̂ (see the module docstring)."""
    mean_grad = mean_of(grad_xhat, axes)
    mean_grad_xhat = mean_of(grad_xhat * xhat, axes)
    return inv_std * (grad_xhat - mean_grad - xhat * mean_grad_xhat)


class _Standardization(Layer):
    """Shared parts of Batch- and LayerNormalization: y = γ x̂ + β over the last axis."""

    def __init__(self, epsilon: float, center: bool, scale: bool, name, input_shape) -> None:
        super().__init__(name=name, input_shape=input_shape)
        owner = type(self).__name__
        self.epsilon = positive_float(epsilon, "epsilon", owner)
        for flag, value in (("center", center), ("scale", scale)):
            if not isinstance(value, bool):
                raise TypeError(f"{owner}: `{flag}` must be True or False. Received: {value!r}")
        self.center, self.scale = center, scale
        self._xhat = self._inv_std = None

    def param_shapes(self, input_shape):
        features = (input_shape[-1],)
        shapes = {}
        if self.scale:
            shapes["gamma"] = features
        if self.center:
            shapes["beta"] = features
        return shapes

    def initial_value(self, key, shape, rng, dtype):
        """γ and the moving variance start at 1, β and the moving mean at 0."""
        start = 1.0 if key in ("gamma", "moving_variance") else 0.0
        return np.full(shape, start, dtype=dtype)

    def _affine(self, xhat: np.ndarray) -> np.ndarray:
        out = xhat * self.params["gamma"] if self.scale else xhat.copy()
        if self.center:
            out += self.params["beta"]
        return out

    def _affine_backward(self, grad_out: np.ndarray, axes) -> np.ndarray:
        """Fills ∂L/∂γ, ∂L/∂β; returns ∂L/∂x̂."""
        if self.center:
            np.sum(grad_out, axis=axes, out=self.grads["beta"])
        if self.scale:
            np.sum(grad_out * self._xhat, axis=axes, out=self.grads["gamma"])
            return grad_out * self.params["gamma"]
        return grad_out

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }


@register()
class BatchNormalization(_Standardization):
    """y = γ x̂ + β, x̂ standardized per feature over the batch (training) or with the
    moving statistics (inference).

    Training: μ and σ² are the batch mean and biased variance over every axis
    but the last; then moving_mean ← momentum · moving_mean + (1 − momentum) · μ
    and likewise moving_variance with the biased σ² (Keras's convention;
    PyTorch's running_var uses the unbiased one). Inference: x̂ = (x −
    moving_mean) / √(moving_variance + ε). Keras's defaults: momentum 0.99, ε 1e-3.

    ``params``: gamma, beta; ``state``: moving_mean, moving_variance.
    """

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        *,
        name: str | None = None,
        input_shape: tuple | None = None,
    ) -> None:
        super().__init__(epsilon, center, scale, name, input_shape)
        self.momentum = unit_fraction(momentum, "momentum", "BatchNormalization")

    def _axes(self, x: np.ndarray) -> tuple[int, ...]:
        return tuple(range(x.ndim - 1))

    def state_shapes(self, input_shape):
        return {"moving_mean": (input_shape[-1],), "moving_variance": (input_shape[-1],)}

    whole_batch = True  # μ and σ² over the batch, in training

    def steps(self, context: BatchContext = LOCAL):
        return [
            Step(
                self,
                lambda x, training: self.normalize(x, training, context),
                lambda grad_output: self.normalize_backward(grad_output, context),
            )
        ]

    def forward(self, x, training=False):
        return self.normalize(x, training, LOCAL)

    def backward(self, grad_output):
        return self.normalize_backward(grad_output, LOCAL)

    def normalize(self, x: np.ndarray, training: bool, context: BatchContext) -> np.ndarray:
        """y = γ x̂ + β, with μ and σ² the means of ``context``'s whole batch in training."""
        axes = self._axes(x)
        if training:
            self._xhat, self._inv_std, mean, variance = _standardize(
                x, axes, self.epsilon, context.mean
            )
            for key, value in (("moving_mean", mean), ("moving_variance", variance)):
                self.state[key] *= self.momentum
                self.state[key] += (1 - self.momentum) * value.reshape(-1)
        else:
            inv_std = 1.0 / np.sqrt(self.state["moving_variance"] + self.epsilon)
            self._inv_std = inv_std.astype(x.dtype, copy=False)
            self._xhat = (x - self.state["moving_mean"]) * self._inv_std
        self._training = training
        return self._affine(self._xhat)

    def normalize_backward(self, grad_output: np.ndarray, context: BatchContext) -> np.ndarray:
        """∂L/∂γ, ∂L/∂β and ∂L/∂x, the means over ``context``'s whole batch."""
        axes = self._axes(grad_output)
        grad_xhat = self._affine_backward(grad_output, axes)
        if not self._training:  # the moving statistics are constants
            return grad_xhat * self._inv_std
        return _standardize_backward(grad_xhat, self._xhat, self._inv_std, axes, context.mean)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


@register()
class LayerNormalization(_Standardization):
    """y = γ x̂ + β, x̂ standardized over the last axis of each sample (same in training
    and inference). Keras's default ε = 1e-3. ``params``: gamma, beta."""

    def __init__(
        self,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        *,
        name: str | None = None,
        input_shape: tuple | None = None,
    ) -> None:
        super().__init__(epsilon, center, scale, name, input_shape)

    def forward(self, x, training=False):
        self._xhat, self._inv_std, _, _ = _standardize(x, -1, self.epsilon)
        return self._affine(self._xhat)

    def backward(self, grad_output):
        grad_xhat = self._affine_backward(grad_output, tuple(range(grad_output.ndim - 1)))
        return _standardize_backward(grad_xhat, self._xhat, self._inv_std, -1)


# Keras's backend epsilon: the smallest standard deviation Normalization divides by.
_MIN_STD = 1e-7


@register()
class Normalization(Layer):
    """Per-feature standardization inside the model: o = (x − mean) / max(√variance, 1e-7).

    The statistics come from ``adapt(X)`` (mean and biased variance of each
    feature over the rows) or from ``mean=`` and ``variance=``; they are
    non-trainable ``state``, saved with the model. The natural fix for the
    lecture's raw IQ values, which are 20 times larger than the GPAs.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Normalization()
    >>> layer.adapt(np.array([[1.0], [3.0]]))
    >>> layer(np.array([[1.0], [3.0]]))
    array([[-1.],
           [ 1.]])
    """

    def __init__(
        self,
        mean: ArrayLike | None = None,
        variance: ArrayLike | None = None,
        *,
        name: str | None = None,
        input_shape: tuple | None = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both `mean` and `variance`, or neither.")
        self._pending = None
        if mean is not None:
            mean = np.asarray(mean, dtype=np.float64).reshape(-1)
            variance = np.asarray(variance, dtype=np.float64).reshape(-1)
            if mean.shape != variance.shape or (variance < 0).any():
                raise ValueError(
                    "Normalization: `mean` and `variance` must have the same length and the "
                    "variance must be non-negative."
                )
            self._pending = {"mean": mean, "variance": variance}

    def adapt(self, X: ArrayLike) -> None:
        """Set mean and variance from the rows of ``X`` (every axis but the last is reduced)."""
        X = as_features(X).astype(np.float64)
        X = X.reshape(-1, X.shape[-1])
        stats = {"mean": X.mean(axis=0), "variance": X.var(axis=0)}
        if self.built:
            if stats["mean"].shape != self.state["mean"].shape:
                raise ValueError(
                    f"Normalization is built for {self.state['mean'].size} features; "
                    f"adapt received {stats['mean'].size}."
                )
            for key, value in stats.items():
                self.state[key][...] = value  # in place: the state may be a model's view
        else:
            self._pending = stats

    def state_shapes(self, input_shape):
        return {"mean": (input_shape[-1],), "variance": (input_shape[-1],)}

    def initial_value(self, key, shape, rng, dtype):
        if self._pending is None:
            raise ValueError(
                "Normalization has no statistics: call layer.adapt(X) before building or "
                "training the model, or give mean= and variance=."
            )
        if self._pending[key].shape != shape:
            raise ValueError(
                f"Normalization was adapted to {self._pending[key].size} features but is "
                f"built for {shape[0]}."
            )
        return self._pending[key].astype(dtype)

    def forward(self, x, training=False):
        """o = (x − mean) / max(√variance, 1e-7)."""
        return (x - self.state["mean"]) / self._std()

    def backward(self, grad_output):
        """∂L/∂x = ∂L/∂o / max(√variance, 1e-7)."""
        return grad_output / self._std()

    def _std(self) -> np.ndarray:
        return np.maximum(np.sqrt(self.state["variance"]), _MIN_STD).astype(self.dtype)

    def get_config(self):
        stats = self.state if self.built else self._pending
        if stats is None:
            return {**super().get_config(), "mean": None, "variance": None}
        return {
            **super().get_config(),
            "mean": np.asarray(stats["mean"]).tolist(),
            "variance": np.asarray(stats["variance"]).tolist(),
        }
