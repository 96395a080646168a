"""A recorded run's health, per layer and step (``Trajectory.health``):

- saturated: the fraction of a tanh or sigmoid layer's units that are saturated on every
  row of the step's batch (|tanh| > 0.97; σ outside (0.03, 0.97)): their slope is
  below 0.06, so almost no gradient passes back through them;
- dead: the fraction of a ReLU layer's units that output 0 on every row of the batch
  (no gradient at all reaches their weights);
- update ratio: ‖Δw‖ / ‖w‖ over all of a Dense layer's parameters (‖w‖ before the step).
  About 1e-3 is healthy; much larger and the steps overshoot, much smaller and the
  layer barely learns.

Each kept step's values come from the batch it trained on and the weights before it
(the activations of the forward pass, in inference mode: Dropout off) and its update.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np

from ..layers.activations import ReLU, Sigmoid, Tanh
from ..layers.dense import Dense
from .figure import new_figure

__all__ = ["Health", "health"]

#: Beyond these an output counts as saturated: |tanh| > 0.97 (slope < 0.06) and σ outside
#: (0.03, 0.97) (slope < 0.03).
TANH_SATURATED, SIGMOID_SATURATED = 0.97, 0.03


@dataclass
class Health:
    """``saturated``, ``dead`` and ``update_ratio``: by layer name, one value per kept
    step (``steps``); ``str()``, a notebook and ``plot()`` show them."""

    steps: np.ndarray
    saturated: dict[str, np.ndarray]
    dead: dict[str, np.ndarray]
    update_ratio: dict[str, np.ndarray]

    def columns(self) -> list[tuple[str, np.ndarray]]:
        """(heading, values) of each column, in order."""
        return (
            [(f"{name} saturated", v) for name, v in self.saturated.items()]
            + [(f"{name} dead", v) for name, v in self.dead.items()]
            + [(f"{name} ‖Δw‖/‖w‖", v) for name, v in self.update_ratio.items()]
        )

    def _rows(self, most: int = 12) -> list[int]:
        """The rows shown: all, or ``most`` spread over the run."""
        if len(self.steps) <= most:
            return list(range(len(self.steps)))
        return sorted(set(np.linspace(0, len(self.steps) - 1, most).round().astype(int)))

    def __str__(self) -> str:
        columns = self.columns()
        headings = ["step", *(heading for heading, _ in columns)]
        rows = [
            [str(self.steps[k]), *(f"{values[k]:.3g}" for _, values in columns)]
            for k in self._rows()
        ]
        widths = [max(len(text) for text in column) for column in zip(headings, *rows)]
        return "\n".join(
            "  ".join(text.rjust(width) for text, width in zip(line, widths))
            for line in (headings, *rows)
        )

    def _repr_html_(self) -> str:
        columns = self.columns()
        head = "".join(f"<th>{escape(h)}</th>" for h in ["step", *(h for h, _ in columns)])
        body = "".join(
            "<tr><td>"
            + "</td><td>".join([str(self.steps[k]), *(f"{v[k]:.3g}" for _, v in columns)])
            + "</td></tr>"
            for k in self._rows()
        )
        return (
            '<div class="minifw-health"><style>.minifw-health table { border-collapse: '
            "collapse; font-size: 13px; } .minifw-health td, .minifw-health th { padding: "
            "2px 8px; text-align: right; border-bottom: 1px solid #ddd; }</style>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def plot(self):
        """Saturated and dead fractions, and the update ratios (log scale, 1e-3 marked),
        over the steps: a matplotlib Figure."""
        figure = new_figure(figsize=(10, 3.4))
        fractions, ratios = figure.subplots(1, 2)
        for name, values in self.saturated.items():
            fractions.plot(self.steps, values, label=f"{name} saturated")
        for name, values in self.dead.items():
            fractions.plot(self.steps, values, "--", label=f"{name} dead")
        fractions.set(title="units saturated or dead", xlabel="step", ylim=(-0.02, 1.02))
        for name, values in self.update_ratio.items():
            ratios.plot(self.steps, np.maximum(values, 1e-12), label=name)
        ratios.axhline(1e-3, color="grey", linestyle=":", label="1e-3")
        ratios.set(title="‖Δw‖ / ‖w‖ per step", xlabel="step", yscale="log")
        for axes in (fractions, ratios):
            if axes.lines:
                axes.legend(fontsize=8)
        figure.tight_layout()
        return figure


def step_health(replica, step) -> dict[str, dict[str, float]]:
    """One step's values: ``replica`` (a copy of the model) is set to the state before
    ``step`` (a ``RecordedStep``) and runs its batch forward in inference mode."""
    replica.parameters.params[...] = step.params
    replica.parameters.state[...] = step.state
    owner = {  # a Dense layer's activation is reported under the Dense layer's name
        id(layer.activation): layer
        for layer in replica.layers
        if getattr(layer, "activation", None) is not None
    }
    values: dict[str, dict[str, float]] = {"saturated": {}, "dead": {}, "update_ratio": {}}
    plan, outputs = replica.plan, step.x.astype(replica.dtype)
    for layer, forward in zip(plan.layers, plan.forwards):
        outputs = forward(outputs, False)
        name = getattr(owner.get(id(layer)), "name", None) or layer.name
        if isinstance(layer, Tanh):
            saturated = np.all(np.abs(outputs) > TANH_SATURATED, axis=0)
            values["saturated"][name] = float(saturated.mean())
        elif isinstance(layer, Sigmoid):
            edge = (outputs < SIGMOID_SATURATED) | (outputs > 1 - SIGMOID_SATURATED)
            values["saturated"][name] = float(np.all(edge, axis=0).mean())
        elif isinstance(layer, ReLU):
            values["dead"][name] = float(np.all(outputs == 0, axis=0).mean())
    trainable = [slot for slot in replica.parameters.slots if slot.trainable]
    parts: dict[str, list[slice]] = {}
    for slot, part in zip(trainable, replica.parameters.slices):
        if isinstance(slot.layer, Dense):
            parts.setdefault(slot.layer.name, []).append(part)
    for name, slices in parts.items():
        before = np.concatenate([step.params[part] for part in slices])
        change = np.concatenate([step.after[part] - step.params[part] for part in slices])
        norm = float(np.linalg.norm(before))
        values["update_ratio"][name] = float(np.linalg.norm(change)) / norm if norm else np.inf
    return values


def health(trajectory) -> Health:
    """The health of every kept step of ``trajectory`` (see the module docstring): as its
    ``Recorder(stats=True)`` kept it, or computed now from the kept steps."""
    replica = None
    per_step = []
    for step in trajectory.steps:
        if step.stats is None:
            replica = replica or trajectory.model.copy()
            per_step.append(step_health(replica, step))
        else:
            per_step.append(step.stats)
    tables = {
        kind: {name: np.array([values[kind][name] for values in per_step])
               for name in per_step[0][kind]}
        for kind in ("saturated", "dead", "update_ratio")
    }  # fmt: skip
    return Health(trajectory.indices, tables["saturated"], tables["dead"], tables["update_ratio"])
