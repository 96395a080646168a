"""Dense: the fully connected layer."""

from __future__ import annotations

import numpy as np

from .. import initializers, regularizers
from ..validation import positive_int
from . import activations
from .base import register
from .kernel import KernelLayer

# From about a million weights on, a broadcast outer product beats BLAS's matrix
# product with an inner dimension of 1 (measured: 1024×4096 float32, 0.99 ms vs
# 2.5 ms; at 784×256 the product is still twice as fast).
_OUTER_PRODUCT_MIN_SIZE = 2**20


@register()
class Dense(KernelLayer):
    """Fully connected layer: net_j = Σ_i o_i · w_ij + b_j, batched as NET = X @ W + b.

    Shapes: X (n, in), W (in, units), b (units,), output (n, units). W[i-1, j-1]
    is the lecture's w^l_ij, the weight from unit i of the previous layer to
    unit j of this one, so no transpose is ever needed. A sequence X (n, T, in)
    gives (n, T, units): the same W and b at every step, as Keras applies Dense
    to the last axis; the gradients below then sum over samples and steps.

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
        Number of input features, for the first layer of a model
        (``input_shape=(features,)`` is the same, as in Keras).
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

    keeps_mask = True  # each step alone: a sequence's mask passes through
    any_length = True

    def __init__(
        self,
        units: int,
        activation: str | dict | activations.Activation | None = None,
        *,
        input_dim: int | None = None,
        input_shape: tuple[int] | None = None,
        kernel_initializer: str | dict | initializers.Initializer = "glorot_uniform",
        bias_initializer: str | dict | initializers.Initializer = "zeros",
        use_bias: bool = True,
        kernel_regularizer: str | dict | regularizers.Regularizer | None = None,
        bias_regularizer: str | dict | regularizers.Regularizer | None = None,
        name: str | None = None,
    ) -> None:
        sequence_shape = None  # (timesteps, features) when declared for sequences
        if input_shape is not None:
            if not isinstance(input_shape, (tuple, list)) or len(input_shape) not in (1, 2):
                raise ValueError(
                    f"Dense: `input_shape` must be (features,), or (timesteps, features) for "
                    f"sequences. Received: input_shape={input_shape!r}. Put a Flatten layer "
                    "first for images."
                )
            if input_dim is not None and input_dim != input_shape[-1]:
                raise ValueError("Dense: `input_dim` and `input_shape` disagree.")
            input_dim = positive_int(input_shape[-1], "input_shape's features", "Dense")
            sequence_shape = tuple(input_shape) if len(input_shape) == 2 else None
        super().__init__(
            activation,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            use_bias=use_bias,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            name=name,
            input_shape=sequence_shape,
        )
        self.units = positive_int(units, "units", "Dense")
        self.input_dim = (
            None if input_dim is None else positive_int(input_dim, "input_dim", "Dense")
        )
        self._x: np.ndarray | None = None

    @property
    def declared_input_shape(self) -> tuple | None:
        if self.declared is not None:  # (timesteps, features)
            return (None, *self.declared)
        return None if self.input_dim is None else (None, self.input_dim)

    def kernel_shape(self, input_shape):
        """W: (inputs, units), so that W[i-1, j-1] is w^l_ij; a sequence's last axis."""
        if len(input_shape) not in (2, 3):
            raise ValueError(
                f"Dense expects 2-D inputs (batch, features) or sequences (batch, timesteps, "
                f"features), got input shape {input_shape}. Put a Flatten layer before it."
            )
        if self.input_dim is not None and input_shape[-1] != self.input_dim:
            raise ValueError(
                f"Dense was declared with input_dim={self.input_dim} but is built for "
                f"{input_shape[-1]} features."
            )
        return (input_shape[-1], self.units)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    # ``a.dot(b)`` rather than ``a @ b``: the same BLAS call, with half the per-call
    # overhead on small arrays, which is what batch-1 training pays for.

    def net(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """NET = X @ W + b, before the activation; on a sequence (n, T, k), at every step
        with the same W and b, as one product (n·T, k) @ W."""
        if x.ndim > 2:
            net = self.net(x.reshape(-1, x.shape[-1]), training)
            return net.reshape(*x.shape[:-1], self.units)
        self._x = x  # cached for ∂L/∂W = Xᵀ G
        net = x.dot(self.params["W"])
        if self.use_bias:
            net += self.params["b"][np.newaxis]  # as a row: NumPy broadcasts it faster
        return net

    def net_backward(self, grad_net: np.ndarray) -> np.ndarray:
        """∂L/∂X = G Wᵀ from ``grad_net`` = G = ∂L/∂NET, after ``parameter_gradients``."""
        if grad_net.ndim > 2:  # a sequence: its steps as rows, as ``net`` took them
            grad_x = self.net_backward(grad_net.reshape(-1, self.units))
            return grad_x.reshape(*grad_net.shape[:-1], grad_x.shape[-1])
        self.parameter_gradients(grad_net)
        return grad_net.dot(self.params["W"].T)  # ∂L/∂X = G Wᵀ

    def parameter_gradients(self, grad_net: np.ndarray) -> None:
        """∂L/∂W = Xᵀ G and ∂L/∂b = Σ_rows G, written into ``grads`` (G = ∂L/∂NET): all a
        model's first layer computes, its ∂L/∂X being needed by nothing."""
        # Written in place: params and grads may be views into a model's flat buffers.
        if grad_net.ndim > 2:  # a sequence's steps as rows
            grad_net = grad_net.reshape(-1, self.units)
        dW, x = self.grads["W"], self._x
        if len(x) == 1 and dW.size >= _OUTER_PRODUCT_MIN_SIZE:
            np.multiply(x.T, grad_net, out=dW)  # one row: ∂L/∂W is an outer product
        else:
            x.T.dot(grad_net, out=dW)  # ∂L/∂W = Xᵀ G
        if self.use_bias:
            if len(grad_net) == 1:
                self.grads["b"][...] = grad_net[0]
            else:
                grad_net.sum(axis=0, out=self.grads["b"])  # ∂L/∂b = Σ_rows G

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "input_dim": self.input_dim}
