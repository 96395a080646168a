"""The page of a recorded run (``Trajectory.to_html``): a slider and a play button over
the steps; for step k the network as ``explain``'s page draws it and the write-up, both
with step k's numbers, and the loss curve with k marked.

Every number is computed in Python, by ``explain``'s own records and renderers; the
page's script only puts numbers into place. The page is drawn once with each number
replaced by a numbered slot (the renderers take the number writer as an argument), so
one template serves every step whose write-up has the same shape; each step brings
only its slots' values. Slots that always hold the same value are stored once, a
value constant over the run once, and a value that is another's one step later (the
new w of step k is the old w of step k + 1) from that one, as float32 in base64:
the lecture's 4000 steps make a page of about half a megabyte. Without script the page
shows the first step; ``run.html#step=k`` opens at step k. Nothing is fetched from
elsewhere.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape

import numpy as np

from .explain.html import HtmlStyle, as_lists
from .explain.notation import number, term
from .explain.svg import to_svg
from .explain.text import lines
from .explain.trace import dense_layers, record_update, softmax_output, trace

__all__ = ["page", "explanations"]

_SLOT = re.compile("\ue000(\\d+)\ue001")


class _Slots:
    """Writes each number as a numbered slot and keeps its value and form ("n": as
    ``notation.number``, "t": in parentheses when negative, as ``notation.term``)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.forms: list[str] = []

    def write(self, value, form: str = "n") -> str:
        array = np.asarray(value, dtype=np.float64).ravel()
        if array.size != 1:
            return "[" + ", ".join(self.write(v) for v in array) + "]"
        self.values.append(float(array[0]))
        self.forms.append(form)
        return f"\ue000{len(self.values) - 1}\ue001"

    def number(self, value) -> str:
        return self.write(value)


class _SlotStyle(HtmlStyle):
    """``explain``'s HTML style with every number a slot."""

    def __init__(self, slots: _Slots) -> None:
        super().__init__()
        self.slots = slots

    def num(self, value) -> str:
        return self.slots.write(value, "n")

    def term(self, value) -> str:
        return self.slots.write(value, "t")


def explanations(trajectory):
    """Each kept step's Explanation, from the recorded weights before and after it (the
    update fit made), without training again."""
    replica = trajectory.model_at(trajectory.steps[0].index)
    layers = dense_layers(replica.layers, replica.loss)
    softmax = softmax_output(replica.layers, replica.loss)
    for step in trajectory.steps:
        replica.parameters.params[...] = step.params
        replica.parameters.state[...] = step.state
        X = step.x.astype(np.float64)
        old = replica.get_weights()
        new = [part.copy() for part in old]
        after = step.after
        trainable = iter(replica.parameters.slices)  # get_weights: trainable arrays and state
        for position, slot in enumerate(replica.parameters.slots):
            if slot.trainable:
                new[position] = after[next(trainable)].reshape(old[position].shape)
        explanation = trace(layers, replica.loss, X, step.y, softmax=softmax)
        record_update(explanation, replica.optimizer, layers, old, new, step.learning_rate)
        yield step, explanation


def _render(step, explanation, selected: str, slots: _Slots) -> str:
    """The part of the page that changes with the step, with its numbers as slots."""
    style = _SlotStyle(slots)
    head = (
        f'<p class="where">step {style.num(step.index)} · epoch {style.num(step.epoch + 1)}, '
        f"batch {style.num(step.batch + 1)} "
        f"· loss L = {style.num(explanation.loss)} · η = {style.num(step.learning_rate)}</p>"
    )
    figure = to_svg(explanation, selected, number=slots.number, emphasis=False)
    return head + "<figure>" + figure + "</figure>" + "\n".join(as_lists(lines(explanation, style)))


def page(trajectory, selected: str | None = None) -> str:
    """The page (see the module docstring); ``selected`` names the weight drawn in orange
    (default: w^1_11)."""
    model = trajectory.model
    templates: dict[str, int] = {}  # the page's shape (its text without the numbers)
    parts_of: list[list[str]] = []  # each template: the text between its slots
    orders: list[list[int]] = []  # each template: its slots (in writing order) as they appear
    rows: list[list[list[float]]] = []
    groups: list[list[int]] = []
    forms_of: list[list[str]] = []
    for position, (step, explanation) in enumerate(explanations(trajectory)):
        if selected is None:
            selected = next(u.symbol for u in explanation.updates if u.source is not None)
        known = {u.symbol for u in explanation.updates}
        if selected not in known:
            raise ValueError(
                f"to_html: no weight {selected!r}. The weights are: {', '.join(sorted(known))}."
            )
        slots = _Slots()
        text = _render(step, explanation, selected, slots)
        shape = _SLOT.sub("\ue000", text)
        if shape not in templates:
            templates[shape] = len(parts_of)
            pieces = _SLOT.split(text)
            parts_of.append(pieces[0::2])
            orders.append([int(index) for index in pieces[1::2]])
            forms_of.append([slots.forms[index] for index in orders[-1]])
            groups.append([])
            rows.append([])
        group = templates[shape]
        groups[group].append(position)
        rows[group].append([slots.values[index] for index in orders[group]])
        if position == 0:
            first = _fill(text, slots.values, slots.forms)
    packed = [
        {
            "parts": parts,
            "forms": "".join(forms),
            "steps": members,
            **_pack(np.array(values, dtype=np.float64)),
        }
        for parts, forms, members, values in zip(parts_of, forms_of, groups, rows)
    ]
    data = {
        "steps": [int(step.index) for step in trajectory.steps],
        "losses": [float(v) for v in trajectory.losses],
        "groups": packed,
    }
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    title = f"{escape(model.name)}: {len(trajectory)} training steps"
    return _PAGE.format(
        title=title,
        first=first,
        last=len(trajectory) - 1,
        curve=_loss_curve(trajectory.losses),
        data=payload,
        script=_SCRIPT,
        css=_CSS,
    )


def _fill(text: str, values: list[float], forms: list[str]) -> str:
    """``text`` with its slots written as ``explain`` writes numbers."""

    def write(match):
        index = int(match.group(1))
        return (number if forms[index] == "n" else term)(values[index])

    return _SLOT.sub(write, text)


def _pack(values: np.ndarray) -> dict:
    """A group's values (steps × slots) stored compactly: identical columns once; a
    column constant over the steps as one number; a column that is another's one step
    later by that column (and its own last value); the rest as float32 in base64."""
    stored = values.astype(np.float32)
    unique, inverse = np.unique(stored.T, axis=0, return_inverse=True)
    unique = unique.T  # steps × distinct columns
    columns = range(unique.shape[1])
    varying = [c for c in columns if not np.all(unique[:, c] == unique[0, c])]
    later: dict[int, int] = {}  # column c: the column d with c[k] == d[k + 1]
    for c in varying:
        for d in varying:
            if d != c and d not in later and np.array_equal(unique[:-1, c], unique[1:, d]):
                later[c] = d
                break
    kept = [c for c in varying if c not in later]
    kinds, sources, extras = [], [], []
    for c in columns:
        if c not in varying:
            kinds.append("c")
            sources.append(0)
            extras.append(float(unique[0, c]))
        elif c in later:
            kinds.append("s")
            sources.append(kept.index(later[c]))
            extras.append(float(unique[-1, c]))
        else:
            kinds.append("v")
            sources.append(kept.index(c))
            extras.append(0.0)
    matrix = np.ascontiguousarray(unique[:, kept], dtype="<f4") if kept else np.zeros((0,), "<f4")
    return {
        "slot": [int(i) for i in np.ravel(inverse)],
        "kind": "".join(kinds),
        "source": sources,
        "extra": extras,
        "width": len(kept),
        "values": base64.b64encode(matrix.tobytes()).decode("ascii"),
    }


def _loss_curve(losses: np.ndarray, width: int = 640, height: int = 160) -> str:
    """The loss per step as an SVG polyline (log scale when it spans decades)."""
    values = np.maximum(np.asarray(losses, dtype=np.float64), 1e-300)
    logarithmic = values.min() > 0 and values.max() / values.min() > 100
    y = np.log10(values) if logarithmic else values
    low, high = float(y.min()), float(y.max())
    span = (high - low) or 1.0
    xs = 40 + (width - 50) * np.arange(len(y)) / max(len(y) - 1, 1)
    ys = 10 + (height - 30) * (1 - (y - low) / span)
    step = max(1, len(xs) // 2000)  # at most about 2000 points drawn
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs[::step], ys[::step]))
    scale = "log scale" if logarithmic else "linear scale"
    return (
        f'<svg id="curve" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="The loss per step">'
        f'<polyline points="{points}" fill="none" stroke="#2c6fbb" stroke-width="0.7" '
        'stroke-opacity="0.8"/>'
        f'<circle id="marker" cx="{xs[0]:.1f}" cy="{ys[0]:.1f}" r="5" fill="#e67e22" '
        f'data-xs="{xs[0]:.1f}" data-x0="40" data-dx="{(width - 50) / max(len(y) - 1, 1):.6f}"/>'
        f'<text x="40" y="{height - 4}" font-size="11">step {0}</text>'
        f'<text x="{width - 10}" y="{height - 4}" font-size="11" text-anchor="end">'
        f"step {len(y) - 1}</text>"
        f'<text x="4" y="14" font-size="11">loss ({scale})</text></svg>'
        f'<script type="application/json" id="curve-y">'
        f"{json.dumps([round(float(v), 1) for v in ys])}</script>"
    )


_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 20px 28px;
       color: #222; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 6px; }
.controls { display: flex; gap: 12px; align-items: center; margin: 8px 0; }
.controls input[type=range] { flex: 1; }
.where { color: #555; margin: 6px 0; }
figure { margin: 0 0 12px; border: 1px solid #ddd; border-radius: 6px; padding: 8px;
         overflow-x: auto; }
h3 { font-size: 16px; margin: 16px 0 4px; }
ul { margin: 0; padding-left: 20px; }
li { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; margin: 2px 0;
     overflow-wrap: anywhere; }
"""

_SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById("run").textContent);
  const curveY = JSON.parse(document.getElementById("curve-y").textContent);
  const where = new Array(data.steps.length);
  data.groups.forEach(function (group, g) {
    const bytes = Uint8Array.from(atob(group.values), function (c) { return c.charCodeAt(0); });
    group.view = new DataView(bytes.buffer);
    group.steps.forEach(function (position, row) { where[position] = [g, row]; });
  });
  function value(group, row, column) {
    const kind = group.kind[column], source = group.source[column];
    if (kind === "c") return group.extra[column];
    if (kind === "s") {
      if (row + 1 >= group.steps.length) return group.extra[column];
      row += 1;
    }
    return group.view.getFloat32((row * group.width + source) * 4, true);
  }
  function number(x) {
    let s;
    if (!isFinite(x)) s = isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    else if (Number.isInteger(x) && Math.abs(x) < 1e15) s = String(x);
    else {
      const [mantissa, exponent] = x.toExponential(5).split("e");
      const p = parseInt(exponent, 10);
      if (p < -4 || p >= 6) {
        s = mantissa.replace(/\.?0+$/, "") + "e" + (p < 0 ? "-" : "+") +
            String(Math.abs(p)).padStart(2, "0");
      } else {
        s = x.toFixed(5 - p);
        if (s.indexOf(".") >= 0) s = s.replace(/\.?0+$/, "");
      }
    }
    return s.charAt(0) === "-" ? "\u2212" + s.slice(1) : s;
  }
  const slider = document.getElementById("step"), label = document.getElementById("label");
  const shown = document.getElementById("shown"), marker = document.getElementById("marker");
  function show(position) {
    const [g, row] = where[position], group = data.groups[g];
    let html = group.parts[0];
    for (let i = 0; i < group.slot.length; i++) {
      let text = number(value(group, row, group.slot[i]));
      if (group.forms[i] === "t" && text.charAt(0) === "\u2212") text = "(" + text + ")";
      html += text + group.parts[i + 1];
    }
    shown.innerHTML = html;
    label.textContent = "step " + data.steps[position];
    marker.setAttribute("cx", (40 + position * parseFloat(marker.dataset.dx)).toFixed(1));
    marker.setAttribute("cy", curveY[position]);
  }
  let timer = null;
  const play = document.getElementById("play");
  play.addEventListener("click", function () {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "\u25b6 play"; return; }
    play.textContent = "\u275a\u275a pause";
    timer = setInterval(function () {
      const next = (parseInt(slider.value, 10) + 1) % data.steps.length;
      slider.value = next;
      show(next);
    }, 200);
  });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  window.minifwShow = function (position) { slider.value = position; show(position); };
  const asked = /step=(\d+)/.exec(location.hash);  // run.html#step=12 opens at step 12
  const start = asked ? data.steps.indexOf(parseInt(asked[1], 10)) : 0;
  window.minifwShow(start > 0 ? start : 0);
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<h1>{title}</h1>
<div class="controls">
<button id="play" type="button">&#9654; play</button>
<input id="step" type="range" min="0" max="{last}" value="0" aria-label="step">
<span id="label">step 0</span>
</div>
{curve}
<div id="shown">{first}</div>
<script type="application/json" id="run">{data}</script>
<script>{script}</script>
</body>
</html>
"""
