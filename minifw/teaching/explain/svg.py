"""The network of an explained step as inline SVG: every unit with its value, every weight
with w, ∂L/∂w and its new value (see ``diagram`` for what is labelled), no external file."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .diagram import RADIUS, layout
from .notation import number, pretty

if TYPE_CHECKING:
    from .trace import Explanation

_POSITIVE, _NEGATIVE, _SELECTED, _PLAIN = "#c0392b", "#2c6fbb", "#e67e22", "#888888"


def to_svg(
    step: Explanation, selected: str | None = None, number=number, *, emphasis: bool = True
) -> str:
    """The diagram; ``selected`` (a weight's symbol, e.g. ``"w^1_11"``) is highlighted;
    ``number`` writes the values (``notation.number``). With ``emphasis`` a line's width
    and colour show its ∂L/∂w (else every line is drawn alike)."""
    d = layout(step, selected, number)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{d.width:.0f}" '
        f'height="{d.height:.0f}" viewBox="0 0 {d.width:.0f} {d.height:.0f}" role="img" '
        'aria-label="The network: units with their values, weights with their gradients" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">'
    ]
    for edge in d.edges:
        u = edge.update
        colour = _SELECTED if edge.selected else _POSITIVE if u.gradient >= 0 else _NEGATIVE
        width = edge.width if emphasis else 2.0
        if not emphasis and not edge.selected:
            colour = _PLAIN
        tip = (
            f"{pretty(u.symbol)} = {number(u.old)}; {pretty('∂L/∂' + u.symbol)} = "
            f"{number(u.gradient)}; new {number(u.new)}"
        )
        (x1, y1), (x2, y2) = edge.start, edge.end
        kind = "edge selected" if edge.selected else "edge"
        out.append(
            f'<g class="{kind}" data-weight="{escape(u.symbol)}"><title>{escape(tip)}</title>'
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
            f'stroke-width="{width + (2 if edge.selected else 0):.2f}" '
            f'stroke-opacity="0.75"/></g>'
        )
    for edge in d.edges:
        if edge.labelled:
            out.append(_label(edge, number))
    for node in d.nodes:
        out.append(
            f'<g class="{node.kind}" data-symbol="{escape(node.symbol)}">'
            f'<circle cx="{node.x:.1f}" cy="{node.y:.1f}" r="{RADIUS}" fill="#fdfdfd" '
            'stroke="#333" stroke-width="1.5"/>'
            f'<text x="{node.x:.1f}" y="{node.y - 6:.1f}" text-anchor="middle" font-size="15" '
            f'font-weight="bold">{escape(pretty(node.symbol))}</text>'
            + "".join(
                f'<text x="{node.x:.1f}" y="{node.y + 12 + 13 * k:.1f}" text-anchor="middle" '
                f'font-size="11">{escape(line)}</text>'
                for k, line in enumerate(node.lines)
            )
            + "</g>"
        )
    loss = f"L = {number(step.loss)}"
    out.append(
        f'<text class="loss" x="{d.width - 12:.0f}" y="24" text-anchor="end" font-size="14">'
        f"{escape(loss)}</text>"
    )
    out.append("</svg>")
    return "\n".join(out)


def _label(edge, number) -> str:
    u, (x, y) = edge.update, edge.label_at
    lines = [
        f"{pretty(u.symbol)} = {number(u.old)}",
        f"∂L/∂{'w' if u.source else 'b'} = {number(u.gradient)}",
        f"→ {number(u.new)}",
    ]
    width = 8 + 6.6 * max(len(line) for line in lines)
    return (
        f'<g class="edge-label"><rect x="{x - width / 2:.1f}" y="{y - 22:.1f}" '
        f'width="{width:.1f}" height="42" rx="4" fill="white" fill-opacity="0.9" '
        f'stroke="#bbb"/>'
        + "".join(
            f'<text x="{x:.1f}" y="{y - 9 + 13 * k:.1f}" text-anchor="middle" '
            f'font-size="11">{escape(line)}</text>'
            for k, line in enumerate(lines)
        )
        + "</g>"
    )
