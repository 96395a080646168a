"""The compiled engine's Python side: which models it runs, and one execution at a time.

``refusal(layers, loss, optimizer)`` says why a model cannot be compiled (None
when it can): Dense layers (no regularizers, not frozen), elementwise
activations that write ``function`` and ``slope``, Dropout; a loss with an
``entry``; an optimizer with a ``rule``. ``Executions`` groups an epoch's
batches ``steps_per_execution`` at a time (the same shuffle as the NumPy
engine's ``ArrayBatches``), and ``CompiledSteps`` runs one group per call of
the compiled function: it draws the Dropout masks from each layer's own
generator as the NumPy engine would, evaluates the learning rate (schedules
included) and the optimizer's ``numbers`` for each step, and on a non-finite
loss or gradient puts the weights and the optimizer's state back as they were
before the execution.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..engine import Plan
from ..errors import NonFiniteError
from ..layers.activations import Activation
from ..layers.base import Layer
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..losses import Loss
from ..optimizers import Optimizer
from ..parameters import ParameterStore
from . import blas, codegen

__all__ = ["refusal", "Execution", "Executions", "CompiledSteps"]

_SUPPORTED = "Dense layers, elementwise activations and Dropout"


def _activation_refusal(activation: Activation) -> str | None:
    cls = type(activation)
    if not activation.elementwise:
        return (
            f"{cls.__name__} is not elementwise (a Softmax is compiled as the end of a model "
            "trained with a categorical cross-entropy, which takes it into the loss)"
        )
    own = cls.activate is Activation.activate and cls.derivative is Activation.derivative
    if not own or cls.function is Activation.function or cls.slope is Activation.slope:
        return (
            f"{cls.__name__} writes activate/derivative instead of the static methods "
            "function(x, *constants) and slope(x, out, *constants) the compiled engine runs"
        )
    return None


def refusal(layers: Sequence[Layer], loss: Loss, optimizer: Optimizer) -> str | None:
    """Why ``jit_compile=True`` cannot train these layers with this loss and optimizer, or
    None. Judges the plan's steps (a Softmax fused into its cross-entropy is the loss's),
    by their kinds only, so it works before the model is built."""
    return plan_refusal(Plan.compile(layers, loss), optimizer) if layers else None


def plan_refusal(plan: Plan, optimizer: Optimizer) -> str | None:
    """``refusal`` of a model's plan: its steps, its (fused) loss, and the optimizer."""
    for layer in plan.layers:
        name = f"{layer.name or type(layer).__name__} ({type(layer).__name__})"
        if isinstance(layer, Dense) and type(layer).net is Dense.net:
            if layer.kernel_regularizer is not None or layer.bias_regularizer is not None:
                return f"layer {name} has a weight regularizer, which is not compiled yet"
            if not layer.trainable:
                return f"layer {name} is frozen (trainable=False), which is not compiled yet"
            shape = layer.output_shape or layer.declared_input_shape
            if shape is not None and len(shape) > 2:
                return f"layer {name} works on sequences (n, T, k), which are not compiled yet"
        elif isinstance(layer, Activation):
            why = _activation_refusal(layer)
            if why:
                return f"layer {name}: {why}"
        elif type(layer) is not Dropout:
            return f"layer {name} is not one of the {_SUPPORTED} it compiles"
    if not any(isinstance(layer, Dense) for layer in plan.layers):
        return "the model has no Dense layer: nothing for it to train"
    loss = plan.loss
    if getattr(loss, "step_formula", None) is None:
        return (
            f"the loss {type(loss).__name__} writes neither `entry` nor `per_row` (the static "
            "methods the compiled engine runs)"
        )
    if getattr(optimizer, "rule", None) is None:
        return (
            f"the optimizer {type(optimizer).__name__} writes no `rule` (a static method "
            "updating one entry)"
        )
    return None


def refusal_message(why: str) -> str:
    return (
        f"compile(jit_compile=True): {why}. The compiled engine trains Sequentials of "
        f"{_SUPPORTED}; use jit_compile=False, or 'auto' to fall back to the NumPy engine."
    )


@dataclass(frozen=True)
class Execution:
    """The rows of ``steps`` consecutive batches: ``order[starts[s]:starts[s + 1]]`` is step
    s's batch, and ``weights[s]`` its weight (rows, or Σ sample weights)."""

    order: np.ndarray
    starts: np.ndarray
    weights: np.ndarray


class Executions:
    """An epoch's batches grouped ``per_execution`` at a time (an int, or ``"epoch"``),
    never across an epoch's end; the rows of each epoch drawn as ``ArrayBatches`` draws
    them (one permutation from ``rng`` when ``shuffle``)."""

    def __init__(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        weights: np.ndarray | None,
        batch_size: int,
        per_execution: int | str,
        *,
        shuffle: bool,
        rng: np.random.Generator,
    ) -> None:
        self.X, self.Y, self.batch_size, self.shuffle, self.rng = X, Y, batch_size, shuffle, rng
        self.sample_weights = np.ones(len(X)) if weights is None else weights
        self.weighted = weights is not None
        self.steps = -(-len(X) // batch_size)
        self.per_execution = self.steps if per_execution == "epoch" else per_execution

    def numbered(self) -> Iterator[tuple[int, tuple]]:
        """(index of the execution's first batch, (Execution, its targets, None, weight))."""
        n, size = len(self.X), self.batch_size
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for first in range(0, self.steps, self.per_execution):
            execution = self._execution(order[first * size : (first + self.per_execution) * size])
            weight = float(execution.weights.sum())
            yield first, (execution, self.Y[execution.order], None, weight)

    def _execution(self, rows: np.ndarray, epochs: int = 1) -> Execution:
        """The batches of ``rows``, which hold ``epochs`` whole epochs' rows (or a part of
        one): each epoch's batches start at its first row."""
        n, size = len(rows) // epochs, self.batch_size
        one = np.arange(0, n, size)
        starts = np.append((one + n * np.arange(epochs)[:, None]).reshape(-1), len(rows))
        if self.weighted:
            weights = np.add.reduceat(self.sample_weights[rows], starts[:-1])
        else:
            weights = np.diff(starts).astype(float)
        return Execution(rows, starts, weights)

    #: The most rows one call trains when it runs several epochs (about a second of W2).
    ROWS_AT_ONCE = 1 << 20

    def epochs_at_once(self, epochs: int) -> Execution:
        """One execution of ``epochs`` whole epochs, each with its own shuffle (drawn in turn,
        as epoch by epoch), for a fit in which nothing looks at an epoch's end."""
        n = len(self.X)
        if not self.shuffle:
            return self._execution(np.tile(np.arange(n), epochs), epochs)
        orders = [self.rng.permutation(n) for _ in range(epochs)]
        return self._execution(np.concatenate(orders), epochs)

    def epochs_per_call(self) -> int:
        """How many whole epochs one call may run (``ROWS_AT_ONCE`` rows at most)."""
        return max(1, self.ROWS_AT_ONCE // max(1, len(self.X)))


class CompiledSteps:
    """``steps_per_execution`` training steps per call of the compiled function, built once
    per ``fit``; called like ``TrainStep`` with an ``Execution`` for x."""

    def __init__(
        self,
        plan: Plan,
        parameters: ParameterStore,
        optimizer: Optimizer,
        data: Executions,
    ) -> None:
        if plan.mismatch is not None:
            raise ValueError(plan.mismatch)
        why = plan_refusal(plan, optimizer)
        if why is not None:
            raise ValueError(refusal_message(why))
        self.plan, self.parameters, self.optimizer, self.data = plan, parameters, optimizer, data
        loss = plan.loss  # the fused one (from logits) when the plan fused the last activation
        self.dtype = parameters.params.dtype
        where = {
            (slot.layer, slot.key): part
            for slot, part in zip(
                [slot for slot in parameters.slots if slot.trainable], parameters.slices
            )
        }
        steps, constants, self.dropouts = [], [], []
        for layer in plan.layers:
            if isinstance(layer, Dense):
                kernel = where[layer, "W"]
                rows, columns = layer.params["W"].shape
                bias = where[layer, "b"].start if layer.use_bias else None
                steps.append(codegen.DenseStep((kernel.start, rows, columns), bias))
            elif isinstance(layer, Activation):
                steps.append(codegen.ActivationStep(type(layer)))
                constants.append(layer.constant_values())
            else:
                steps.append(codegen.DropoutStep(len(self.dropouts)))
                self.dropouts.append(layer)
        optimizer.prepare_state(parameters.params)
        held = tuple(name in optimizer.state for name in optimizer.slots)
        n_numbers = len(optimizer.numbers(1.0, 1))
        self.layout = codegen.Layout(
            tuple(steps), data.X.shape[1], type(loss), type(optimizer), held, n_numbers
        )
        self.run = codegen.load(self.layout)
        self.gemm = blas.gemm(self.dtype)  # NumPy's own BLAS: one pool of threads
        self.constants = tuple(constants)
        self.loss_constants = loss.constant_values()
        outputs = plan.output_layer.output_shape[-1]
        self.share = 1.0 / outputs if _averages_entries(loss) else 1.0
        self.mean = loss.reduction == "mean"
        dtype = self.dtype.type
        self.keep = np.array([layer.rate for layer in self.dropouts], dtype=self.dtype)
        self.scales = np.array([dtype(1 / (1 - layer.rate)) for layer in self.dropouts])
        self.scales = self.scales.astype(self.dtype).reshape(-1)
        self.keep = self.keep.reshape(-1)
        self.bounds = Optimizer.clip_bounds(parameters.slices)
        self.outputs = outputs

    def __call__(
        self,
        execution: Execution,
        y: np.ndarray,
        weights: None = None,
        epoch: int | None = None,
        batch: int | None = None,
    ) -> tuple[float, np.ndarray]:
        """Train the execution's steps; returns the mean of their losses (each before its
        update, weighted as the epoch weighs batches) and their outputs."""
        losses, outputs = self.train(execution, epoch, batch)
        total = float(execution.weights.sum())
        return (float(losses.dot(execution.weights)) / total if total else 0.0), outputs

    def train(
        self, execution: Execution, epoch: int | None = None, batch: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Train the execution's steps; returns each step's loss and the outputs. On a
        non-finite step, the weights and the optimizer's state are put back as they were
        before the execution and NonFiniteError names the step (its ``batch``-th batch)."""
        optimizer, params = self.optimizer, self.parameters.params
        data, steps = self.data, len(execution.starts) - 1
        rates = optimizer.learning_rates(steps)
        t = optimizer.iterations + 1 + np.arange(steps)
        numbers = np.stack(
            np.broadcast_arrays(
                *[np.asarray(value, float) for value in optimizer.numbers(rates, t)]
            ),
            axis=1,
        )
        size = len(execution.order)
        draws = [
            layer.rng.random((size, *layer.output_shape[1:]), dtype=self.dtype)
            for layer in self.dropouts
        ]
        slots = [optimizer.state[name] for name in optimizer.slots if name in optimizer.state]
        # to put back on a non-finite step; the guard stops a step before its update, so
        # an execution of one step changes nothing it would need to restore
        saved = (params.copy(), [slot.copy() for slot in slots]) if steps > 1 else None
        losses = np.zeros(steps)
        outputs = np.empty((size, self.outputs), dtype=self.dtype)
        done = self.run(
            self.gemm, data.X, data.Y, data.sample_weights, execution.order, execution.starts,
            int(np.diff(execution.starts).max()), numbers,
            self.bounds, float(optimizer.clipnorm or 0.0), float(optimizer.clipvalue or 0.0),
            float(np.finfo(self.dtype).tiny), optimizer.iterations, self.constants,
            self.loss_constants, self.share, self.mean, self.keep, self.scales, params,
            self.parameters.grads, *slots, *draws, losses, outputs,
        )  # fmt: skip
        if done < steps:
            if saved is not None:
                params[...] = saved[0]
                for slot, value in zip(slots, saved[1]):
                    slot[...] = value
            failed = None if batch is None else batch + done
            raise NonFiniteError.during(float(losses[done]), epoch, failed)
        optimizer.iterations += steps
        return losses, outputs

    def generators(self) -> list[np.random.Generator]:
        """The generators an execution draws from: the shuffle's, then each Dropout's."""
        return [self.data.rng, *(layer.rng for layer in self.dropouts)]


def _averages_entries(loss: Loss) -> bool:
    return loss.reduction == "mean" and loss.averaged_over == "entries"
