"""Numeric gradients by central differences, to check every analytic gradient.

    ∂f/∂θ ≈ (f(θ + ε) − f(θ − ε)) / 2ε,   error O(ε²)

computed in float64, one entry at a time, perturbing in place and restoring.
Each parameter array is compared as a whole, analytic a against numeric n:

    error = max(‖a − n‖ − noise, 0) / max(‖a‖, ‖n‖, noise)

where ``noise`` bounds what round-off alone can put into n. Each loss value
carries a round-off of about u · max(1, |L|) (u = 2.2e-16, float64's machine
epsilon), and the difference quotient divides it by ε, so per entry

    noise = 100 · u · max(1, |L|) / ε · √(entries)      (2.2e-8 · max(1, |L|) for ε = 1e-6)

with a margin of 100 for the amplification through the layers, and √(entries)
because independent round-off adds up like a random walk in the norm. A
difference that noise explains counts as 0, whatever BLAS kernel computed the
loss: a gradient that is exactly zero (a bias before BatchNormalization) scores
0, not the 1e-3 its noise would give as a plain ratio. Correct gradients score
0 or around 1e-8 (the O(ε²) truncation); a wrong factor of 2 gives 0.5, a wrong
sign 2. The price: a wrong gradient smaller than ``noise`` (below about 1e-8 ·
|L| per entry) cannot be told from a right one, as with any finite difference.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy

import numpy as np
from numpy.typing import ArrayLike

from ..layers.base import Layer
from ..losses import Loss, MSELoss
from ..model import Sequential

__all__ = ["gradcheck", "numeric_gradient", "relative_error", "round_off_noise"]


def numeric_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    ``x`` is perturbed in place (one entry at a time) and restored exactly, so
    ``f`` must read it; ``x`` must be a contiguous float array.
    """
    if not (x.flags.c_contiguous and x.dtype.kind == "f"):
        raise ValueError("numeric_gradient needs a C-contiguous float array to perturb.")
    flat = x.reshape(-1)
    grad = np.empty(flat.size, dtype=np.float64)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad.reshape(x.shape)


def relative_error(analytic: ArrayLike, numeric: ArrayLike, noise: float = 0.0) -> float:
    """max(‖a − n‖ − noise, 0) / max(‖a‖, ‖n‖, noise) between two gradients; 0 when both
    are 0 or when their difference is within ``noise`` (see the module docstring)."""
    a = np.asarray(analytic, dtype=np.float64).ravel()
    n = np.asarray(numeric, dtype=np.float64).ravel()
    scale = max(np.linalg.norm(a), np.linalg.norm(n), noise)
    excess = max(float(np.linalg.norm(a - n)) - noise, 0.0)
    return 0.0 if scale == 0 else float(excess / scale)


def round_off_noise(loss: float, eps: float, entries: int) -> float:
    """The most round-off can put into the norm of a central-difference gradient of
    ``entries`` entries, for a loss of size ``loss`` (see the module docstring)."""
    unit = np.finfo(np.float64).eps
    return 100 * unit * max(1.0, abs(loss)) / eps * float(np.sqrt(entries))


def gradcheck(
    model_or_layer: Sequential | Layer,
    X: ArrayLike,
    y: ArrayLike | None = None,
    *,
    loss: Loss | None = None,
    eps: float = 1e-6,
) -> dict[str, float]:
    """Check every analytic gradient against central differences, in float64.

    For a model, the loss is ``loss``, else the compiled loss, else MSE (plus any
    weight penalties), and the result has one entry per trainable parameter
    array (``"dense_1/W"``, ...). For a
    single layer, L = MSE(y, layer(X)) with ``y`` a fixed random target when
    omitted, and the result also has ``"input"`` for ∂L/∂X.

    The object checked is a float64 copy: the model or layer itself is not changed.

    Returns
    -------
    dict
        Relative error per parameter array (see the module docstring).

    Examples
    --------
    >>> import numpy as np, minifw as mf
    >>> X = np.random.default_rng(0).normal(size=(5, 3))
    >>> errors = mf.gradcheck(mf.layers.Dense(2, activation="tanh"), X)
    >>> sorted(errors), max(errors.values()) < 1e-7
    (['W', 'b', 'input'], True)
    """
    if isinstance(model_or_layer, Sequential):
        return _check_model(model_or_layer, X, y, loss, eps)
    if isinstance(model_or_layer, Layer):
        return _check_layer(model_or_layer, X, y, loss or MSELoss(), eps)
    raise TypeError(
        f"gradcheck expects a Sequential or a Layer. Received: {type(model_or_layer).__name__}."
    )


def _replaying_randomness(layers) -> Callable[[], None]:
    """A function that rewinds every layer's random generator (Dropout's) to where it is
    now, so that each forward pass of the check draws the same masks."""
    saved = [(layer.rng, layer.rng.bit_generator.state) for layer in layers if layer.rng]

    def rewind() -> None:
        for rng, state in saved:
            rng.bit_generator.state = state

    return rewind


def _check_model(model, X, y, loss, eps) -> dict[str, float]:
    if y is None:
        raise ValueError("gradcheck on a model needs targets y.")
    model.prepare(X)  # checks X, and builds the model from it if needed
    copy = model.copy(dtype="float64")
    copy.compile("sgd", loss or model.loss or MSELoss())
    X, Y = copy.prepare(X, y)
    X = X.astype(np.float64)
    plan = copy.plan
    same_masks = _replaying_randomness(copy.layers)
    loss, _ = plan.loss_and_gradients(X, Y)
    trainable = [slot for slot in copy.parameters.slots if slot.trainable]
    analytic = [slot.layer.grads[slot.key].copy() for slot in trainable]

    def f() -> float:
        same_masks()
        return plan.loss.value(Y, plan.outputs(X, True)) + plan.penalty()

    return {
        slot.name: relative_error(
            grad,
            numeric_gradient(f, slot.array, eps),
            round_off_noise(loss, eps, grad.size),
        )
        for slot, grad in zip(trainable, analytic)
    }


def _check_layer(layer, X, y, loss, eps) -> dict[str, float]:
    X = np.array(X, dtype=np.float64)  # a copy, perturbed in place below
    copy = deepcopy(layer)
    copy.build(layer.input_shape or X.shape, np.random.default_rng(0), "float64")
    for kind in ("params", "state"):  # a built layer's own values, in float64
        for key, value in getattr(layer, kind).items():
            getattr(copy, kind)[key][...] = value
    same_masks = _replaying_randomness([copy])
    out = copy.forward(X, training=True)
    if y is None:
        y = np.random.default_rng(1).normal(size=out.shape)
    y = np.asarray(y, dtype=np.float64)
    analytic = {"input": copy.backward(loss.backward(y, out))}
    analytic.update((key, grad.copy()) for key, grad in copy.grads.items())

    def f() -> float:
        same_masks()
        return loss.forward(y, copy.forward(X, training=True))

    arrays = {"input": X, **copy.params} if copy.differentiable_input else dict(copy.params)
    loss_value = f()
    return {
        name: relative_error(
            analytic[name],
            numeric_gradient(f, array, eps),
            round_off_noise(loss_value, eps, array.size),
        )
        for name, array in arrays.items()
    }
