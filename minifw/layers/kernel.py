"""KernelLayer: the weighted sum of the inputs, then an activation (Dense, Conv2D)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import initializers, regularizers
from . import activations
from .base import LOCAL, BatchContext, Layer, Step, Weight


class KernelLayer(Layer):
    """What Dense and Conv2D share (and the recurrent layers next): a weighted sum of the
    inputs, the lecture's net = Σ_i o_i w_ij + b_j (a convolution for Conv2D), then an
    optional activation, o = f(net).

    A subclass writes its arithmetic under fixed names: ``kernel_shape`` (W's shape for
    an input shape; b has one entry per output channel, W's last axis), ``net(x,
    training)`` (NET), ``net_backward(grad_net)`` (∂L/∂X, after ``parameter_gradients``)
    and ``parameter_gradients(grad_net)`` (∂L/∂W and ∂L/∂b into ``grads``: all a model's
    first layer computes). The weights, their initializers and penalties, ``use_bias``,
    the activation and the config are shared here. A model runs net and the activation
    as two steps, so that it can fuse the last activation with its loss; ``forward`` and
    ``backward`` chain the two for a public call.
    """

    output_kind = "raw"  # of net: Σ o_i w_ij + b_j, before any activation

    def __init__(
        self,
        activation=None,
        *,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        use_bias: bool = True,
        kernel_regularizer=None,
        bias_regularizer=None,
        name: str | None = None,
        input_shape: tuple | None = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        if not isinstance(use_bias, bool):
            raise TypeError(
                f"{type(self).__name__}: `use_bias` must be True or False. Received: {use_bias!r}"
            )
        self.use_bias = use_bias
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer) if use_bias else None

    # -- what a subclass writes --------------------------------------------------------------

    def kernel_shape(self, input_shape: tuple) -> tuple[int, ...]:
        """W's shape for inputs of ``input_shape``; its last axis is the output channels."""
        raise NotImplementedError

    def net(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """NET, the weighted sum before the activation."""
        raise NotImplementedError

    def net_backward(self, grad_net: np.ndarray) -> np.ndarray:
        """∂L/∂X from ``grad_net`` = ∂L/∂NET, filling the parameter gradients first."""
        raise NotImplementedError

    def parameter_gradients(self, grad_net: np.ndarray) -> None:
        """∂L/∂W and ∂L/∂b into ``grads``, from ``grad_net`` = ∂L/∂NET."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------

    def weights(self, input_shape):
        """W (kernel_shape) and, with ``use_bias``, b (one per output channel)."""
        kernel = tuple(self.kernel_shape(input_shape))
        described = {"W": Weight(kernel, self.kernel_initializer, self.kernel_regularizer)}
        if self.use_bias:
            described["b"] = Weight(kernel[-1:], self.bias_initializer, self.bias_regularizer)
        return described

    def build(self, input_shape, rng=None, dtype="float64"):
        super().build(input_shape, rng, dtype)
        if self.activation is not None:
            self.activation.build(self.output_shape, rng, self.dtype)

    def steps(self, context: BatchContext = LOCAL):
        if type(self).forward is not KernelLayer.forward or (
            type(self).backward is not KernelLayer.backward
        ):  # a subclass that overrides them runs as written, its forward checked: its
            # backward may call the checked backward it overrides (super().backward)
            (step,) = super().steps(context)
            return [replace(step, forward=self.forward)]
        net = Step(self, self.net, self.net_backward, self.parameter_gradients)
        return [net] if self.activation is None else [net, *self.activation.steps(context)]

    def forward(self, x, training=False):
        """o = f(net(x)), f the activation if any."""
        out = self.net(x, training)
        return out if self.activation is None else self.activation.forward(out, training)

    def backward(self, grad_output):
        """Through the activation's f' first, then net's backward."""
        if self.activation is not None:
            grad_output = self.activation.backward(grad_output)
        return self.net_backward(grad_output)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "activation": activations.serialize(self.activation),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "use_bias": self.use_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }
