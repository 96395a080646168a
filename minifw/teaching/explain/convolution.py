"""One output cell of a Conv2D layer, written out: what ``mf.explain`` gives for a model
with a Conv2D layer, on one image.

For output cell (r, c, k) of the first Conv2D layer, with stride s, dilation d and the
input padded as the layer pads it (x below):

    net[r, c, k] = Σ_{a, b, ch} x[r·s + a·d, c·s + b·d, ch] · K[a, b, ch, k] + b_k
    o[r, c, k] = f(net[r, c, k])

and backward, from ∂L/∂o that the layers above pass down (by their own backward):

    ∂L/∂net[r, c, k] = ∂L/∂o[r, c, k] · f′(net[r, c, k])
    ∂L/∂K[a, b, ch, k] = Σ_{r, c} x[r·s + a·d, c·s + b·d, ch] · ∂L/∂net[r, c, k]
    ∂L/∂b_k = Σ_{r, c} ∂L/∂net[r, c, k]

∂L/∂K is the correlation of the input with ∂L/∂net: each kernel entry sums, over every
output cell, the input value that entry met there times that cell's gradient. The
numbers come from a copy of the model (its layers' own forward and backward), so the
write-up's ∂L/∂K is the model's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...layers.convolution import Conv2D
from .notation import number, term

__all__ = ["ConvolutionCell", "convolution_cell"]

#: A sum of more terms than this is written with its first terms, "…" and its total.
SHOWN_TERMS = 9


@dataclass
class ConvolutionCell:
    """The numbers of one output cell (``cell`` = (r, c, k)) of ``layer`` and of one
    kernel entry's gradient (``entry`` = (a, b, ch)); ``str()`` is the write-up."""

    layer: str
    cell: tuple[int, int, int]
    entry: tuple[int, int, int]
    window: np.ndarray  # (kh, kw, C): the padded input the cell's kernel meets
    kernel: np.ndarray  # (kh, kw, C): K[:, :, :, k]
    bias: float
    net: float
    output: float
    activation: str | None
    grad_output: float  # ∂L/∂o[r, c, k]
    grad_net: np.ndarray  # ∂L/∂net[:, :, k], (H', W')
    inputs_met: np.ndarray  # x[r·s + a·d, c·s + b·d, ch] for every output cell (H', W')
    kernel_gradient: np.ndarray  # ∂L/∂K, the model's, (kh, kw, C, filters)
    bias_gradient: np.ndarray  # ∂L/∂b, the model's

    def __str__(self) -> str:
        r, c, k = self.cell
        a, b, ch = self.entry
        products = [(x, w) for x, w in zip(self.window.ravel(), self.kernel.ravel())]
        symbols = f"Σ_(a, b, ch) x[{r}·s + a·d, {c}·s + b·d, ch] · K[a, b, ch, {k}] + b_{k}"
        lines = [
            f"Forward of o[{r}, {c}, {k}] in {self.layer} (its window of the input, padded as the "
            "layer pads it)",
            f"  net[{r}, {c}, {k}] = {symbols}",
            f"    = {_sum([f'{term(x)}·{term(w)}' for x, w in products], number(self.bias))}"
            f" = {number(self.net)}",
        ]
        if self.activation is not None:
            lines.append(
                f"  o[{r}, {c}, {k}] = {self.activation}(net[{r}, {c}, {k}]) "
                f"= {number(self.output)}"
            )
        grad_net, grads = self.grad_net[r, c], self.grad_net.ravel()
        lines += [
            "Backward",
            f"  ∂L/∂o[{r}, {c}, {k}] = {number(self.grad_output)}   (from the layers above)",
            f"  ∂L/∂net[{r}, {c}, {k}] = {number(grad_net)}",
            f"  ∂L/∂K[{a}, {b}, {ch}, {k}] = Σ_(r, c) x[r·s + {a}·d, c·s + {b}·d, {ch}] · "
            f"∂L/∂net[r, c, {k}]   (the correlation of the input with ∂L/∂net)",
            "    = "
            + _sum([f"{term(x)}·{term(g)}" for x, g in zip(self.inputs_met.ravel(), grads)])
            + f" = {number(self.kernel_gradient[a, b, ch, k])}",
            f"  ∂L/∂b_{k} = Σ_(r, c) ∂L/∂net[r, c, {k}] = {_sum([term(g) for g in grads])}"
            f" = {number(self.bias_gradient[k])}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ConvolutionCell {self.layer} cell {self.cell}, kernel entry {self.entry}>"


def _sum(terms: list[str], last: str | None = None) -> str:
    """The terms joined by +, the first ``SHOWN_TERMS`` and "…" past them."""
    if len(terms) > SHOWN_TERMS:
        terms = [*terms[:SHOWN_TERMS], f"… ({len(terms)} terms)"]
    return " + ".join(terms + ([last] if last is not None else []))


def convolution_cell(model, X: np.ndarray, Y: np.ndarray, cell, entry) -> ConvolutionCell:
    """One image's forward and backward through a copy of ``model``, written for output
    ``cell`` = (r, c, k) of its first Conv2D layer and kernel ``entry`` = (a, b, ch)."""
    if len(X) != 1:
        raise ValueError(
            f"explain writes one image through a Conv2D layer; received {len(X)}. Pass X[0]."
        )
    copy = model.copy()
    position = next(i for i, layer in enumerate(copy.layers) if isinstance(layer, Conv2D))
    conv = copy.layers[position]
    outputs = X.astype(copy.dtype)
    for i, layer in enumerate(copy.layers):
        if i == position:
            inputs_of_conv = outputs
        outputs = layer.forward(outputs, training=True)
        if i == position:
            conv_output = outputs
    gradient = copy.loss.backward(Y, outputs)
    for layer in reversed(copy.layers[position + 1 :]):
        gradient = layer.backward(gradient)
    grad_output = gradient
    grad_net = conv.activation.backward(gradient) if conv.activation is not None else gradient
    conv.net_backward(grad_net)  # ∂L/∂K and ∂L/∂b, into the copy's grads
    windows, (s_h, s_w), (d_h, d_w) = conv.windows, conv.strides, conv.dilation_rate
    out_h, out_w = windows.out_h, windows.out_w
    r, c, k = _checked(cell, (out_h, out_w, conv.filters), "cell", "(row, column, filter)")
    kh, kw = conv.kernel_size
    channels = inputs_of_conv.shape[-1]
    a, b, ch = _checked(entry, (kh, kw, channels), "entry", "(row, column, channel)")
    padded = windows.pad(inputs_of_conv.astype(np.float64))[0]
    rows = r * s_h + np.arange(kh) * d_h
    columns = c * s_w + np.arange(kw) * d_w
    window = padded[np.ix_(rows, columns)]
    met = padded[a * d_h + s_h * np.arange(out_h)][:, b * d_w + s_w * np.arange(out_w), ch]
    bias = float(conv.params["b"][k]) if conv.use_bias else 0.0
    kernel = conv.params["W"][:, :, :, k].astype(np.float64)
    return ConvolutionCell(
        layer=f"{conv.name} (Conv2D)",
        cell=(r, c, k),
        entry=(a, b, ch),
        window=window,
        kernel=kernel,
        bias=bias,
        net=float(np.sum(window * kernel)) + bias,
        output=float(conv_output[0, r, c, k]),
        activation=None if conv.activation is None else type(conv.activation).__name__.lower(),
        grad_output=float(grad_output[0, r, c, k]),
        grad_net=grad_net[0, :, :, k].astype(np.float64),
        inputs_met=met,
        kernel_gradient=conv.grads["W"].astype(np.float64),
        bias_gradient=(
            conv.grads["b"].astype(np.float64) if conv.use_bias else np.zeros(conv.filters)
        ),
    )


def _checked(index, bounds, name: str, meaning: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in index)
    except (TypeError, ValueError):
        values = ()
    if len(values) != len(bounds) or not all(0 <= v < n for v, n in zip(values, bounds)):
        raise ValueError(
            f"explain: `{name}` must be {meaning} within {tuple(bounds)}. Received: {index!r}"
        )
    return values
