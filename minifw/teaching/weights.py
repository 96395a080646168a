"""The lecture's names of a model's weights and biases, and their places in its flat
parameter vector: w^l_ij is ``W[i-1, j-1]`` of the l-th Dense layer, b_lj its ``b[j-1]``
(``explain``'s notation)."""

from __future__ import annotations

from ..layers.dense import Dense
from .explain.notation import Notation

__all__ = ["weight_positions"]


def weight_positions(model) -> dict[str, int]:
    """Each Dense weight's and bias's place in ``model.parameters.params``, by symbol."""
    notation = Notation(0, 0)
    trainable = [slot for slot in model.parameters.slots if slot.trainable]
    where = {(slot.layer, slot.key): part for slot, part in zip(trainable, model.parameters.slices)}
    positions = {}
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    for l, layer in enumerate(dense, 1):
        rows, columns = layer.params["W"].shape
        start = where[layer, "W"].start
        for j in range(columns):
            for i in range(rows):
                positions[notation.weight(l, i + 1, j + 1)] = start + i * columns + j
            if layer.use_bias:
                positions[notation.bias(l, j + 1)] = where[layer, "b"].start + j
    return positions
