"""The write-up of an explained step, in the lecture's order and notation:

    Forward propagation
      o_11 = w^1_11·x_i1 + w^1_21·x_i2 + b_11 = 1·60 + 1·3.5 + 0 = 63.5
    Loss
      L = (y − y_hat)² = (40 − 127)² = 7569
    Layer 2: gradients
      ∂L/∂w^2_11 = ∂L/∂y_hat · ∂y_hat/∂w^2_11 = 174 · 63.5 = 11049
    Update (gradient descent, η = 1e-05)
      w^1_11 ← w^1_11 − η · ∂L/∂w^1_11 = 1 − 1e-05 · 10440 = 0.8956

The order of the lines is written once (``lines``), for any ``Style``: plain text
here, LaTeX for Markdown (``markdown``), HTML for the page (``html``). Renderers
only write: every number comes from the records (``trace``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .notation import number, term
from .updates import update_text

if TYPE_CHECKING:
    from .trace import Derivative, Explanation, UnitStep

# A sum of more terms than this is written with symbols only, without its numbers.
_MAX_EXPANDED_TERMS = 8


class Style:
    """Plain text: the symbols as the lecture's notes write them (y_hat for ŷ)."""

    times, dot, arrow, minus, eta = "·", " · ", "←", "−", "η"
    rows_sum, sum_ = "Σ_rows ", "Σ "
    softmax = "y_hat_j = softmax(z)_j = e^z_j / Σ_k e^z_k"
    softmax_gradient = "∂L/∂z_j = (y_hat_j − y_j) / n"

    def __init__(self, digits: int | None = None) -> None:
        self.digits = digits  # significant digits of every number (None: notation.number's)

    def sym(self, symbol: str) -> str:
        return symbol

    def formula(self, step: Explanation) -> str:
        """The loss's formula, from its class (``Loss.formula``), or its name."""
        return step.loss_formula or f"L = {step.loss_name}(y, {self.sym('y_hat')})"

    def num(self, value) -> str:
        return number(value, self.digits)

    def term(self, value) -> str:
        return term(value, self.digits)

    def squared(self, text: str) -> str:
        """``(text)²``; a term already in parentheses (a negative number) keeps its own."""
        return f"{bracketed(text)}²"

    def words(self, text: str) -> str:
        return text

    #: Greek letters and hats, by name, as this style writes them.
    letters = {
        "lambda": "λ", "mu": "μ", "eta": "η", "beta_1": "β₁", "beta_2": "β₂",
        "epsilon": "ε", "rho": "ρ", "m_hat": "m̂", "v_hat": "v̂",
    }  # fmt: skip

    def greek(self, name: str) -> str:
        return self.letters[name]

    def power(self, base: str, exponent: str) -> str:
        return f"{base}^{exponent}"

    def root(self, text: str) -> str:
        return f"√({text})" if " " in text else f"√{text}"

    def operator(self, name: str) -> str:
        """A function's name, such as tanh."""
        return name

    def heading(self, text: str) -> str:
        return text

    def math(self, text: str) -> str:
        """A formula inside a heading."""
        return text

    def line(self, text: str) -> str:
        return f"  {text}"


PLAIN = Style()


def render(step: Explanation) -> str:
    return "\n".join(lines(step, Style(step.digits)))


def lines(
    step: Explanation, style: Style, *, updates: bool = True, layer_title: str = "Layer"
) -> list[str]:
    """The write-up, line by line, in ``style`` (without its updates: ``updates=False``;
    each layer's gradients headed ``layer_title`` l)."""
    s = style
    out = [s.heading("Forward propagation")]
    masks = {layer: (rate, mask) for layer, rate, mask in step.masks}
    last_unit = {unit.layer: unit.unit for unit in step.units}
    for unit in step.units:
        out += [s.line(text) for text in _unit(unit, step.rows == 1, s)]
        if unit.layer in masks and unit.unit == last_unit[unit.layer]:  # after the layer
            rate, mask = masks[unit.layer]
            out.append(
                s.line(
                    f"{s.words('dropout mask of layer')} {unit.layer} ({s.words('rate')} "
                    f"{s.num(rate)}): m / (1 {s.minus} {s.num(rate)}) = {s.num(mask[0])}"
                )
            )
    out.append(s.heading("Loss"))
    out += [s.line(text) for text in _loss(step, s)]
    written: set[str] = set()  # each chain factor is written out once, where first used
    for layer in range(step.layers, 0, -1):
        if layer in getattr(step, "normalizations", {}):
            out += normalization_lines(step.normalizations[layer], s)
        out.append(s.heading(f"{layer_title} {layer}: gradients"))
        derivatives = [
            d for d in step.derivatives.values() if d.layer == layer and not _is_output_gradient(d)
        ]
        out += [s.line(derivative_text(d, s)) for d in derivatives]
        factors = []
        for derivative in derivatives:
            for chain in derivative.terms or (derivative.factors,):
                for factor in chain:
                    text = factor_text(factor, step, s)
                    if text is not None and factor.symbol not in written:
                        written.add(factor.symbol)
                        factors.append(s.line(text))
        if factors:
            out.append(s.heading(f"{layer_title} {layer}: the chain's factors"))
            out += factors
    return out + update_lines(step, s) if updates else out


def normalization_lines(norm, s: Style) -> list[str]:
    """A normalization inside layer l: its statistics, x̂ and output, then ∂L/∂net^l
    through it (``trace.Normalization``; the first row's values where rows are many)."""
    l, over = norm.layer, ("the batch" if norm.kind == "batch" else "the units")
    out = [s.heading(f"Layer {l}: {norm.kind} normalization ({s.words('over')} {over})")]
    per_unit = norm.kind == "batch"  # BatchNormalization: one μ, σ² per unit
    for j in range(norm.x_hat.shape[1]):
        net, x_hat = s.sym(f"net^{l}_{j + 1}"), s.sym(f"x_hat^{l}_{j + 1}")
        o = s.sym(f"s^{l}_{j + 1}")
        gamma, beta = s.sym(f"gamma^{l}_{j + 1}"), s.sym(f"beta^{l}_{j + 1}")
        mean = norm.mean[0, j] if per_unit else norm.mean[:, 0]
        variance = norm.variance[0, j] if per_unit else norm.variance[:, 0]
        out += [
            s.line(f"μ = {s.operator('mean')}({net}) = {s.num(mean)}, σ² = {s.num(variance)}"),
            s.line(
                f"{x_hat} = ({net} {s.minus} μ) / {s.root(f'σ² + {s.num(norm.epsilon)}')} = "
                f"{s.num(norm.x_hat[:, j])}"
            ),
            s.line(
                f"{o} = {gamma}{s.times}{x_hat} + {beta} = {s.term(norm.gamma[j])}{s.times}"
                f"{s.term(norm.x_hat[:, j])} + {s.term(norm.beta[j])} = {s.num(norm.output[:, j])}"
            ),
        ]
    if norm.grad_input is None:
        return out
    out.append(
        s.line(
            f"{s.words('backward, with')} g = γ{s.times}∂L/∂s: ∂L/∂net = (g {s.minus} "
            f"{s.operator('mean')}(g) {s.minus} x̂{s.times}{s.operator('mean')}(g{s.times}x̂)) / "
            f"{s.root('σ² + ε')} ({s.words('means over')} {over})"
        )
    )
    for j in range(norm.x_hat.shape[1]):
        out.append(
            s.line(
                f"{s.sym(f'∂L/∂s^{l}_{j + 1}')} = {s.num(norm.grad_output[:, j])}, "
                f"{s.sym(f'∂L/∂net^{l}_{j + 1}')} = {s.num(norm.grad_input[:, j])}"
            )
        )
    return out


def factor_text(factor, step, s: Style) -> str | None:
    """A local factor as its formula and its value: ``∂y_hat/∂o_11 = w^2_11 = 1``,
    ``∂o_11/∂net^1_1 = o_11·(1 − o_11) = 0.497·(1 − 0.497) = 0.25``; None when it has
    no formula (a ∂L/∂… factor, or an activation without ``slope_text``)."""
    if factor.formula is not None:
        parts = [s.sym(factor.formula)]
    elif factor.slope is not None and factor.slope.slope_text is not None:
        o, net = factor.of
        parts = [
            factor.slope.slope_text(s, s.sym(o), s.sym(net)),
            factor.slope.slope_text(s, s.term(step.values[o]), s.term(step.values[net])),
        ]
    else:
        return None
    parts.append(s.num(factor.value))
    kept = [part for k, part in enumerate(parts) if k == 0 or part != parts[k - 1]]
    return " = ".join([s.sym(factor.symbol), *kept])


def bracketed(text: str) -> str:
    """``text`` in parentheses, unless it is one letter or one parenthesized term already."""
    if len(text) == 1 or (text.startswith("(") and text.endswith(")") and text.count("(") == 1):
        return text
    return f"({text})"


def update_lines(step, s: Style) -> list[str]:
    """The update of every parameter of ``step`` (its ``updates``, ``plain_update``,
    ``learning_rate`` and ``optimizer``), under its heading."""
    rule = "gradient descent" if step.plain_update else step.optimizer
    out = [s.heading(f"Update ({rule}, {s.math(f'{s.eta} = {s.num(step.learning_rate)}')})")]
    for update in step.updates:
        w = s.sym(update.symbol)
        written = None if step.plain_update else update_text(update, step, s)
        if written:
            out += [s.line(f"{w}: {line}" if k == 0 else line) for k, line in enumerate(written)]
        elif step.plain_update:
            gradient = s.sym(f"∂L/∂{update.symbol}")
            arithmetic = (
                f"{s.num(update.old)} {s.minus} {s.num(step.learning_rate)}{s.dot}"
                f"{s.term(update.gradient)}"
            )
            out.append(
                s.line(
                    f"{w} {s.arrow} {w} {s.minus} {s.eta}{s.dot}{gradient} = {arithmetic} "
                    f"= {s.num(update.new)}"
                )
            )
        else:
            gradient = f"{s.sym(f'∂L/∂{update.symbol}')} = {s.num(update.gradient)}"
            out.append(
                s.line(
                    f"{w} {s.arrow} {s.num(update.old)} {s.words('with')} {gradient} "
                    f"{s.words('gives')} {s.num(update.new)}"
                )
            )
    return out


def derivative_line(derivative: Derivative) -> str:
    """``∂L/∂w = ∂L/∂y_hat · ∂y_hat/∂w = 174 · 63.5 = 11049`` (Σ_rows over a batch)."""
    return derivative_text(derivative, PLAIN)


def derivative_text(derivative: Derivative, s: Style) -> str:
    chains = derivative.terms or (derivative.factors,)
    symbols = " + ".join(s.dot.join(s.sym(f.symbol) for f in chain) for chain in chains)
    numbers = " + ".join(s.dot.join(s.term(f.value) for f in chain) for chain in chains)
    if len(derivative.factors[0].value) > 1:
        symbols, numbers = f"{s.rows_sum}{symbols}", f"{s.sum_}{numbers}"
    return f"{s.sym(derivative.symbol)} = {symbols} = {numbers} = {s.num(derivative.value)}"


def _is_output_gradient(derivative: Derivative) -> bool:
    """∂L/∂y_hat itself, written with the loss rather than among the gradients."""
    factors = derivative.factors
    return not derivative.terms and len(factors) == 1 and factors[0].symbol == derivative.symbol


def _unit(unit: UnitStep, single_row: bool, s: Style) -> list[str]:
    terms = [f"{s.sym(weight)}{s.times}{s.sym(input_)}" for weight, input_ in unit.terms]
    numbers = [
        f"{s.term(w)}{s.times}{s.term(unit.inputs[:, i])}" for i, w in enumerate(unit.weights)
    ]
    if unit.bias is not None:
        terms.append(s.sym(unit.bias[0]))
        numbers.append(s.term(unit.bias[1]))
    target = s.sym(unit.net_symbol or unit.output)
    expansion = ""
    if single_row and len(terms) <= _MAX_EXPANDED_TERMS:
        expansion = f" = {' + '.join(numbers)}"
    texts = [f"{target} = {' + '.join(terms)}{expansion} = {s.num(unit.net)}"]
    if unit.activation is not None:
        activated = f"{s.operator(unit.activation)}({target})"
        texts.append(f"{s.sym(unit.output)} = {activated} = {s.num(unit.value)}")
    return texts


def _loss(step: Explanation, s: Style) -> list[str]:
    gradients = [d for d in step.derivatives.values() if _is_output_gradient(d)]
    each_gradient = [f"{s.sym(d.symbol)} = {s.num(d.factors[0].value)}" for d in gradients]
    if step.softmax:
        probabilities = ", ".join(
            f"{s.sym(f'y_hat_{j + 1}')} = {s.num(step.outputs[:, j])}"
            for j in range(step.outputs.shape[1])
        )
        n = step.rows
        together = "softmax and cross-entropy together" + (f", n = {n}" if n > 1 else "")
        return [
            f"{s.softmax}: {probabilities}",
            f"{s.formula(step)} = {s.num(step.loss)}",
            f"{s.softmax_gradient}   ({s.words(together)})",
            *each_gradient,
        ]
    if step.lecture_loss:
        y, y_hat = s.num(step.targets[0, 0]), s.term(step.outputs[0, 0])
        y_hat_symbol = s.sym("y_hat")
        difference = f"y {s.minus} {y_hat_symbol}"
        return [
            f"L = {s.squared(difference)} = {s.squared(f'{y} {s.minus} {y_hat}')} "
            f"= {s.num(step.loss)}",
            f"{s.sym('∂L/∂y_hat')} = {s.minus}2({difference}) = {s.minus}2({y} {s.minus} {y_hat}) "
            f"= {s.num(gradients[0].value)}",
        ]
    return [f"{s.formula(step)} = {s.num(step.loss)}", *each_gradient]
