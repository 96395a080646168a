"""Backpropagation through time for one sequence, written out: what ``mf.explain`` gives
for a model that starts with a SimpleRNN (the layers after it are explained as ``trace``
explains a Dense network, on their input h_T).

The recurrence, for t = 1 … T (x_ti is feature i at step t, h_tj unit j, h_0 = 0):

    net_tj = Σ_i x_ti · w_ij + Σ_k h_(t−1)k · u_kj + b_j,     h_tj = f(net_tj)

Backward, from the last step to the first, ∂L/∂h_tj has two paths, and the weights'
gradients are sums over the steps:

    ∂L/∂h_tj   = (through the output: at t = T only) + Σ_k ∂L/∂net_(t+1)k · u_jk
                                                         (through h_(t+1), before T)
    ∂L/∂net_tj = ∂L/∂h_tj · ∂h_tj/∂net_tj                   (f′(net_tj))
    ∂L/∂w_ij = Σ_t x_ti · ∂L/∂net_tj,   ∂L/∂u_kj = Σ_t h_(t−1)k · ∂L/∂net_tj,
    ∂L/∂b_j  = Σ_t ∂L/∂net_tj

Every number is computed here, once, as records (``Derivative``, ``Factor``, ``Update``);
``lines`` writes them in any ``Style`` (plain text, LaTeX, HTML).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from html import escape

import numpy as np

from ...layers.recurrent import SimpleRNN
from .html import HtmlStyle, as_lists
from .markdown import LatexStyle
from .notation import number as notation_number
from .notation import pair, pretty
from .text import Style, derivative_text, update_lines
from .text import lines as head_lines
from .trace import (
    Derivative,
    Explanation,
    Factor,
    Update,
    WrittenStep,
    dense_layers,
    is_plain_gradient_descent,
    record_update,
    softmax_output,
    trace,
)

__all__ = ["ThroughTime", "through_time", "refusal"]


def x_(t: int, i: int) -> str:
    return f"x_{pair(t, i)}"


def h_(t: int, j: int) -> str:
    return f"h_{pair(t, j)}"


def net_(t: int, j: int) -> str:
    return f"net_{pair(t, j)}"


def w_(i: int, j: int) -> str:
    return f"w_{pair(i, j)}"


def u_(k: int, j: int) -> str:
    return f"u_{pair(k, j)}"


def b_(j: int) -> str:
    return f"b_{j}"


def refusal(model) -> str | None:
    """Why ``explain`` cannot write this model out through time, or None (also None for a
    model without recurrent layers: ``trace`` explains it)."""
    first, rest = model.layers[0], model.layers[1:]
    recurrent = [layer for layer in model.layers if hasattr(layer, "return_sequences")]
    if not recurrent and type(first).__name__ != "Embedding":
        return None
    if not isinstance(first, SimpleRNN) or len(recurrent) > 1:
        names = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in recurrent)
        return (
            "explain writes out backpropagation through time for a model that starts with "
            "one SimpleRNN followed by Dense and activation layers; this model has "
            f"{names or type(first).__name__}. LSTM, GRU and Embedding are not written out "
            "(mf.gradcheck checks their gradients)."
        )
    if first.return_sequences or first.go_backwards:
        return (
            "explain writes out a SimpleRNN with return_sequences=False and "
            "go_backwards=False (one output, after the last step)."
        )
    if not rest:
        return "explain needs a Dense output layer after the SimpleRNN."
    return None


@dataclass(kw_only=True)
class ThroughTime(WrittenStep):
    """The numbers of one explained training step through time; ``str()`` is the write-up.

    Attributes
    ----------
    x : ndarray (T, features)
        The sequence; ``net`` and ``h`` (T, units) every step's values (h[t − 1] is h_t).
    head : Explanation
        The layers after the SimpleRNN on h_T: their forward pass, loss and gradients.
    derivatives : dict[str, Derivative]
        ``"∂L/∂h_tj"`` and ``"∂L/∂net_tj"`` for every step (last first), then the sums
        ``"∂L/∂w_ij"``, ``"∂L/∂u_kj"``, ``"∂L/∂b_j"``; the output layers' are in ``head``.
    grads : list of ndarray
        All gradients in the order of ``model.get_weights()``.
    updates : list of Update
        Every parameter's update (the SimpleRNN's, then the output layers').
    """

    layer: str
    activation: str
    x: np.ndarray
    net: np.ndarray
    h: np.ndarray
    head: Explanation

    @property
    def steps(self) -> int:
        return len(self.x)

    @property
    def loss(self) -> float:
        return self.head.loss

    @property
    def recurrent_updates(self) -> list[Update]:
        """The updates of the SimpleRNN's w_ij, u_kj and b_j (the output layers' follow)."""
        return self.updates[: len(self.updates) - len(self.head.updates)]

    def __str__(self) -> str:
        return "\n".join(lines(self, Style(self.digits)))

    def to_markdown(self) -> str:
        title = "### One training step, backpropagated through time\n"
        text = "\n".join(lines(self, LatexStyle(self.digits)))
        return title + text.replace("\n\n\n", "\n\n") + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_html(self, selected: str | None = None) -> str:
        """One self-contained page: the network unrolled in time (the units of every step,
        the recurrent weights between steps), the chain of the ``selected`` weight of the
        SimpleRNN (default u_11) summed over the steps, and the write-up."""
        return _page(self, selected)

    def __repr__(self) -> str:
        return f"<ThroughTime T={self.steps}, loss={self.loss:.6g}>"


def through_time(model, X: np.ndarray, Y: np.ndarray) -> ThroughTime:
    """Forward pass, loss and backpropagation through time of ``model`` on one sequence."""
    rnn, rest = model.layers[0], model.layers[1:]
    if X.shape[0] != 1:
        raise ValueError(
            f"explain writes out one sequence through time; received {X.shape[0]}. "
            "Pass X[0] (shape (timesteps, features)) and y[0]."
        )
    W, U, b = (rnn.params[key].astype(np.float64) for key in ("W", "U", "b"))
    x = X[0].astype(np.float64)
    steps, units = len(x), rnn.units
    net, slope = np.empty((steps, units)), np.empty((steps, units))
    h = np.zeros((steps + 1, units))
    for t in range(steps):  # h[t + 1] is h_(t+1); h[0] = h_0 = 0
        net[t] = x[t] @ W + h[t] @ U + b
        h[t + 1] = rnn.activation.activate(net[t])
        slope[t] = rnn.activation.derivative(net[t], h[t + 1])
    grouped = dense_layers(rest, model.loss)
    head = trace(
        grouped, model.loss, h[steps][None], Y, softmax=softmax_output(rest, model.loss),
        inputs=lambda j: h_(steps, j),
    )  # fmt: skip
    result = ThroughTime(
        layer=f"{rnn.name} (SimpleRNN)", activation=type(rnn.activation).__name__.lower(),
        x=x, net=net, h=h[1:], head=head,
    )  # fmt: skip
    first = grouped[0]
    into_head = _first_net_gradient(head, first)  # ∂L/∂net^1_k of the first output layer
    _backward(result, into_head, first, U, slope)
    return result


def _first_net_gradient(head: Explanation, first) -> list[Factor]:
    """∂L/∂net^1_k of each unit k of the first output layer (its output's gradient when it
    has no activation), as the factor the path through the output starts from."""
    symbols = []
    for unit in head.units[: first.dense.units]:
        symbols.append(unit.net_symbol or unit.output)
    gradients = _net_gradients(head, first)
    return [Factor(f"∂L/∂{s}", np.array([g])) for s, g in zip(symbols, gradients)]


def _net_gradients(head: Explanation, first) -> np.ndarray:
    """∂L/∂net^1 = ∂L/∂b^1 for one row; from ∂L/∂w^1_1k / h_T1 without a bias."""
    dense = first.dense
    grads = head.grads[1] if dense.use_bias else None
    if grads is not None:
        return np.asarray(grads, dtype=np.float64)
    inputs = head.units[0].inputs[0]
    weights = head.grads[0]
    k = int(np.argmax(np.abs(inputs)))
    if inputs[k] == 0:  # h_T = 0: every ∂L/∂w^1 is 0, and so is the product we need
        return np.zeros(dense.units)
    return weights[k] / inputs[k]


def _backward(result: ThroughTime, into_head: list[Factor], first, U, slope) -> None:
    x, h, derivatives = result.x, result.h, result.derivatives
    steps, units = h.shape
    W1 = first.dense.params["W"].astype(np.float64)
    head_weight = lambda j, k: f"w^1_{pair(j, k)}"  # noqa: E731  (the output layers' notation)
    dnet = np.empty((steps, units))
    for t in range(steps, 0, -1):
        for j in range(1, units + 1):
            if t == steps:  # through the output
                terms = tuple(
                    (factor, Factor(head_weight(j, k + 1), np.array([W1[j - 1, k]])))
                    for k, factor in enumerate(into_head)
                )
            else:  # through h_(t+1)
                terms = tuple(
                    (
                        Factor(f"∂L/∂{net_(t + 1, k)}", np.array([dnet[t, k - 1]])),
                        Factor(u_(j, k), np.array([U[j - 1, k - 1]])),
                    )
                    for k in range(1, units + 1)
                )
            value = float(sum(np.prod([f.value for f in term]) for term in terms))
            symbol = f"∂L/∂{h_(t, j)}"
            derivatives[symbol] = (
                Derivative(symbol, terms[0], value)
                if len(terms) == 1
                else Derivative(symbol, (Factor(symbol, np.array([value])),), value, terms)
            )
            dnet[t - 1, j - 1] = value * slope[t - 1, j - 1]
            symbol_net = f"∂L/∂{net_(t, j)}"
            derivatives[symbol_net] = Derivative(
                symbol_net,
                (
                    Factor(symbol, np.array([value])),
                    Factor(f"∂{h_(t, j)}/∂{net_(t, j)}", np.array([slope[t - 1, j - 1]])),
                ),
                float(dnet[t - 1, j - 1]),
            )
    features = x.shape[1]
    dW, dU, db = np.zeros((features, units)), np.zeros((units, units)), np.zeros(units)
    previous = np.vstack([np.zeros((1, units)), h[:-1]])  # h_(t−1), h_0 = 0
    for j in range(1, units + 1):
        for i in range(1, features + 1):
            dW[i - 1, j - 1] = _sum_over_steps(
                derivatives, w_(i, j), j, lambda t, i=i: (x_(t, i), x[t - 1, i - 1]), dnet
            )
        for k in range(1, units + 1):
            dU[k - 1, j - 1] = _sum_over_steps(
                derivatives, u_(k, j), j, lambda t, k=k: (h_(t - 1, k), previous[t - 1, k - 1]),
                dnet,
            )  # fmt: skip
        db[j - 1] = _sum_over_steps(derivatives, b_(j), j, None, dnet)
    result.grads = [dW, dU, db, *result.head.grads]


def _sum_over_steps(derivatives, weight: str, j: int, source, dnet) -> float:
    """∂L/∂weight = Σ_t (source_t ·) ∂L/∂net_tj, each step a term."""
    terms = []
    for t in range(1, len(dnet) + 1):
        gradient = Factor(f"∂L/∂{net_(t, j)}", np.array([dnet[t - 1, j - 1]]))
        if source is None:
            terms.append((gradient,))
        else:
            symbol, value = source(t)
            terms.append((Factor(symbol, np.array([value])), gradient))
    value = float(sum(np.prod([f.value for f in term]) for term in terms))
    symbol = f"∂L/∂{weight}"
    derivatives[symbol] = Derivative(
        symbol, (Factor(symbol, np.array([value])),), value, tuple(terms)
    )
    return value


def record_updates(result: ThroughTime, model, old_weights, new_weights, rate) -> None:
    """The update of every parameter: the SimpleRNN's (w_ij, u_kj, b_j), then the output
    layers' (as ``record_update`` writes them)."""
    optimizer = model.optimizer
    result.learning_rate, result.optimizer = rate, type(optimizer).__name__
    result.plain_update = is_plain_gradient_descent(optimizer)
    result.new_weights = new_weights
    for name, old, grad, new in zip((w_, u_), old_weights, result.grads, new_weights):
        for j in range(old.shape[1]):
            for i in range(old.shape[0]):
                values = float(old[i, j]), float(grad[i, j]), float(new[i, j])
                result.updates.append(Update(name(i + 1, j + 1), *values, 1, j + 1, i + 1))
    for j, values in enumerate(zip(old_weights[2], result.grads[2], new_weights[2]), 1):
        result.updates.append(Update(b_(j), *map(float, values), 1, j))
    grouped = dense_layers(model.layers[1:], model.loss)
    record_update(result.head, optimizer, grouped, old_weights[3:], new_weights[3:], rate)
    result.updates += result.head.updates


def lines(step: ThroughTime, s: Style) -> list[str]:
    """The write-up in the lecture's order: forward through time, the output layers and
    the loss, backward through time, the sums over the steps, the updates."""
    x, net, h = step.x, step.net, step.h
    steps, units = h.shape
    features = range(1, x.shape[1] + 1)
    weight = {update.symbol: update.old for update in step.recurrent_updates}
    out = [s.heading(f"Forward through time: {step.layer}, h_0 = 0")]
    for t in range(1, steps + 1):
        before = h[t - 2] if t > 1 else np.zeros(units)
        for j in range(1, units + 1):
            symbols = [f"{s.sym(w_(i, j))}{s.times}{s.sym(x_(t, i))}" for i in features]
            symbols += [
                f"{s.sym(u_(k, j))}{s.times}{s.sym(h_(t - 1, k))}" for k in range(1, units + 1)
            ]
            symbols.append(s.sym(b_(j)))
            numbers = [
                f"{s.term(weight[w_(i, j)])}{s.times}{s.term(x[t - 1, i - 1])}" for i in features
            ]
            numbers += [
                f"{s.term(weight[u_(k, j)])}{s.times}{s.term(before[k - 1])}"
                for k in range(1, units + 1)
            ]
            numbers.append(s.term(weight[b_(j)]))
            out.append(
                s.line(
                    f"{s.sym(net_(t, j))} = {' + '.join(symbols)} = {' + '.join(numbers)} "
                    f"= {s.num(net[t - 1, j - 1])}"
                )
            )
            out.append(
                s.line(
                    f"{s.sym(h_(t, j))} = {s.operator(step.activation)}({s.sym(net_(t, j))}) "
                    f"= {s.num(h[t - 1, j - 1])}"
                )
            )
    head = head_lines(step.head, s, updates=False, layer_title="Output layer")
    out.append(s.heading(f"Output layers, on h_{steps}: forward"))
    out += head[1:]
    out.append(s.heading("Backward through time: the output, then h_(t+1)"))
    for t in range(steps, 0, -1):
        for j in range(1, units + 1):
            out.append(s.line(derivative_text(step.derivatives[f"∂L/∂{h_(t, j)}"], s)))
            out.append(s.line(derivative_text(step.derivatives[f"∂L/∂{net_(t, j)}"], s)))
    out.append(s.heading(f"{step.layer}: gradients, summed over the {steps} steps"))
    for update in step.recurrent_updates:
        out.append(s.line(derivative_text(step.derivatives[f"∂L/∂{update.symbol}"], s)))
    return out + update_lines(step, s)


# -- the page ------------------------------------------------------------------------------

_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px 32px;
       color: #222; max-width: 1400px; }
h1 { font-size: 22px; margin-bottom: 4px; }
.summary { color: #555; margin-top: 0; }
figure { margin: 0 0 16px; border: 1px solid #ddd; border-radius: 6px; padding: 8px;
         overflow-x: auto; }
figcaption { font-size: 13px; color: #555; margin-top: 4px; }
aside { background: #f7f7f4; border-radius: 6px; padding: 8px 16px; margin-bottom: 16px; }
aside p { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 14px; margin: 4px 0; }
h3 { font-size: 16px; margin: 18px 0 4px; }
ul { margin: 0; padding-left: 20px; }
li { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; margin: 2px 0;
     overflow-wrap: anywhere; }
"""

_SELECTED, _EDGE = "#e67e22", "#888"


def _page(step: ThroughTime, selected: str | None) -> str:
    recurrent = [update.symbol for update in step.recurrent_updates]
    selected = selected or u_(1, 1)
    if selected not in recurrent:
        raise ValueError(
            f"to_html: no weight {selected!r} of the SimpleRNN. They are: {', '.join(recurrent)}."
        )
    style = HtmlStyle(step.digits)
    derivative = step.derivatives[f"∂L/∂{selected}"]
    terms = "".join(
        f"<p>t = {t}: {' · '.join(style.sym(f.symbol) for f in term)} = "
        f"{' · '.join(style.term(f.value) for f in term)} = "
        f"{style.num(np.prod([f.value for f in term]))}</p>"
        for t, term in enumerate(derivative.terms, 1)
    )
    body = [
        "<h1>One training step, backpropagated through time</h1>",
        f'<p class="summary">{escape(step.layer)} over T = {step.steps} steps · loss L = '
        f"{style.num(step.loss)} · {escape(step.optimizer)}, η = "
        f"{style.num(step.learning_rate)}</p>",
        f"<figure>{_unrolled(step, selected)}<figcaption>The network unrolled in time: each "
        "column a step t, its inputs x_t below, its units h_t above; w joins x_t to h_t, u "
        "joins h_(t−1) to h_t. The selected weight is the same at every step (orange): its "
        "gradient sums one term per step.</figcaption></figure>",
        f"<aside><h3>The chain for {style.sym(selected)}, summed over the steps</h3>{terms}"
        f"<p>{derivative_text(derivative, style)}</p></aside>",
        *as_lists(lines(step, style)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Backpropagation through time</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _unrolled(step: ThroughTime, selected: str) -> str:
    """The SVG: a column per step (inputs below, units above), the output after the last."""
    steps, units = step.h.shape
    features = step.x.shape[1]
    gap, top, radius, row = 170, 70, 24, 100
    hidden_y = lambda j: top + (j - 1) * row  # noqa: E731
    input_y = lambda i: top + units * row + 20 + (i - 1) * row  # noqa: E731
    height = input_y(features) + radius + 40
    width = 120 + steps * gap + 140
    column = lambda t: 90 + (t - 1) * gap  # noqa: E731
    old = {u.symbol: u.old for u in step.updates}
    number = partial(notation_number, digits=step.digits)
    edges, nodes = [], []
    for t in range(1, steps + 1):
        for j in range(1, units + 1):
            for i in range(1, features + 1):
                edges.append((w_(i, j), (column(t), input_y(i)), (column(t), hidden_y(j))))
            if t > 1:
                for k in range(1, units + 1):
                    start = (column(t - 1), hidden_y(k))
                    edges.append((u_(k, j), start, (column(t), hidden_y(j))))
            gradient = step.derivatives[f"∂L/∂{h_(t, j)}"].value
            nodes.append((h_(t, j), column(t), hidden_y(j), step.h[t - 1, j - 1], gradient))
        for i in range(1, features + 1):
            nodes.append((x_(t, i), column(t), input_y(i), step.x[t - 1, i - 1], None))
    out_x = column(steps) + gap
    outputs = step.head.outputs[0]
    for k, value in enumerate(outputs, 1):
        symbol = "y_hat" if len(outputs) == 1 else f"y_hat_{k}"
        nodes.append((symbol, out_x, hidden_y(k), value, None))
        for j in range(1, units + 1):
            edges.append(("output", (column(steps), hidden_y(j)), (out_x, hidden_y(k))))
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="The network unrolled in time" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">'
    ]
    for t in range(1, steps + 1):
        svg.append(
            f'<text x="{column(t)}" y="24" text-anchor="middle" font-size="14">t = {t}</text>'
        )
    for symbol, (x1, y1), (x2, y2) in edges:
        chosen = symbol == selected
        colour, stroke = (_SELECTED, 4) if chosen else (_EDGE, 1.5)
        tip = "" if symbol == "output" else f"{pretty(symbol)} = {number(old[symbol])}"
        svg.append(
            f'<g class="edge{" selected" if chosen else ""}" data-weight="{escape(symbol)}">'
            f"<title>{escape(tip)}</title><line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" "
            f'y2="{y2}" stroke="{colour}" stroke-width="{stroke}"/></g>'
        )
    for symbol, x, y, value, gradient in nodes:
        texts = [f"= {number(value)}"]
        if gradient is not None:
            texts.append(f"∂L/∂h = {number(gradient)}")
        svg.append(
            f'<g class="unit" data-symbol="{escape(symbol)}"><circle cx="{x}" cy="{y}" '
            f'r="{radius}" fill="#fdfdfd" stroke="#333" stroke-width="1.5"/>'
            f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-size="14" '
            f'font-weight="bold">{escape(pretty(symbol))}</text>'
            + "".join(
                f'<text x="{x}" y="{y + radius + 13 + 13 * n}" text-anchor="middle" '
                f'font-size="11" paint-order="stroke" stroke="white" stroke-width="3">'
                f"{escape(text)}</text>"
                for n, text in enumerate(texts)
            )
            + "</g>"
        )
    svg.append("</svg>")
    return "\n".join(svg)
