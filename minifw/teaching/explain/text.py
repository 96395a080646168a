"""The plain-text write-up of an explained step, in the lecture's order and notation:

    Forward propagation
      o_11 = w^1_11·x_i1 + w^1_21·x_i2 + b_11 = 1·60 + 1·3.5 + 0 = 63.5
    Loss
      L = (y − y_hat)² = (40 − 127)² = 7569
    Layer 2: gradients
      ∂L/∂w^2_11 = ∂L/∂y_hat · ∂y_hat/∂w^2_11 = 174 · 63.5 = 11049
    Update (gradient descent, η = 1e-05)
      w^1_11 ← w^1_11 − η · ∂L/∂w^1_11 = 1 − 1e-05 · 10440 = 0.8956

It only writes: every number comes from the records (``trace``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .notation import number, term

if TYPE_CHECKING:
    from .trace import Derivative, Explanation, UnitStep

# A sum of more terms than this is written with symbols only, without its numbers.
_MAX_EXPANDED_TERMS = 8


def render(step: Explanation) -> str:
    lines = ["Forward propagation"]
    lines += [line for unit in step.units for line in _unit_lines(unit, step.rows == 1)]
    lines += ["Loss", *_loss_lines(step)]
    for layer in range(step.layers, 0, -1):
        lines.append(f"Layer {layer}: gradients")
        lines += [
            f"  {derivative_line(d)}"
            for d in step.derivatives.values()
            if d.layer == layer and not _is_output_gradient(d)
        ]
    rule = "gradient descent" if step.plain_update else step.optimizer
    lines.append(f"Update ({rule}, η = {number(step.learning_rate)})")
    for update in step.updates:
        s = update.symbol
        if step.plain_update:
            arithmetic = (
                f"{number(update.old)} − {number(step.learning_rate)} · {number(update.gradient)}"
            )
            lines.append(f"  {s} ← {s} − η · ∂L/∂{s} = {arithmetic} = {number(update.new)}")
        else:
            lines.append(
                f"  {s} ← {number(update.old)} with ∂L/∂{s} = {number(update.gradient)} "
                f"gives {number(update.new)}"
            )
    return "\n".join(lines)


def derivative_line(derivative: Derivative) -> str:
    """``∂L/∂w = ∂L/∂y_hat · ∂y_hat/∂w = 174 · 63.5 = 11049`` (Σ_rows over a batch)."""
    if derivative.terms:
        chains = derivative.terms
    else:
        chains = (derivative.factors,)
    symbols = " + ".join(" · ".join(f.symbol for f in chain) for chain in chains)
    numbers = " + ".join(" · ".join(term(f.value) for f in chain) for chain in chains)
    if len(derivative.factors[0].value) > 1:
        symbols, numbers = f"Σ_rows {symbols}", f"Σ {numbers}"
    return f"{derivative.symbol} = {symbols} = {numbers} = {number(derivative.value)}"


def _is_output_gradient(derivative: Derivative) -> bool:
    """∂L/∂y_hat itself, written with the loss rather than among the gradients."""
    factors = derivative.factors
    return not derivative.terms and len(factors) == 1 and factors[0].symbol == derivative.symbol


def _unit_lines(unit: UnitStep, single_row: bool) -> list[str]:
    terms = [f"{weight}·{input_}" for weight, input_ in unit.terms]
    numbers = [f"{term(w)}·{term(unit.inputs[:, i])}" for i, w in enumerate(unit.weights)]
    if unit.bias is not None:
        terms.append(unit.bias[0])
        numbers.append(term(unit.bias[1]))
    target = unit.net_symbol or unit.output
    expansion = (
        f" = {' + '.join(numbers)}" if single_row and len(terms) <= _MAX_EXPANDED_TERMS else ""
    )
    lines = [f"  {target} = {' + '.join(terms)}{expansion} = {number(unit.net)}"]
    if unit.activation is not None:
        lines.append(f"  {unit.output} = {unit.activation}({target}) = {number(unit.value)}")
    return lines


# The loss formulas the write-up states, by loss class (the lecture's MSE is written out).
_FORMULAS = {
    "MSELoss": "L = (1/(n·k)) Σ (y − y_hat)²",
    "MAELoss": "L = (1/(n·k)) Σ |y − y_hat|",
    "BinaryCrossEntropy": "L = −(1/(n·k)) Σ [y log y_hat + (1 − y) log(1 − y_hat)]",
    "CategoricalCrossEntropy": "L = −(1/n) Σ_rows Σ_j y_j log y_hat_j",
    "SparseCategoricalCrossEntropy": "L = −(1/n) Σ_rows log y_hat_label",
}


def _loss_lines(step: Explanation) -> list[str]:
    output_gradients = [d for d in step.derivatives.values() if _is_output_gradient(d)]
    if step.softmax:
        n = step.rows
        probabilities = ", ".join(
            f"y_hat_{j + 1} = {number(step.outputs[:, j])}" for j in range(step.outputs.shape[1])
        )
        lines = [
            f"  y_hat_j = softmax(z)_j = e^z_j / Σ_k e^z_k: {probabilities}",
            f"  {_FORMULAS[step.loss_name]} = {number(step.loss)}",
            "  ∂L/∂z_j = (y_hat_j − y_j) / n   (softmax and cross-entropy together"
            + (f", n = {n})" if n > 1 else ")"),
        ]
        return lines + [f"  {d.symbol} = {number(d.factors[0].value)}" for d in output_gradients]
    if step.lecture_loss:
        y, y_hat = number(step.targets[0, 0]), term(step.outputs[0, 0])
        gradient = number(output_gradients[0].value)
        return [
            f"  L = (y − y_hat)² = ({y} − {y_hat})² = {number(step.loss)}",
            f"  ∂L/∂y_hat = −2(y − y_hat) = −2({y} − {y_hat}) = {gradient}",
        ]
    formula = _FORMULAS.get(step.loss_name, f"L = {step.loss_name}(y, y_hat)")
    lines = [f"  {formula} = {number(step.loss)}"]
    lines += [f"  {d.symbol} = {number(d.factors[0].value)}" for d in output_gradients]
    return lines
