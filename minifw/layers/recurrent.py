"""Recurrent layers over sequences X (n, T, features): SimpleRNN, LSTM and GRU.

The three share one time loop (``Recurrent``). Forward, the input's part of every
step in one product, Zₓ = X W + b for all t at once ((n·T, features) @ (features,
G·units), G the number of gate blocks), then per step only h_{t−1} U and the
cell's elementwise gates:

    z_t = Zₓ[t] + h_{t−1} U,    h_t (and c_t) = cell(z_t, state_{t−1}),    h_0 = 0

Backward (backpropagation through time), the same in reverse: ∂L/∂h_t is the
path through the output at t plus the path through step t+1, each cell's step
backward gives ∂L/∂z_t (for the input's part and, for the GRU's reset gate, the
recurrent part separately), and the weights' gradients are one product each over
all the steps: ∂L/∂W = Xᵀ ∂L/∂Zₓ, ∂L/∂U = H_{t−1}ᵀ ∂L/∂Z_h, ∂L/∂b = Σ ∂L/∂Z.
A batch holds, for the backward pass, the input projections and each step's
gates and states: about 2G + 2 times the output of ``return_sequences=True``.

Weights follow Keras's layout and gate order: ``W`` (features, G·units), ``U``
(units, G·units), ``b`` (G·units,) — LSTM's gates i, f, c, o; GRU's z, r, h with
``b`` (2, 3·units), the input and recurrent biases (``reset_after=True``, Keras's
and PyTorch's form). The activations are minifw's own layers (their formulas).
"""

from __future__ import annotations

import numpy as np

from .. import initializers
from ..validation import positive_int
from . import activations
from .base import Layer, Weight, register

__all__ = ["Recurrent", "SimpleRNN", "LSTM", "GRU"]


class Recurrent(Layer):
    """The shared time loop (see the module docstring); a cell writes ``step`` and
    ``step_backward`` and says how many gate blocks (``gates``) its kernels hold."""

    gates = 1
    any_length = True

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation=None,
        *,
        return_sequences: bool = False,
        go_backwards: bool = False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        input_shape: tuple | None = None,
        name: str | None = None,
    ) -> None:
        owner = type(self).__name__
        if input_shape is not None and (
            not isinstance(input_shape, (tuple, list)) or len(input_shape) != 2
        ):
            raise ValueError(
                f"{owner}: `input_shape` must be (timesteps, features). "
                f"Received: input_shape={input_shape!r}"
            )
        super().__init__(name=name, input_shape=input_shape)
        self.units = positive_int(units, "units", owner)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        for flag, value in (("return_sequences", return_sequences), ("go_backwards", go_backwards)):
            if not isinstance(value, bool):
                raise TypeError(f"{owner}: `{flag}` must be True or False. Received: {value!r}")
        self.return_sequences, self.go_backwards = return_sequences, go_backwards
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    # -- shapes and weights ----------------------------------------------------------

    def _sequence_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects sequences of shape (n, timesteps, features); "
                f"got input shape {input_shape}. For one feature per step use X[..., None]."
            )
        return input_shape

    def compute_output_shape(self, input_shape):
        n, steps, _ = self._sequence_shape(input_shape)
        return (n, steps, self.units) if self.return_sequences else (n, self.units)

    def weights(self, input_shape):
        features = self._sequence_shape(input_shape)[2]
        width = self.gates * self.units
        return {
            "W": Weight((features, width), self.kernel_initializer),
            "U": Weight((self.units, width), self.recurrent_initializer),
            "b": Weight(self.bias_shape(), self.bias_initializer),
        }

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def input_bias(self) -> np.ndarray:
        """The bias added to the input's part of z (all of it, but for the GRU)."""
        return self.params["b"]

    def recurrent_bias(self) -> np.ndarray | None:
        """The bias added to the recurrent part h U (the GRU's second row), or None."""
        return None

    # -- the time loop ---------------------------------------------------------------

    @property
    def makes_mask(self) -> bool:
        """Returning sequences, its outputs carry its input's mask on (``output_mask``)."""
        return self.return_sequences

    def forward(self, x, training=False):
        """h_t for every step (``return_sequences``) or the last, from h_0 = 0. Where the
        input's mask (``mask_from``) marks a step as padding, the state (h, and c) and the
        output are carried over from the step before, as Keras does."""
        xs = x[:, ::-1] if self.go_backwards else x
        n, steps, features = xs.shape
        mask = None if self.mask_from is None else self.mask_from.output_mask
        if mask is not None:  # in processing order, as a 0/1 column per step
            mask = (mask[:, ::-1] if self.go_backwards else mask)[:, :, None].astype(x.dtype)
        W, U = self.params["W"], self.params["U"]
        inputs = (xs.reshape(n * steps, features) @ W).reshape(n, steps, -1)
        inputs += self.input_bias()
        state = self.start(n, x.dtype)
        hidden = np.empty((n, steps, self.units), dtype=x.dtype)
        caches = []
        bias = self.recurrent_bias()
        for t in range(steps):
            recurrent = state[0] @ U  # a new array, which the cell may use in place
            if bias is not None:
                recurrent += bias
            new, cache = self.step(inputs[:, t], recurrent, state)
            if mask is not None:  # padding keeps the state it had
                kept = mask[:, t]
                new = tuple(part * kept + old * (1 - kept) for part, old in zip(new, state))
            state = new
            hidden[:, t] = state[0]
            caches.append(cache)
        self._saved = (xs, hidden, caches, mask)
        if self.return_sequences:
            self.output_mask = None if mask is None else mask[:, :, 0] != 0
        return hidden if self.return_sequences else hidden[:, -1].copy()

    def backward(self, grad_output):
        """Backpropagation through time: the cells' steps backward from the last, then one
        product each for ∂L/∂W, ∂L/∂U, ∂L/∂b and ∂L/∂X."""
        xs, hidden, caches, mask = self._saved
        n, steps, features = xs.shape
        W, U = self.params["W"], self.params["U"]
        width = W.shape[1]
        d_inputs = np.empty((n, steps, width), dtype=xs.dtype)
        # the recurrent part of ∂L/∂z, where it differs from the input's (the GRU's)
        d_recurrent = d_inputs if self.recurrent_bias() is None else np.empty_like(d_inputs)
        carry = self.start(n, xs.dtype)  # ∂L/∂state_t through step t+1
        for t in range(steps - 1, -1, -1):
            dh = carry[0]
            if self.return_sequences:
                dh = dh + grad_output[:, t]
            elif t == steps - 1:
                dh = dh + grad_output
            if mask is not None:  # a padded step passed its state on unchanged
                kept = mask[:, t]
                passed = (dh * (1 - kept), *(part * (1 - kept) for part in carry[1:]))
                dh, carry = dh * kept, tuple(part * kept for part in carry)
            d_in, d_rec, direct = self.step_backward(dh, carry, caches[t])
            d_inputs[:, t] = d_in
            if d_recurrent is not d_inputs:
                d_recurrent[:, t] = d_rec
            through_u = d_rec @ U.T  # the path through h_{t−1} U
            if direct[0] is not None:
                through_u += direct[0]
            carry = (through_u, *direct[1:])
            if mask is not None:
                carry = tuple(part + skipped for part, skipped in zip(carry, passed))
        previous = np.concatenate([np.zeros_like(hidden[:, :1]), hidden[:, :-1]], axis=1)
        flat_in, flat_rec = d_inputs.reshape(n * steps, width), d_recurrent.reshape(-1, width)
        self.grads["W"][...] = xs.reshape(n * steps, features).T @ flat_in
        self.grads["U"][...] = previous.reshape(n * steps, self.units).T @ flat_rec
        self.bias_gradients(flat_in.sum(axis=0), flat_rec.sum(axis=0))
        dx = (flat_in @ W.T).reshape(n, steps, features)
        return dx[:, ::-1] if self.go_backwards else dx

    def bias_gradients(self, d_input_bias: np.ndarray, d_recurrent_bias: np.ndarray) -> None:
        self.grads["b"][...] = d_input_bias

    def start(self, n: int, dtype) -> tuple[np.ndarray, ...]:
        """The zero state (h_0, and c_0 for the LSTM)."""
        return (np.zeros((n, self.units), dtype=dtype),)

    def step(self, z_input, z_recurrent, state):
        """One time step: the new state (h first) and what ``step_backward`` needs."""
        raise NotImplementedError

    def step_backward(self, dh, carry, cache):
        """(∂L/∂z's input part, ∂L/∂z's recurrent part (of h U + its bias), ∂L/∂state_{t−1}
        along the paths that do not pass through U — None for h where there is none),
        given ∂L/∂h_t and the carried ∂L/∂c_t (the LSTM's)."""
        raise NotImplementedError

    # -- description -----------------------------------------------------------------

    def get_config(self):
        config = {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "return_sequences": self.return_sequences,
            "go_backwards": self.go_backwards,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config


@register()
class SimpleRNN(Recurrent):
    """h_t = act(x_t W + h_{t−1} U + b), h_0 = 0 (Keras's SimpleRNN, PyTorch's RNN).

    Backward: ∂L/∂z_t = ∂L/∂h_t · act'(z_t), ∂L/∂h_{t−1} = ∂L/∂z_t Uᵀ.
    """

    def __init__(self, units: int, activation="tanh", **options) -> None:
        super().__init__(units, activation, None, **options)

    def step(self, z_input, z_recurrent, state):
        z = z_recurrent
        z += z_input
        h = self.activation.activate(z)
        return (h,), (z, h)

    def step_backward(self, dh, carry, cache):
        z, h = cache
        dz = dh * self.activation.derivative(z, h)
        return dz, dz, (None,)

    def get_config(self):
        config = super().get_config()
        config.pop("recurrent_activation", None)
        return config


@register()
class LSTM(Recurrent):
    """Keras's LSTM, gates in the order i, f, c, o (each a block of ``units`` columns):

        i = σ(z_i), f = σ(z_f), g = act(z_c), o = σ(z_o)   (σ: recurrent_activation)
        c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ act(c_t)

    Backward, from ∂L/∂h_t and the carried ∂L/∂c_t:
        ∂L/∂o = ∂L/∂h ⊙ act(c_t);  ∂L/∂c_t += ∂L/∂h ⊙ o ⊙ act'(c_t)
        ∂L/∂i = ∂L/∂c ⊙ g, ∂L/∂f = ∂L/∂c ⊙ c_{t−1}, ∂L/∂g = ∂L/∂c ⊙ i,
        ∂L/∂c_{t−1} = ∂L/∂c ⊙ f, and each gate's ∂L/∂z through its activation's slope.

    ``unit_forget_bias=True`` starts the forget gate's bias at 1 (Keras's default).
    """

    gates = 4

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        *,
        unit_forget_bias: bool = True,
        **options,
    ) -> None:
        super().__init__(units, activation, recurrent_activation, **options)
        if not isinstance(unit_forget_bias, bool):
            raise TypeError(
                f"LSTM: `unit_forget_bias` must be True or False. Received: {unit_forget_bias!r}"
            )
        self.unit_forget_bias = unit_forget_bias

    def build(self, input_shape, rng=None, dtype="float64"):
        super().build(input_shape, rng, dtype)
        if self.unit_forget_bias:
            self.params["b"][self.units : 2 * self.units] = 1.0

    def start(self, n, dtype):
        return (np.zeros((n, self.units), dtype=dtype), np.zeros((n, self.units), dtype=dtype))

    def step(self, z_input, z_recurrent, state):
        h_prev, c_prev = state
        z = z_recurrent
        z += z_input
        u = self.units
        gate, act = self.recurrent_activation, self.activation
        input_and_forget = gate.activate(z[:, : 2 * u])  # i and f in one call
        i, f = input_and_forget[:, :u], input_and_forget[:, u:]
        g, o = act.activate(z[:, 2 * u : 3 * u]), gate.activate(z[:, 3 * u :])
        c = f * c_prev + i * g
        a = act.activate(c)
        h = o * a
        return (h, c), (z, i, f, g, o, c_prev, c, a)

    def step_backward(self, dh, carry, cache):
        z, i, f, g, o, c_prev, c, a = cache
        u = self.units
        gate, act = self.recurrent_activation, self.activation
        dc = carry[1] + dh * o * act.derivative(c, a)
        dz = np.empty_like(z)
        dz[:, :u] = dc * g * gate.derivative(z[:, :u], i)
        dz[:, u : 2 * u] = dc * c_prev * gate.derivative(z[:, u : 2 * u], f)
        dz[:, 2 * u : 3 * u] = dc * i * act.derivative(z[:, 2 * u : 3 * u], g)
        dz[:, 3 * u :] = dh * a * gate.derivative(z[:, 3 * u :], o)
        dc *= f  # ∂L/∂c_{t−1}
        return dz, dz, (None, dc)

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@register()
class GRU(Recurrent):
    """Keras's GRU with ``reset_after=True`` (PyTorch's form), gates in the order z, r, h:

        z = σ(x W_z + h U_z + b_z),  r = σ(x W_r + h U_r + b_r)
        h̃ = act(x W_h + b_xh + r ⊙ (h U_h + b_hh)),   h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃

    ``b`` has shape (2, 3·units): the input biases, then the recurrent ones.
    Backward: ∂L/∂z = ∂L/∂h ⊙ (h_{t−1} − h̃), ∂L/∂h̃ = ∂L/∂h ⊙ (1 − z), ∂L/∂r =
    ∂L/∂net_h ⊙ (h U_h + b_hh), and the recurrent part of ∂L/∂net_h is ⊙ r.
    """

    gates = 3

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        *,
        reset_after: bool = True,
        **options,
    ) -> None:
        super().__init__(units, activation, recurrent_activation, **options)
        if reset_after is not True:
            raise ValueError(
                "GRU: only reset_after=True (Keras's default, PyTorch's form) is supported. "
                f"Received: reset_after={reset_after!r}"
            )
        self.reset_after = reset_after

    def bias_shape(self):
        return (2, 3 * self.units)

    def input_bias(self):
        return self.params["b"][0]

    def recurrent_bias(self):
        return self.params["b"][1]

    def bias_gradients(self, d_input_bias, d_recurrent_bias):
        self.grads["b"][0] = d_input_bias
        self.grads["b"][1] = d_recurrent_bias

    def step(self, z_input, z_recurrent, state):
        (h_prev,) = state
        u = self.units
        gate, act = self.recurrent_activation, self.activation
        gates_net = z_input[:, : 2 * u] + z_recurrent[:, : 2 * u]
        z = gate.activate(gates_net[:, :u])
        r = gate.activate(gates_net[:, u:])
        recurrent_h = z_recurrent[:, 2 * u :]
        net_h = z_input[:, 2 * u :] + r * recurrent_h
        candidate = act.activate(net_h)
        h = z * h_prev + (1 - z) * candidate
        return (h,), (gates_net, z, r, recurrent_h, net_h, candidate, h_prev)

    def step_backward(self, dh, carry, cache):
        gates_net, z, r, recurrent_h, net_h, candidate, h_prev = cache
        u = self.units
        gate, act = self.recurrent_activation, self.activation
        d_net_h = dh * (1 - z) * act.derivative(net_h, candidate)
        d_in = np.empty((len(dh), 3 * u), dtype=dh.dtype)
        d_in[:, :u] = dh * (h_prev - candidate) * gate.derivative(gates_net[:, :u], z)
        d_in[:, u : 2 * u] = d_net_h * recurrent_h * gate.derivative(gates_net[:, u:], r)
        d_in[:, 2 * u :] = d_net_h
        d_rec = d_in.copy()
        d_rec[:, 2 * u :] *= r
        return d_in, d_rec, (dh * z,)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}
