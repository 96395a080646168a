"""One training step written out in the lecture's notation: ``mf.explain``.

``trace`` computes the numbers once, as records (units, derivatives with their
chain-rule factors, updates); ``text`` writes them out. ``notation`` holds the
symbols both use.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ...errors import NotCompiledError
from ...layers.convolution import Conv2D
from ...layers.recurrent import SimpleRNN
from ...validation import positive_float
from .convolution import ConvolutionCell, convolution_cell
from .through_time import ThroughTime, record_updates, through_time
from .through_time import refusal as through_time_refusal
from .trace import (
    Derivative,
    Explanation,
    Factor,
    UnitStep,
    Update,
    dense_layers,
    record_update,
    softmax_output,
    trace,
)

__all__ = [
    "explain",
    "Explanation",
    "ThroughTime",
    "ConvolutionCell",
    "Derivative",
    "Factor",
    "UnitStep",
    "Update",
]


def explain(
    model,
    x: ArrayLike,
    y: ArrayLike,
    learning_rate: float | None = None,
    *,
    apply: bool = False,
    digits: int | None = None,
    cell: tuple[int, int, int] = (0, 0, 0),
    entry: tuple[int, int, int] = (0, 0, 0),
):
    """Write out one training step of ``model`` on the row ``x`` (or a few rows).

    The forward pass, the loss, the chain rule for every weight and bias, and
    the update the model's optimizer makes: for plain SGD the lecture's
    w_new = w_old − η ∂L/∂w.

    Parameters
    ----------
    model : Sequential
        Compiled, made of Dense layers and elementwise activation layers.
    x, y : array-like
        One row (shape (features,) or (1, features)) or a small batch, and its targets.
    learning_rate : float, optional
        η for this step; defaults to the optimizer's current rate.
    apply : bool
        Also take the step on the model (default: the model is left unchanged).
    digits : int, optional
        Significant digits of every number written, whole numbers too (7569 with 3 is
        7.57e+03), for slides; by default 6, and whole numbers in full.
    cell, entry : (int, int, int)
        For a model with a Conv2D layer: the output cell (row, column, filter) of its
        first Conv2D layer to write out, and the kernel entry (row, column, channel)
        whose gradient is written as the correlation of the input with ∂L/∂net.

    Returns
    -------
    Explanation
        The values (see its attributes); ``str()`` of it is the write-up.

    Examples
    --------
    >>> import minifw as mf
    >>> X, y = mf.datasets.salary()
    >>> model = mf.Sequential([
    ...     mf.layers.Dense(2, input_dim=2, kernel_initializer="ones"),
    ...     mf.layers.Linear(),
    ...     mf.layers.Dense(1, kernel_initializer="ones")], dtype="float64")
    >>> model.compile(mf.optimizers.SGD(learning_rate=1e-5), "mse")
    >>> step = mf.explain(model, X[0], y[0])
    >>> print(step.derivatives["∂L/∂w^1_11"])
    ∂L/∂w^1_11 = ∂L/∂y_hat · ∂y_hat/∂o_11 · ∂o_11/∂w^1_11 = 174 · 1 · 60 = 10440
    """
    if model.loss is None:
        raise NotCompiledError("Call model.compile(optimizer, loss) before explain().")
    if learning_rate is None:
        learning_rate = model.optimizer.current_learning_rate()
    learning_rate = positive_float(learning_rate, "learning_rate", "explain")
    if digits is not None and not (isinstance(digits, int) and 1 <= digits <= 17):
        raise ValueError(f"explain: `digits` must be an integer from 1 to 17. Received: {digits!r}")
    why = through_time_refusal(model) if model.layers else None
    if why is not None:
        raise ValueError(why)
    if any(isinstance(layer, Conv2D) for layer in model.layers):
        x_array = np.asarray(x)
        if x_array.ndim == 3:  # one image
            x, y = x_array[np.newaxis], np.asarray(y).reshape(1, -1)
        X, Y = model.prepare(x, y)
        return convolution_cell(model, X, Y, cell, entry)
    if model.layers and isinstance(model.layers[0], SimpleRNN):
        step = _explain_through_time(model, x, y, learning_rate, apply)
        step.digits = digits
        return step
    x_array = np.asarray(x)
    if x_array.ndim == 1:  # a single row
        x, y = x_array.reshape(1, -1), np.asarray(y).reshape(1, -1)
    X, Y = model.prepare(x, y)
    layers = dense_layers(model.layers, model.loss)
    step = trace(layers, model.loss, X, Y, softmax=softmax_output(model.layers, model.loss))
    old_weights = model.get_weights()
    before = {name: value.copy() for name, value in model.optimizer.state.items()}
    step_number = model.optimizer.iterations + 1
    stepped = model if apply else model.copy()
    _optimizer_step(stepped, X, Y, learning_rate)
    states = (before, stepped.optimizer.state)
    record_update(
        step, model.optimizer, layers, old_weights, stepped.get_weights(), learning_rate,
        states, step_number,
    )  # fmt: skip
    step.digits = digits
    return step


def _explain_through_time(model, x, y, learning_rate: float, apply: bool) -> ThroughTime:
    """One sequence (timesteps, features) through a SimpleRNN, written out through time."""
    x_array = np.asarray(x)
    if x_array.ndim == 2:  # one sequence
        x, y = x_array[np.newaxis], np.asarray(y).reshape(1, -1)
    X, Y = model.prepare(x, y)
    step = through_time(model, X, Y)
    old_weights = model.get_weights()
    stepped = model if apply else model.copy()
    _optimizer_step(stepped, X, Y, learning_rate)
    record_updates(step, model, old_weights, stepped.get_weights(), learning_rate)
    return step


def _optimizer_step(model, X: np.ndarray, Y: np.ndarray, learning_rate: float) -> None:
    """The model's own training step on (X, Y), with η = ``learning_rate`` for this step."""
    optimizer = model.optimizer
    rate = optimizer.learning_rate
    optimizer.learning_rate = learning_rate
    try:
        model.train_on_batch(X, Y)
    finally:
        optimizer.learning_rate = rate
