"""Where the network of an explained step is drawn: one column per layer, one circle per
unit, one line per weight, and which lines carry their numbers. A layer's biases are
lines from a "1" below the column before it (b_lj is the weight of a constant input 1).

Shared by the SVG (``svg``) and matplotlib (``plot``) drawings, so both show the
same picture. Every weight's line is drawn, its width growing with |∂L/∂w|;
the numbers (w, ∂L/∂w, the new w) are written on every line when a layer has
at most ``LABELLED_EDGES`` weights, else only on the line of each unit with
the largest |∂L/∂w|: the others stay in the write-up's table (and, in the SVG,
in each line's tooltip).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .notation import number

if TYPE_CHECKING:
    from .trace import Explanation, Update

COLUMN_GAP, ROW_GAP, MARGIN, RADIUS = 300.0, 150.0, 70.0, 34.0
BIAS_ROW = 110.0  # the row below the units where the biases' "1"s stand
LABELLED_EDGES = 8  # per layer: more than this and only each unit's strongest is labelled


@dataclass(frozen=True)
class Node:
    symbol: str
    x: float
    y: float
    lines: tuple[str, ...]  # the values written in the circle (first row of a batch)
    kind: str = "unit"  # or "bias": the constant 1 that a layer's biases multiply


@dataclass(frozen=True)
class Edge:
    update: Update
    start: tuple[float, float]
    end: tuple[float, float]
    width: float  # 1 … 6, with |∂L/∂w|
    labelled: bool
    label_at: tuple[float, float]
    selected: bool


@dataclass(frozen=True)
class Diagram:
    width: float
    height: float
    nodes: list[Node]
    edges: list[Edge]


def layout(step: Explanation, selected: str | None = None, number=number) -> Diagram:
    """Positions for ``step``'s units and weights; ``selected`` (a weight's symbol) is
    highlighted; ``number`` writes the values (``notation.number``)."""
    columns = [step.inputs] + [
        max(u.unit for u in step.units if u.layer == layer) for layer in range(1, step.layers + 1)
    ]
    units_height = 2 * MARGIN + (max(columns) - 1) * ROW_GAP
    drawn = [u for u in step.updates if u.symbol.startswith(("w^", "b_"))]  # not γ, β
    biased = sorted({u.layer for u in drawn if u.source is None})
    height = units_height + (BIAS_ROW if biased else 0.0)
    width = 2 * MARGIN + (len(columns) - 1) * COLUMN_GAP

    def position(layer: int, unit: int) -> tuple[float, float]:
        if unit == 0:  # the bias input of the layer after this one, below the column
            return MARGIN + layer * COLUMN_GAP, units_height + BIAS_ROW / 2 - MARGIN / 2
        offset = (units_height - (columns[layer] - 1) * ROW_GAP) / 2
        return MARGIN + layer * COLUMN_GAP, offset + (unit - 1) * ROW_GAP

    nodes = []
    for i in range(1, step.inputs + 1):
        symbol = f"x_i{i}"
        nodes.append(Node(symbol, *position(0, i), (number(step.values[symbol][0]),)))
    for unit in step.units:
        values = (number(unit.value[0]),)
        if unit.net_symbol is not None:
            values = (f"net {number(unit.net[0])}", number(unit.value[0]))
        nodes.append(Node(unit.output, *position(unit.layer, unit.unit), values))
    for layer in biased:
        nodes.append(Node("1", *position(layer - 1, 0), (), kind="bias"))

    weights = drawn  # the biases' lines start at the "1" (source 0)
    strongest = max((abs(u.gradient) for u in weights), default=0.0) or 1.0
    edges = []
    for layer in range(1, step.layers + 1):
        in_layer = [u for u in weights if u.layer == layer]
        labelled = _labelled(in_layer)
        for update in in_layer:
            source = update.source or 0
            (x1, y1), (x2, y2) = position(layer - 1, source), position(layer, update.unit)
            # near the unit it feeds, where lines into one unit fan apart; a bias's near its 1
            t = 0.68 if update.source else 0.3
            edges.append(
                Edge(
                    update=update,
                    start=(x1 + RADIUS, y1),
                    end=(x2 - RADIUS, y2),
                    width=1.0 + 5.0 * abs(update.gradient) / strongest,
                    labelled=id(update) in labelled,
                    label_at=(x1 + t * (x2 - x1), y1 + t * (y2 - y1)),
                    selected=update.symbol == selected,
                )
            )
    return Diagram(width, height, nodes, edges)


def _labelled(updates: list[Update]) -> set[int]:
    if len(updates) <= LABELLED_EDGES:
        return {id(u) for u in updates}
    best: dict[int, Update] = {}
    for update in updates:
        if update.unit not in best or abs(update.gradient) > abs(best[update.unit].gradient):
            best[update.unit] = update
    return {id(u) for u in best.values()}
