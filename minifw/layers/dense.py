"""Dense: the fully connected layer."""

from __future__ import annotations

import numpy as np

from .. import initializers, regularizers
from ..validation import positive_int
from . import activations
from .base import Layer


class Dense(Layer):
    """Fully connected layer: net_j = Σ_i o_i · w_ij + b_j, batched as NET = X @ W + b.

    Shapes: X (n, in), W (in, units), b (units,), output (n, units). W[i-1, j-1]
    is the lecture's w^l_ij, the weight from unit i of the previous layer to
    unit j of this one, so no transpose is ever needed.

    Backward, given G = ∂L/∂NET with shape (n, units):

        ∂L/∂W = Xᵀ @ G          ∂L/∂w_ij = Σ over samples of o_i · ∂L/∂net_j
        ∂L/∂b = Σ over samples of G
        ∂L/∂X = G @ Wᵀ          (passed to the previous layer)

    A model adds the regularizers' penalties to its loss, and their
    gradients to ∂L/∂W and ∂L/∂b.

    Parameters
    ----------
    units : int
        Number of units j in this layer.
    activation : str or Activation, optional
        Shorthand for this layer followed by that activation layer
        (``"relu"``, ``"sigmoid"``, ...); None means net is the output.
    input_dim : int, optional
        Number of input features, for the first layer of a model.
    kernel_initializer, bias_initializer : str or Initializer
        How W and b start; the lecture uses ``"ones"`` and ``"zeros"``.
    use_bias : bool
        Without a bias, ``params`` holds only ``"W"``.
    kernel_regularizer, bias_regularizer : str or Regularizer, optional
        Penalties on W and b (``"l2"``, ``L1L2(...)``) added to the loss.

    Examples
    --------
    >>> import numpy as np
    >>> from minifw.initializers import Constant
    >>> layer = Dense(1, kernel_initializer=Constant(0.5), bias_initializer="ones")
    >>> layer(np.array([[1.0, 2.0]]))
    array([[2.5]])
    """

    def __init__(
        self,
        units: int,
        activation: str | dict | activations.Activation | None = None,
        *,
        input_dim: int | None = None,
        kernel_initializer: str | dict | initializers.Initializer = "glorot_uniform",
        bias_initializer: str | dict | initializers.Initializer = "zeros",
        use_bias: bool = True,
        kernel_regularizer: str | dict | regularizers.Regularizer | None = None,
        bias_regularizer: str | dict | regularizers.Regularizer | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.units = positive_int(units, "units", "Dense")
        self.input_dim = (
            None if input_dim is None else positive_int(input_dim, "input_dim", "Dense")
        )
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        if not isinstance(use_bias, bool):
            raise TypeError(f"Dense: `use_bias` must be True or False. Received: {use_bias!r}")
        self.use_bias = use_bias
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer) if use_bias else None
        self._x: np.ndarray | None = None
        self._out: np.ndarray | None = None

    @property
    def declared_input_shape(self) -> tuple | None:
        return None if self.input_dim is None else (None, self.input_dim)

    def _init_params(self, input_shape, rng, dtype):
        if len(input_shape) != 2:
            raise ValueError(
                f"Dense expects 2-D inputs (batch, features), got input shape {input_shape}. "
                "Put a Flatten layer before it."
            )
        if self.input_dim is not None and input_shape[1] != self.input_dim:
            raise ValueError(
                f"Dense was declared with input_dim={self.input_dim} but is built for "
                f"{input_shape[1]} features."
            )
        params = {"W": self.kernel_initializer((input_shape[1], self.units), rng, dtype)}
        if self.use_bias:
            params["b"] = self.bias_initializer((self.units,), rng, dtype)
        if self.activation is not None:
            self.activation.build((None, self.units), rng, dtype)
        return params

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def steps(self):
        # Split into linear part and activation only when forward/backward are Dense's
        # own: a subclass that overrides them must run as written.
        own = type(self).forward is Dense.forward and type(self).backward is Dense.backward
        if self.activation is None or not own:
            return super().steps()
        linear = (self, self.forward_linear, self.backward_linear)
        return [linear, (self.activation, self.activation.forward, self.activation.backward)]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        net = self.forward_linear(x, training)
        return net if self.activation is None else self.activation.forward(net, training)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        if self.activation is not None:
            grad_out = self.activation.backward(grad_out)  # ∂L/∂net = ∂L/∂o · f'(net)
        return self.backward_linear(grad_out)

    def forward_linear(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """NET = X @ W + b, before the activation."""
        self._check_input(x)
        self._x = x  # cached for ∂L/∂W = Xᵀ G
        net = x @ self.params["W"]
        if self.use_bias:
            net += self.params["b"]
        self._out = net
        return net

    def backward_linear(self, grad_out: np.ndarray) -> np.ndarray | None:
        """∂L/∂X from ``grad_out`` = ∂L/∂NET, writing ∂L/∂W and ∂L/∂b into ``grads``."""
        self._check_grad(grad_out, self._out)
        # Written in place: params and grads may be views into a model's flat buffers.
        np.matmul(self._x.T, grad_out, out=self.grads["W"])  # ∂L/∂W = Xᵀ G
        if self.use_bias:
            np.add.reduce(grad_out, axis=0, out=self.grads["b"])  # ∂L/∂b = Σ_n G
        if not self.needs_input_grad:
            return None
        return grad_out @ self.params["W"].T  # ∂L/∂X = G Wᵀ

    def regularizers(self) -> dict:
        pairs = {"W": self.kernel_regularizer, "b": self.bias_regularizer}
        return {key: regularizer for key, regularizer in pairs.items() if regularizer is not None}

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "input_dim": self.input_dim,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "use_bias": self.use_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }
