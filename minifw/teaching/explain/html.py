"""One self-contained HTML page of an explained step: the network drawn in SVG, the chain
of a selected weight beside it, and the whole write-up. No script, font or file from
elsewhere: the math is typeset text (Unicode sub- and superscripts)."""

from __future__ import annotations

from functools import partial
from html import escape
from typing import TYPE_CHECKING

from .notation import number, pretty, term
from .svg import to_svg
from .text import Style, derivative_text, factor_text, lines
from .updates import update_text

if TYPE_CHECKING:
    from .trace import Explanation

_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px 32px;
       color: #222; max-width: 1400px; }
h1 { font-size: 22px; margin-bottom: 4px; }
.summary { color: #555; margin-top: 0; }
.layout { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: 8px;
         overflow-x: auto; max-width: 100%; flex: 0 1 auto; }
figcaption { font-size: 13px; color: #555; margin-top: 4px; max-width: 640px; }
aside { flex: 1; min-width: 320px; background: #f7f7f4; border-radius: 6px;
        padding: 8px 16px; }
aside .factor { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 14px; }
h3 { font-size: 16px; margin: 18px 0 4px; }
ul { margin: 0; padding-left: 20px; }
li { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; margin: 2px 0;
     overflow-wrap: anywhere; }
"""


class HtmlStyle(Style):
    """Typeset text: Unicode symbols (ŷ, w²₁₁), escaped for HTML; headings and list items."""

    softmax = "ŷⱼ = softmax(z)ⱼ = e^zⱼ / Σₖ e^zₖ"
    softmax_gradient = "∂L/∂zⱼ = (ŷⱼ − yⱼ) / n"

    def sym(self, symbol: str) -> str:
        return escape(pretty(symbol))

    def formula(self, step: Explanation) -> str:
        return escape(super().formula(step).replace("y_hat", "ŷ"))

    def num(self, value) -> str:
        return escape(number(value, self.digits))

    def term(self, value) -> str:
        return escape(term(value, self.digits))

    def words(self, text: str) -> str:
        return escape(text)

    def operator(self, name: str) -> str:
        return escape(name)

    def heading(self, text: str) -> str:
        return f"<h3>{text}</h3>"

    def line(self, text: str) -> str:
        return f"<li>{text}</li>"


def to_html(step: Explanation, selected: str | None = None, *, page: bool = True) -> str:
    """The page (or, with ``page=False``, the part of it a notebook shows).

    ``selected`` names the weight whose chain is written beside the network; by default
    the first weight of layer 1, whose chain is the longest (the lecture's ∂L/∂w^1_11).
    """
    weights = [u.symbol for u in step.updates]  # and the biases
    selected = selected or next((w for w in weights if w.startswith("w^1_")), weights[0])
    if selected not in weights:
        raise ValueError(f"to_html: no weight {selected!r}. The weights are: {', '.join(weights)}.")
    style = HtmlStyle(step.digits)
    rows = "one row" if step.rows == 1 else f"{step.rows} rows (values drawn: row 1)"
    body = [
        "<h1>One training step, by the chain rule</h1>",
        f'<p class="summary">{rows} · loss L = {style.num(step.loss)} · '
        f"{escape(step.optimizer)}, η = {style.num(step.learning_rate)}</p>",
        '<div class="layout"><figure>',
        to_svg(step, selected, number=partial(number, digits=step.digits)),
        "<figcaption>Each line is a weight: w, ∂L/∂w and its new value; thicker lines have "
        "larger |∂L/∂w|, red positive, blue negative. Hover a line for its numbers.</figcaption>"
        "</figure>",
        _chain(step, selected, style),
        "</div>",
        *as_lists(lines(step, style)),
    ]
    content = "\n".join(body)
    if not page:  # in a notebook: the style applies inside this output only
        style = scoped(_CSS, ".minifw-explain")
        return f'<div class="minifw-explain"><style>{style}</style>{content}</div>'
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>One training step, by the chain rule</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n{content}\n</body>\n</html>\n"
    )


def scoped(css: str, scope: str) -> str:
    """``css`` with every rule limited to the elements inside ``scope`` (a selector);
    ``body``'s rule applies to the scope itself. A notebook shows many outputs in one
    page: an unscoped ``li`` rule would restyle every list of the notebook."""
    rules = []
    for block in css.split("}"):
        if "{" not in block:
            continue
        selectors, declarations = block.split("{", 1)
        names = [name.strip() for name in selectors.split(",")]
        inside = [scope if name == "body" else f"{scope} {name}" for name in names]
        rules.append(f"{', '.join(inside)} {{{declarations.strip()}}}")
    return "\n".join(rules)


def _chain(step: Explanation, selected: str, style: HtmlStyle) -> str:
    """The chain rule for ``selected``: each factor with its value, then the update."""
    derivative = step.derivatives[f"∂L/∂{selected}"]
    update = next(u for u in step.updates if u.symbol == selected)
    factors = "".join(
        f'<p class="factor">'
        f"{factor_text(f, step, style) or f'{style.sym(f.symbol)} = {style.num(f.value)}'}</p>"
        for f in derivative.factors
    )
    return (
        f"<aside><h3>The chain for {style.sym(selected)}</h3>{factors}"
        f'<p class="factor">{derivative_text(derivative, style)}</p>'
        + "".join(f'<p class="factor">{line}</p>' for line in _update_text(step, update, style))
        + "</aside>"
    )


def as_lists(items: list[str]) -> list[str]:
    """Consecutive list items wrapped in one <ul> under their heading."""
    out, open_list = [], False
    for item in items:
        if item.startswith("<h3>"):
            if open_list:
                out.append("</ul>")
            out += [item, "<ul>"]
            open_list = True
        else:
            out.append(item)
    if open_list:
        out.append("</ul>")
    return out


def _update_text(step: Explanation, update, style: HtmlStyle) -> list[str]:
    """The selected weight's update: the lecture's line, or the optimizer's with its state."""
    w = style.sym(update.symbol)
    if step.plain_update:
        return [
            f"{w} ← {style.num(update.old)} − {style.num(step.learning_rate)} · "
            f"{style.term(update.gradient)} = {style.num(update.new)}"
        ]
    written = update_text(update, step, style)
    if written:
        return written
    return [f"{w}: {style.num(update.old)} → {style.num(update.new)} ({escape(step.optimizer)})"]
