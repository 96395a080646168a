"""The plan of a compiled model: its layers laid out once as steps, run many times.

A ``Plan`` lists the model's layers as forward and backward steps (a Dense
layer with an activation is two steps), ends them in the loss, and adds the
weight penalties:

    forward    O⁰ = X,  Oˢ = stepˢ(Oˢ⁻¹),  Ŷ = Oᔆ
    loss       L = loss(Y, Ŷ) + Σ penalty(w)
    backward   G = ∂L/∂Ŷ,  then G ← stepˢ.backward(G) for s = S … 1, each step
               writing its ∂L/∂w into the model's flat gradient vector,
               then ∂L/∂w += ∂penalty/∂w

Three choices are made here, once, and nowhere else:

- fusion (``FUSIONS``): when the last step is a Sigmoid or Softmax and the loss
  is the matching cross-entropy on probabilities, the plan drops that step and
  uses the loss's from-logits form (gradient ŷ − y with respect to the
  logits): the same loss away from the clip, and no vanishing gradient when
  the output saturates. ``fused`` is that activation;
- identity steps (``Linear``) are left out: they change nothing;
- no step computes a gradient nothing reads: steps before the first layer
  with parameters get no backward pass, and that layer fills its parameter
  gradients without ∂L/∂input (``Step.parameter_backward``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .layers.activations import Activation, Linear, Sigmoid, Softmax
from .layers.base import LOCAL, BatchContext, Layer, connect_masks
from .losses import BinaryCrossEntropy, CategoricalCrossEntropy, Loss, SparseCategoricalCrossEntropy
from .regularizers import Regularizer

#: (last activation, loss on probabilities) pairs trained on the logits instead.
FUSIONS = {
    (Sigmoid, BinaryCrossEntropy),
    (Softmax, CategoricalCrossEntropy),
    (Softmax, SparseCategoricalCrossEntropy),
}


# What a loss on probabilities expects, by the last layer's ``output_kind``.
_KIND_TEXT = {
    "probabilities": "probabilities in (0, 1)",
    "distribution": "a softmax distribution",
    "raw": "raw scores (logits), not probabilities",
}

# The activation that outputs what a loss on probabilities expects.
_ACTIVATION_FOR = {"probabilities": "sigmoid", "distribution": "softmax"}

#: Below this share of targets outside the output's range a fit warns; above it, refuses.
OUT_OF_RANGE_REFUSED = 0.01


def output_loss_mismatch(last: Layer, loss: Loss) -> str | None:
    """Why the loss cannot mean the model's output, or None: a loss on probabilities after
    raw scores (or after the wrong kind of probabilities), one output for a categorical
    loss. Warns for a logits loss after a probability output.

    Both sides are facts of the classes: what the last layer outputs
    (``Layer.output_kind``; a layer that declares none, such as Dropout, is not judged)
    and what the loss expects (``Loss.expects``, ``Loss.per_class``).
    """
    name = type(loss).__name__
    kind, expected = last.output_kind, loss.expects
    outputs = last.output_shape[-1] if last.output_shape else None
    if loss.per_class and outputs == 1:
        return (
            f"{name} needs one output per class, but the model has 1 output. For two classes "
            "use Dense(1, activation='sigmoid') with BinaryCrossEntropy, or Dense(2) with "
            f"{name}."
        )
    if expected is None or kind is None or kind == expected:
        return None
    outputs_text, expected_text = _KIND_TEXT.get(kind, kind), _KIND_TEXT.get(expected, expected)
    if expected == "raw":
        warnings.warn(
            f"{name}(from_logits=True) expects raw scores (logits), but the model ends with "
            f"{type(last).__name__}, which outputs {outputs_text}: the loss applies the "
            f"activation a second time. Use {name}() without from_logits, or end the "
            "model without the activation.",
            UserWarning,
            stacklevel=5,
        )
        return None
    probabilities = kind != "raw"
    what = (
        f"{type(last).__name__}, which outputs {outputs_text}"
        if probabilities
        else f"{last.name or type(last).__name__} ({type(last).__name__}), which outputs "
        f"{outputs_text}"
    )
    declare = (
        ""
        if probabilities
        or not isinstance(last, Activation)
        or type(last).__module__.startswith("minifw.")
        else f" (If {type(last).__name__} outputs probabilities, declare it on the class: "
        f"output_kind = {expected!r}.)"
    )
    logits = hasattr(loss, "from_logits")  # a loss that also takes logits
    or_logits = f", or use {name}(from_logits=True) for logits" if logits else ""
    return (
        f"{name}{'(from_logits=False)' if logits else ''} expects {expected_text}, "
        f"but the model ends with {what}. End the model with "
        f"activation='{_ACTIVATION_FOR.get(expected, expected)}'"
        + ("." if probabilities else f"{or_logits}.")
        + declare
    )


def targets_out_of_reach(last: Layer, loss: Loss, Y: np.ndarray) -> None:
    """Refuse (or, for a few, warn about) regression targets the output cannot reach: outside
    the last layer's ``output_range`` (a sigmoid output on salaries, a ReLU output on
    negative targets), for losses that compare outputs with targets (``Loss.regression``).

    More than ``OUT_OF_RANGE_REFUSED`` of the targets outside: ValueError; fewer: a
    warning (a few outliers do not keep the model from fitting the rest).
    """
    low, high = last.output_range
    if not loss.regression or (low == -np.inf and high == np.inf) or Y.size == 0:
        return
    # a target a rounding error past a bound (1 + 1e-12 after a min-max scaling) is on it
    finite = [abs(bound) for bound in (low, high) if np.isfinite(bound)]
    slack = 1e-6 * max(1.0, *finite)
    outside = int(np.count_nonzero((Y < low - slack) | (Y > high + slack)))
    if not outside:
        return
    message = (
        f"{outside} of {Y.size} targets lie outside [{low:g}, {high:g}], the range of the "
        f"model's output layer {last.name or type(last).__name__} ({type(last).__name__}): "
        f"it cannot reach them (targets span [{float(Y.min()):g}, {float(Y.max()):g}]). "
        "End the model without an activation (Dense(1)) for unbounded targets, or scale "
        "the targets into the output's range."
    )
    if outside > OUT_OF_RANGE_REFUSED * Y.size:
        raise ValueError(message)
    warnings.warn(message, UserWarning, stacklevel=4)


@dataclass
class Plan:
    forwards: list[Callable[[np.ndarray, bool], np.ndarray]]
    backwards: list[Callable[[np.ndarray], np.ndarray | None]]
    loss: Loss
    fused: Activation | None
    penalties: list[tuple[Regularizer, np.ndarray, np.ndarray]]
    #: The layer whose outputs are Ŷ (before any fusion): its class says what they mean.
    output_layer: Layer | None = None
    #: Why the loss cannot mean the output (``output_loss_mismatch``): training refuses,
    #: predicting does not.
    mismatch: str | None = None
    #: The layer of each forward step, in order (what the compiled engine compiles).
    layers: tuple[Layer, ...] = ()

    @classmethod
    def compile(cls, layers: Sequence[Layer], loss: Loss, context: BatchContext = LOCAL) -> Plan:
        """The steps of ``layers`` ending in ``loss``; whole-batch layers see ``context``
        (the batch as spread over processes, in data-parallel training)."""
        connect_masks(layers)  # which layer's mask each recurrent layer reads
        steps = [step for layer in layers for step in layer.steps(context)]
        kept = [step for step in steps if not isinstance(step.layer, Linear)]
        steps = kept or steps[-1:]  # a model of identities still has one step
        output_layer = steps[-1].layer
        mismatch = None if loss is None else output_loss_mismatch(output_layer, loss)
        fused = None
        if len(steps) > 1 and (type(steps[-1].layer), type(loss)) in FUSIONS:
            if not loss.from_logits:
                fused, steps, loss = steps[-1].layer, steps[:-1], loss.with_logits()
        trainable = [
            i for i, step in enumerate(steps) if step.layer.params and step.layer.trainable
        ]
        backwards = []
        if trainable:
            first = steps[trainable[0]]
            backwards = [step.backward for step in steps[trainable[0] + 1 :]][::-1]
            backwards.append(first.parameter_backward or first.backward)
        penalties = [
            (regularizer, layer.params[key], layer.grads[key])
            for layer in layers
            for key, regularizer in layer.regularizers().items()
        ]
        return cls(
            forwards=[step.forward for step in steps],
            backwards=backwards,
            loss=loss,
            fused=fused,
            penalties=penalties,
            output_layer=output_layer,
            mismatch=mismatch,
            layers=tuple(step.layer for step in steps),
        )

    def outputs(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Ŷ, or the logits when the last activation is fused into the loss."""
        for forward in self.forwards:
            x = forward(x, training)
        return x

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        """What ``predict`` returns, from ``outputs``: the fused activation applied, if any."""
        return outputs if self.fused is None else self.fused.activate(outputs)

    def penalty(self) -> float:
        return sum(regularizer.penalty(param) for regularizer, param, _ in self.penalties)

    def zero_pass(self, x: np.ndarray) -> np.ndarray:
        """Forward and backward on a batch of no rows with a zero gradient: the parameter
        gradients come out 0, and layers that reduce over processes take part."""
        for forward in self.forwards:
            x = forward(x, True)
        grad = np.zeros_like(x)
        for backward in self.backwards:
            grad = backward(grad)
        return x

    def loss_and_gradients(
        self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, share: float = 1.0
    ) -> tuple[float, np.ndarray]:
        """One forward and backward pass; gradients land in the layers' ``grads``.

        Returns the loss (with penalties) and the outputs. ``weights`` (one per
        sample) make the loss Σ w_i ℓ_i / Σ w_i. ``share``: this process's part of
        its batch's weight, when processes share a batch: the loss, its gradient and
        the penalties are scaled by it, so that the processes' results add up to the
        whole batch's (and layers that mix rows, BatchNormalization, see one scale).
        """
        for forward in self.forwards:
            x = forward(x, True)
        if weights is None:
            loss, grad = self.loss.value_and_grad(y, x)
        else:
            loss, grad = self.loss.weighted_value_and_grad(y, x, weights)
        if share != 1.0:
            loss, grad = loss * share, grad * share
        for backward in self.backwards:
            grad = backward(grad)
        for regularizer, param, param_grad in self.penalties:
            loss += regularizer.penalty(param) * share
            param_grad += regularizer.gradient(param) * share
        return loss, x
