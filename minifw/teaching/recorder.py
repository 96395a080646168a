"""The training run as a lesson: ``Recorder`` keeps what each step used and did, and
its ``Trajectory`` replays the run step by step.

    rec = mf.teaching.Recorder()
    model.fit(X, y, epochs=1000, batch_size=1, callbacks=[rec])
    run = rec.trajectory
    print(run.explain(2))      # mf.explain of step 2, at the weights before it
    run.to_html("run.html")    # a page with a slider and a play button over the steps

A recorded step keeps its batch, the parameters and the non-trainable state before
it, the optimizer's state and step count, each layer's random generator (Dropout's
masks), the learning rate, and what the step did: its loss, its gradients and the
update. ``Trajectory.explain(k)`` rebuilds the model as it was before step k and
explains that batch, so its numbers are the ones ``fit`` computed (a test checks its
new weights against the next recorded step's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from html import escape

import numpy as np

from ..callbacks import Callback
from ..validation import positive_int
from .explain import explain
from .figure import new_figure
from .health import Health, health, step_health
from .player import page
from .weights import weight_positions

__all__ = ["Recorder", "RecordedStep", "Trajectory"]


@dataclass(frozen=True)
class RecordedStep:
    """What training step ``index`` (from 0, in the order fit ran them) used and did."""

    index: int
    epoch: int
    batch: int
    x: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    #: The flat parameter vector and non-trainable state before the step.
    params: np.ndarray
    state: np.ndarray
    optimizer_state: dict[str, np.ndarray]
    iterations: int
    #: Each generator's state before the step (the layers' that have one: Dropout's masks).
    generators: tuple[dict, ...]
    learning_rate: float
    loss: float
    #: ∂L/∂w as the step used it (after clipping), and the parameters after the step.
    gradients: np.ndarray
    after: np.ndarray
    #: With ``Recorder(stats=True)``: saturated and dead fractions and update ratios, by
    #: layer (``health.step_health``).
    stats: dict | None = None

    @property
    def update(self) -> np.ndarray:
        """What the step changed: the parameters after it − before it."""
        return self.after - self.params


class Recorder(Callback):
    """Keeps every ``every``-th training step (``RecordedStep``), at most ``max_steps``;
    with ``stats``, also each kept step's health (saturated and dead units, update ratio
    per layer: ``Trajectory.health``).

    A fit that would keep more is refused before its first step, naming the ``every``
    that fits. Steps are numbered across fits. Records the NumPy engine's steps one by
    one: a model compiled with ``jit_compile=True`` or trained data-parallel is refused.
    """

    def __init__(self, every: int = 1, max_steps: int = 100_000, *, stats: bool = False) -> None:
        super().__init__()
        if not isinstance(stats, bool):
            raise TypeError(f"Recorder: `stats` must be True or False. Received: {stats!r}")
        self.stats = stats
        self._replica = None  # the model's copy that computes the stats
        self.every = positive_int(every, "every", "Recorder")
        self.max_steps = positive_int(max_steps, "max_steps", "Recorder")
        self.steps: list[RecordedStep] = []
        self._count = 0  # the number of the next step
        self._epoch = 0
        self._before: dict | None = None
        self._model = None

    def on_train_begin(self, logs=None):
        model = self.model
        if model.jit_compile:
            raise ValueError(
                "Recorder keeps the steps one by one on the NumPy engine; this model is "
                "compiled with jit_compile=True. Compile it with jit_compile=False to record."
            )
        if model.distribute is not None:
            raise ValueError(
                "Recorder keeps one process's steps; a data-parallel step is the sum over "
                "the processes. Record a run in one process."
            )
        steps, epochs = self.params.get("steps"), self.params.get("epochs")
        if steps is not None and epochs is not None:
            planned = (epochs - self.params.get("initial_epoch", 0)) * steps
            first = -self._count % self.every  # the first of them to keep
            kept = 0 if planned <= first else math.ceil((planned - first) / self.every)
            if len(self.steps) + kept > self.max_steps:
                enough = math.ceil((len(self.steps) * self.every + planned) / self.max_steps)
                raise ValueError(
                    f"Recorder: this fit runs {planned} steps and would keep {kept}, past "
                    f"max_steps={self.max_steps} (with {len(self.steps)} kept already). Keep "
                    f"every {enough}th step (Recorder(every={enough})), or raise max_steps."
                )
        self._model = model
        if self.stats:
            self._replica = model.copy()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._before = None
        if self._count % self.every:
            return
        model, optimizer = self.model, self.model.optimizer
        self._before = {
            "params": model.parameters.params.copy(),
            "state": model.parameters.state.copy(),
            "optimizer_state": {key: value.copy() for key, value in optimizer.state.items()},
            "iterations": optimizer.iterations,
            "generators": tuple(
                layer.rng.bit_generator.state for layer in model.layers if layer.rng is not None
            ),
            "learning_rate": float(optimizer.current_learning_rate()),
        }

    def on_train_step_end(self, batch, x, y, sample_weight, loss):
        before, self._before = self._before, None
        index, self._count = self._count, self._count + 1
        if before is None:
            return
        parameters = self.model.parameters
        recorded = RecordedStep(
                index=index,
                epoch=self._epoch,
                batch=batch,
                x=np.array(x),
                y=np.array(y),
                sample_weight=None if sample_weight is None else np.array(sample_weight),
                loss=float(loss),
                gradients=parameters.grads.copy(),
                after=parameters.params.copy(),
                **before,
            )
        if self.stats:
            recorded = replace(recorded, stats=step_health(self._replica, recorded))
        self.steps.append(recorded)

    @property
    def trajectory(self) -> Trajectory:
        """The recorded run (the model as it is now supplies its architecture)."""
        if self._model is None:
            raise ValueError("Recorder: nothing recorded yet; pass it to fit(callbacks=[...]).")
        return Trajectory(self._model, list(self.steps), self.every)


class Trajectory:
    """A recorded run: ``explain(k)``, ``losses``, ``weight(symbol)``, ``plot()``,
    ``to_html()``. Step numbers are fit's; ``indices`` lists the ones kept."""

    def __init__(self, model, steps: list[RecordedStep], every: int = 1) -> None:
        if not steps:
            raise ValueError("Trajectory: no steps were recorded.")
        self.model, self.steps, self.every = model, steps, every
        self._by_index = {step.index: position for position, step in enumerate(steps)}
        self._replica = None

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"<Trajectory {len(self)} steps, loss {self.losses[0]:.6g} → {self.losses[-1]:.6g}>"

    @property
    def indices(self) -> np.ndarray:
        return np.array([step.index for step in self.steps])

    @property
    def losses(self) -> np.ndarray:
        """Each kept step's loss, before its update (as fit computed it)."""
        return np.array([step.loss for step in self.steps])

    def step(self, k: int) -> RecordedStep:
        """The recorded step ``k`` (fit's numbering), or ValueError naming the nearest kept."""
        position = self._by_index.get(k)
        if position is None:
            indices = self.indices
            nearest = indices[np.argsort(np.abs(indices - k), kind="stable")[:2]]
            raise ValueError(
                f"Trajectory: step {k} was not kept (every={self.every}, steps "
                f"{indices[0]}…{indices[-1]}); the nearest kept: "
                f"{', '.join(str(int(i)) for i in sorted(nearest))}."
            )
        return self.steps[position]

    def model_at(self, k: int):
        """A copy of the model as it was before step ``k``: its parameters and state, its
        optimizer's state and step count, and its layers' generators."""
        step = self.step(k)
        if self._replica is None:
            self._replica = self.model.copy()
        replica = self._replica
        replica.parameters.params[...] = step.params
        replica.parameters.state[...] = step.state
        optimizer = replica.optimizer
        optimizer.state = {key: value.copy() for key, value in step.optimizer_state.items()}
        optimizer.iterations = step.iterations
        layers = [layer for layer in replica.layers if layer.rng is not None]
        for layer, state in zip(layers, step.generators):
            layer.rng.bit_generator.state = state
        return replica

    def explain(self, k: int):
        """``mf.explain`` of step ``k``'s batch at the state before it: the numbers fit
        computed in that step (the model itself is left as it is)."""
        step = self.step(k)
        if step.sample_weight is not None:
            raise ValueError(
                f"Trajectory.explain: step {k} trained with sample weights, which explain "
                "does not write out."
            )
        return explain(self.model_at(k), step.x, step.y, step.learning_rate)

    def weight(self, symbol: str) -> np.ndarray:
        """The value of one weight or bias (``"w^1_11"``, ``"b_21"``) before each kept step."""
        position = weight_positions(self.model).get(symbol)
        if position is None:
            names = ", ".join(weight_positions(self.model))
            raise ValueError(f"Trajectory: no weight {symbol!r}. The weights are: {names}.")
        return np.array([step.params[position] for step in self.steps])

    def plot(self, weights: tuple[str, ...] | None = None):
        """The loss per step and the selected weights over the steps (default: every
        weight, up to 6), as a matplotlib Figure (``minifw[plot]``)."""
        names = list(weights) if weights else list(weight_positions(self.model))[:6]
        figure = new_figure(figsize=(9, 3.4))
        loss_axes, weight_axes = figure.subplots(1, 2)
        loss_axes.plot(self.indices, self.losses)
        loss_axes.set(title="loss before each step", xlabel="step", yscale="log")
        for name in names:
            weight_axes.plot(self.indices, self.weight(name), label=name)
        weight_axes.set(title="weights", xlabel="step")
        weight_axes.legend(fontsize=8)
        figure.tight_layout()
        return figure

    def _repr_html_(self) -> str:
        """In a notebook: the page (``to_html``) in a frame of its own."""
        return (
            f'<iframe srcdoc="{escape(self.to_html(), quote=True)}" title="The recorded run" '
            'style="width: 100%; height: 720px; border: 1px solid #ddd"></iframe>'
        )

    def health(self) -> Health:
        """Per layer and kept step: the saturated and dead fractions of its units and its
        update ratio ‖Δw‖/‖w‖ (``minifw.teaching.health``)."""
        return health(self)

    def to_html(self, path=None, selected: str | None = None) -> str:
        """One self-contained page (see ``player``): a slider and a play button over the
        steps, the network and the write-up of step k, the loss curve with k marked.
        Written to ``path`` when given; returned either way."""
        text = page(self, selected)
        if path is not None:
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
        return text
