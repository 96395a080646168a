"""The loss as a function of two weights: ``loss_surface`` and its contour plot, with the
path a recorded run took across it.

    surface = mf.teaching.loss_surface(model, X, y, weights=("w^1_11", "w^2_11"))
    surface.plot(trajectory=rec.trajectory)

The loss at each grid point is the model's own (``model.evaluate``'s) with those two
weights set and every other as it is. For a network of Dense, activation and Dropout
layers without weight penalties, the grid goes through one batched forward pass, a
stack of networks that differ in the two weights (``np.matmul`` over the stack, in
chunks that keep the activations under 128 MB); any other model is evaluated point by
point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layers.activations import Activation
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..losses import as_rows
from ..validation import positive_float, positive_int
from .figure import new_figure
from .weights import weight_positions

__all__ = ["loss_surface", "LossSurface"]

#: Entries of the stacked activations computed at once (float64: 128 MB).
_CHUNK_ENTRIES = 1 << 24


@dataclass
class LossSurface:
    """``losses[a, b]`` is the loss with ``weights[0]`` = ``first[a]`` and
    ``weights[1]`` = ``second[b]``; ``center`` holds the two weights' values as they were."""

    weights: tuple[str, str]
    first: np.ndarray
    second: np.ndarray
    losses: np.ndarray
    center: tuple[float, float]

    def _repr_png_(self) -> bytes:
        """In a notebook: the contour plot."""
        return self.plot()._repr_png_()

    def plot(self, trajectory=None, levels: int = 30):
        """Contours of the loss (log-spaced when it spans decades), the model's point, and
        with ``trajectory`` the path its recorded steps took. A matplotlib Figure."""
        figure = new_figure(figsize=(6, 5))
        axes = figure.subplots()
        losses = self.losses
        low, high = float(losses.min()), float(losses.max())
        if low > 0 and high / low > 100:
            bounds = np.geomspace(low, high, levels)
        else:
            bounds = np.linspace(low, high, levels)
        B, A = np.meshgrid(self.second, self.first)
        contours = axes.contourf(A, B, losses, levels=bounds, cmap="viridis")
        figure.colorbar(contours, ax=axes, label="loss")
        if trajectory is not None:
            path_a, path_b = (trajectory.weight(name) for name in self.weights)
            axes.plot(path_a, path_b, color="#e67e22", linewidth=1.5, label="the run's steps")
            axes.plot(path_a[0], path_b[0], "o", color="white", markeredgecolor="black",
                      label="start")  # fmt: skip
            axes.legend(loc="upper right", fontsize=8)
        axes.plot(*self.center, "*", color="red", markersize=12)
        axes.set(xlabel=self.weights[0], ylabel=self.weights[1], title="loss surface")
        return figure


def loss_surface(
    model, X, y, weights: tuple[str, str] = ("w^1_11", "w^2_11"), span: float = 1.0,
    resolution: int = 41,
) -> LossSurface:  # fmt: skip
    """The exact loss on a ``resolution`` × ``resolution`` grid: each of the two named
    weights or biases (explain's symbols, e.g. ``"w^1_11"``, ``"b_21"``) from its current
    value − ``span`` to + ``span``, every other weight as it is. The model is left as it
    was."""
    span = positive_float(span, "span", "loss_surface")
    resolution = positive_int(resolution, "resolution", "loss_surface")
    if len(weights) != 2 or weights[0] == weights[1]:
        raise ValueError(f"loss_surface: name two different weights. Received: {weights!r}")
    X, Y = model.prepare(X, y)
    positions = weight_positions(model)
    missing = [name for name in weights if name not in positions]
    if missing:
        raise ValueError(
            f"loss_surface: no weight {missing[0]!r}. The weights are: {', '.join(positions)}."
        )
    params = model.parameters.params
    where = [positions[name] for name in weights]
    center = tuple(float(params[i]) for i in where)
    first, second = (np.linspace(c - span, c + span, resolution) for c in center)
    grid = np.stack(np.meshgrid(first, second, indexing="ij"), axis=-1).reshape(-1, 2)
    if _stackable(model, X):
        losses = _stacked_losses(model, X, Y, where, grid)
    else:
        losses = _losses_one_by_one(model, X, Y, where, grid)
    grid_losses = losses.reshape(resolution, resolution)
    return LossSurface(tuple(weights), first, second, grid_losses, center)


def _stackable(model, X: np.ndarray) -> bool:
    """Whether the grid can go through one stacked pass: rows of features through Dense,
    activation and Dropout layers, a mean loss, no weight penalties."""
    plan = model.plan
    return (
        X.ndim == 2
        and all(isinstance(layer, (Dense, Activation, Dropout)) for layer in plan.layers)
        and not plan.penalties
        and plan.loss.reduction == "mean"
    )


def _stacked_losses(model, X, Y, where, grid) -> np.ndarray:
    """The loss of every grid point through one forward pass of stacked networks."""
    plan, params = model.plan, model.parameters.params
    widest = max([X.shape[-1]] + [layer.output_shape[-1] for layer in plan.layers])
    chunk = max(1, _CHUNK_ENTRIES // (len(X) * widest))
    losses = np.empty(len(grid))
    for start in range(0, len(grid), chunk):
        points = grid[start : start + chunk]
        stacked = np.repeat(params[np.newaxis].astype(np.float64), len(points), axis=0)
        stacked[:, where] = points
        outputs = _forward(model, X.astype(np.float64), stacked)
        predictions = outputs.reshape(-1, outputs.shape[-1])
        targets = np.concatenate([Y] * len(points))
        rows = plan.loss.rows(*as_rows(targets, predictions)).reshape(len(points), -1)
        losses[start : start + len(points)] = rows.mean(axis=1)
    return losses


def _forward(model, X: np.ndarray, stacked: np.ndarray) -> np.ndarray:
    """The plan's outputs (logits when the last activation is fused) for each row of
    ``stacked`` (parameter vectors), shape (points, n, outputs); Dropout is inactive."""
    trainable = [slot for slot in model.parameters.slots if slot.trainable]
    where = {(slot.layer, slot.key): part for slot, part in zip(trainable, model.parameters.slices)}
    outputs = np.broadcast_to(X, (len(stacked), *X.shape))
    for layer in model.plan.layers:
        if isinstance(layer, Dense):
            rows, columns = layer.params["W"].shape
            kernel = stacked[:, where[layer, "W"]].reshape(len(stacked), rows, columns)
            outputs = np.matmul(outputs, kernel)
            if layer.use_bias:
                outputs = outputs + stacked[:, np.newaxis, where[layer, "b"]]
        elif isinstance(layer, Activation):
            outputs = layer.activate(outputs)
    return outputs


def _losses_one_by_one(model, X, Y, where, grid) -> np.ndarray:
    """The loss at each grid point by the model's own evaluation, the weights put back."""
    params = model.parameters.params
    saved = params.copy()
    losses = np.empty(len(grid))
    try:
        for k, point in enumerate(grid):
            params[where] = point
            losses[k] = model.evaluate(X, Y, return_dict=True)["loss"]
    finally:
        params[...] = saved
    return losses
