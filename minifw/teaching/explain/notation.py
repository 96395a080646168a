"""The lecture's symbols and numbers, in plain text.

x_ij is input feature j of row i; o_lj the output of unit j of layer l (y_hat,
the lecture's ŷ, or y_hat_j, for the last layer); net^l_j the weighted sum of
unit j before a non-identity activation; w^l_ij the weight from unit i of
layer l−1 to unit j of layer l (``W[i-1, j-1]``); b_lj the bias of unit j of
layer l. Two indices are written together (``11``) as the lecture does, or
as ``{10,2}`` past 9.
"""

from __future__ import annotations

import math
import re

import numpy as np


class Notation:
    """Symbols for a network of ``layers`` Dense layers whose last has ``outputs`` units
    (called z_j, the logits, when ``logits``: a softmax follows, written with the loss).
    ``inputs`` names input j (default x_ij; h_Tj for the layers after a recurrent one)."""

    def __init__(self, layers: int, outputs: int, logits: bool = False, inputs=None) -> None:
        self.layers, self.outputs, self.logits = layers, outputs, logits
        self.inputs = inputs or (lambda j: f"x_i{j}")

    def out(self, layer: int, j: int) -> str:
        """o_lj; x_ij for layer 0; y_hat (or y_hat_j, or z_j) for the last layer."""
        if layer == 0:
            return self.inputs(j)
        if layer == self.layers:
            if self.logits:
                return f"z_{j}"
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


def number(value, digits: int | None = None) -> str:
    """A number as the lecture writes it: 174, 63.5, 1e-05, −0.82 (6 significant digits,
    whole numbers in full); with ``digits``, every number to that many significant digits,
    whole ones too (7569 → 7.57e+03 with 3); a vector as [a, b]."""
    array = np.asarray(value, dtype=np.float64).ravel()
    if array.size == 1:
        x = float(array[0])
        if digits is not None:
            text = f"{x:.{digits}g}"
        elif math.isfinite(x) and x == int(x) and abs(x) < 1e15:
            text = str(int(x))
        else:
            text = f"{x:.6g}"
        return "−" + text[1:] if text.startswith("-") else text  # a minus sign, not a hyphen
    return "[" + ", ".join(number(v, digits) for v in array) + "]"


def term(value, digits: int | None = None) -> str:
    """A number inside a product or a sum: a negative one in parentheses, as a teacher
    writes 1·60 + (−0.82)·3.5."""
    text = number(value, digits)
    return f"({text})" if text.startswith("−") else text


_SYMBOL = re.compile(
    r"^(y_hat|x_hat|net|gamma|beta|[a-z])(?:\^(\d+))?(?:_(i?\d+|\{\d+,\d+\}))?$"
)
_PRETTY_NAMES = {"x_hat": "x̂", "gamma": "γ", "beta": "β"}
_LATEX_NAMES = {
    "y_hat": r"\hat{y}", "x_hat": r"\hat{x}", "net": r"\mathrm{net}", "gamma": r"\gamma",
    "beta": r"\beta",
}  # fmt: skip


def latex(symbol: str) -> str:
    """A plain symbol in LaTeX: ``w^2_11`` → ``w^{2}_{11}``, ``y_hat`` → ``\\hat{y}``,
    ``net^1_2`` → ``\\mathrm{net}^{1}_{2}``, ``∂L/∂w^2_11`` → ``\\frac{\\partial L}{\\partial
    w^{2}_{11}}``."""
    if symbol.startswith("∂") and "/∂" in symbol:
        top, bottom = symbol[1:].split("/∂", 1)
        return rf"\frac{{\partial {latex(top)}}}{{\partial {latex(bottom)}}}"
    if symbol.startswith("y_hat_"):
        return rf"\hat{{y}}_{{{symbol[6:]}}}"
    match = _SYMBOL.match(symbol)
    if match is None:
        return symbol
    name, upper, lower = match.groups()
    text = _LATEX_NAMES.get(name, name)
    if upper:
        text += f"^{{{upper}}}"
    if lower:
        text += f"_{{{lower.strip('{}')}}}"
    return text


def latex_number(value, digits: int | None = None) -> str:
    """``number`` in LaTeX: a minus sign, 1e-05 as 10^{-5}, vectors as [a, b]."""
    array = np.asarray(value, dtype=np.float64).ravel()
    if array.size > 1:
        return "[" + ", ".join(latex_number(v, digits) for v in array) + "]"
    text = number(array[0], digits).replace("−", "-")
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = f"10^{{{int(exponent)}}}"
        scaled = {"1": power, "-1": f"-{power}"}
        text = scaled.get(mantissa, f"{mantissa} \\times {power}")
    return text


def latex_term(value, digits: int | None = None) -> str:
    """``latex_number`` in parentheses when negative, inside a sum or a product."""
    text = latex_number(value, digits)
    return f"({text})" if text.startswith("-") else text


_SUPERSCRIPT = str.maketrans("0123456789,", "⁰¹²³⁴⁵⁶⁷⁸⁹˒")
_SUBSCRIPT = str.maketrans("0123456789,ij", "₀₁₂₃₄₅₆₇₈₉,ᵢⱼ")


def pretty(symbol: str) -> str:
    """A plain symbol with Unicode sub- and superscripts, for drawings: ``w^2_11`` → w²₁₁,
    ``y_hat`` → ŷ, ``x_i1`` → xᵢ₁, ``∂L/∂w^1_11`` → ∂L/∂w¹₁₁."""
    if symbol.startswith("∂") and "/∂" in symbol:
        top, bottom = symbol[1:].split("/∂", 1)
        return f"∂{pretty(top)}/∂{pretty(bottom)}"
    if symbol.startswith("y_hat"):
        return "ŷ" + symbol[5:].replace("_", "").translate(_SUBSCRIPT)
    match = _SYMBOL.match(symbol)
    if match is None:
        return symbol
    name, upper, lower = match.groups()
    text = _PRETTY_NAMES.get(name, name) + (upper or "").translate(_SUPERSCRIPT)
    return text + (lower or "").strip("{}").translate(_SUBSCRIPT)
