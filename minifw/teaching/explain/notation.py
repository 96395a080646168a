"""The lecture's symbols and numbers, in plain text.

x_ij is input feature j of row i; o_lj the output of unit j of layer l (y_hat,
the lecture's ŷ, or y_hat_j, for the last layer); net^l_j the weighted sum of
unit j before a non-identity activation; w^l_ij the weight from unit i of
layer l−1 to unit j of layer l (``W[i-1, j-1]``); b_lj the bias of unit j of
layer l. Two indices are written together (``11``) as the lecture does, or
as ``{10,2}`` past 9.
"""

from __future__ import annotations

import numpy as np


class Notation:
    """Symbols for a network of ``layers`` Dense layers whose last has ``outputs`` units."""

    def __init__(self, layers: int, outputs: int) -> None:
        self.layers, self.outputs = layers, outputs

    def out(self, layer: int, j: int) -> str:
        """o_lj; x_ij for layer 0; y_hat (or y_hat_j) for the last layer."""
        if layer == 0:
            return f"x_i{j}"
        if layer == self.layers:
            return "y_hat" if self.outputs == 1 else f"y_hat_{j}"
        return f"o_{pair(layer, j)}"

    @staticmethod
    def weight(layer: int, i: int, j: int) -> str:
        return f"w^{layer}_{pair(i, j)}"

    @staticmethod
    def bias(layer: int, j: int) -> str:
        return f"b_{pair(layer, j)}"

    @staticmethod
    def net(layer: int, j: int) -> str:
        return f"net^{layer}_{j}"


def pair(a: int, b: int) -> str:
    """Two indices as the lecture writes them: ``11``, or ``{10,2}`` past 9."""
    return f"{a}{b}" if a < 10 and b < 10 else f"{{{a},{b}}}"


def number(value) -> str:
    """A number as the lecture writes it: 174, 63.5, 1e-05; a vector as [a, b]."""
    array = np.asarray(value, dtype=np.float64).ravel()
    if array.size == 1:
        x = float(array[0])
        if x == int(x) and abs(x) < 1e15:
            return str(int(x))
        return f"{x:.6g}"
    return "[" + ", ".join(number(v) for v in array) + "]"
