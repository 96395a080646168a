"""The network of an explained step as a matplotlib Figure: the same picture as the SVG
(``diagram``), for slides and papers. matplotlib is an optional extra."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from ..figure import new_figure
from .diagram import RADIUS, layout
from .notation import number as notation_number
from .notation import pretty

if TYPE_CHECKING:
    from .trace import Explanation

#: The largest figure drawn, (width, height) in inches: wide layers are drawn smaller.
MAX_FIGURE_INCHES = (16.0, 12.0)


def to_figure(step: Explanation, selected: str | None = None):
    """A ``matplotlib.figure.Figure`` of the network (no backend is chosen or changed)."""
    figure_of = new_figure  # ImportError naming the extra without matplotlib
    try:
        from matplotlib.patches import Circle
    except ImportError:
        raise ImportError(
            "Explanation.plot needs matplotlib: pip install 'minifw[plot]' "
            "(or pip install matplotlib)."
        ) from None
    number = partial(notation_number, digits=step.digits)
    d = layout(step, selected, number)
    # diagram units to inches: 1/100, shrunk (text too) to fit MAX_FIGURE_INCHES
    scale = min(1 / 100, MAX_FIGURE_INCHES[0] / d.width, MAX_FIGURE_INCHES[1] / d.height)
    shrink = scale * 100

    def size(points: float) -> float:
        return max(points * shrink, 1.0)

    figure = figure_of(figsize=(d.width * scale, d.height * scale))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, d.width)
    axes.set_ylim(d.height, 0)  # y downwards, as in the SVG
    axes.set_axis_off()
    for edge in d.edges:
        u = edge.update
        colour = "#e67e22" if edge.selected else "#c0392b" if u.gradient >= 0 else "#2c6fbb"
        (x1, y1), (x2, y2) = edge.start, edge.end
        axes.plot(
            [x1, x2],
            [y1, y2],
            color=colour,
            linewidth=edge.width * 0.8 * shrink,
            alpha=0.75,
            gid=f"edge {u.symbol}",
        )
        if edge.labelled:
            text = "\n".join(
                [
                    f"{pretty(u.symbol)} = {number(u.old)}",
                    f"∂L/∂{'w' if u.source else 'b'} = {number(u.gradient)}",
                    f"→ {number(u.new)}",
                ]
            )
            axes.text(
                *edge.label_at,
                text,
                ha="center",
                va="center",
                fontsize=size(7),
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#bbb"},
            )
    for node in d.nodes:
        axes.add_patch(
            Circle(
                (node.x, node.y),
                RADIUS,
                facecolor="#fdfdfd",
                edgecolor="#333",
                gid=f"{node.kind} {node.symbol}",
            )
        )
        axes.text(
            node.x,
            node.y - 8,
            pretty(node.symbol),
            ha="center",
            va="center",
            fontsize=size(10),
            fontweight="bold",
        )
        axes.text(
            node.x, node.y + 12, "\n".join(node.lines), ha="center", va="center", fontsize=size(7)
        )
    axes.text(
        d.width - 12, 24, f"L = {number(step.loss)}", ha="right", va="center", fontsize=size(10)
    )
    return figure
