"""The write-up as Markdown with LaTeX math in ``$…$``, as Jupyter and GitHub render it:

- $\\frac{\\partial L}{\\partial w^{2}_{11}} = \\frac{\\partial L}{\\partial \\hat{y}} \\cdot
  \\frac{\\partial \\hat{y}}{\\partial w^{2}_{11}} = 174 \\cdot 63.5 = 11049$
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .notation import latex, latex_number, latex_term
from .text import Style, bracketed, lines

if TYPE_CHECKING:
    from .trace import Explanation


class LatexStyle(Style):
    """Each line one inline formula; headings in bold, words in ``\\mathrm{…}`` (which
    matplotlib's mathtext reads too)."""

    times, dot, arrow, minus, eta = r" \cdot ", r" \cdot ", r"\leftarrow", "-", r"\eta"
    rows_sum, sum_ = r"\sum_{\mathrm{rows}} ", r"\sum "
    softmax = r"\hat{y}_j = \mathrm{softmax}(z)_j = \frac{e^{z_j}}{\sum_k e^{z_k}}"
    softmax_gradient = r"\frac{\partial L}{\partial z_j} = \frac{\hat{y}_j - y_j}{n}"

    def sym(self, symbol: str) -> str:
        return latex(symbol)

    def formula(self, step: Explanation) -> str:
        return step.loss_latex or r"L = \mathrm{" + step.loss_name + r"}(y, \hat{y})"

    def num(self, value) -> str:
        return latex_number(value, self.digits)

    def term(self, value) -> str:
        return latex_term(value, self.digits)

    def operator(self, name: str) -> str:
        return r"\mathrm{" + name.replace(" ∘ ", r"} \circ \mathrm{") + "}"

    def squared(self, text: str) -> str:
        return f"{bracketed(text)}^2"

    letters = {
        "lambda": r"\lambda", "mu": r"\mu", "eta": r"\eta", "beta_1": r"\beta_1",
        "beta_2": r"\beta_2", "epsilon": r"\epsilon", "rho": r"\rho", "m_hat": r"\hat{m}",
        "v_hat": r"\hat{v}",
    }  # fmt: skip

    def power(self, base: str, exponent: str) -> str:
        return f"{base}^{{{exponent}}}"

    def root(self, text: str) -> str:
        return rf"\sqrt{{{text}}}"

    def words(self, text: str) -> str:
        return r"\ \mathrm{" + text.replace(" ", r"\ ") + r"}\ "

    def heading(self, text: str) -> str:
        return f"\n**{text}**\n"

    def math(self, text: str) -> str:
        return f"${text}$"

    def line(self, text: str) -> str:
        return f"- ${text}$"


def to_markdown(step: Explanation) -> str:
    """The write-up as Markdown; each derivation a line of LaTeX math."""
    title = "### One training step, by the chain rule\n"
    text = "\n".join(lines(step, LatexStyle(step.digits)))
    return title + text.replace("\n\n\n", "\n\n") + "\n"
