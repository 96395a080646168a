"""What the training package uses from a model, and only that (a test checks that no
other attribute is read or written): the model's four seams, its compile choices, and
the few flags a fit sets.

``Sequential`` is one such model; the training package never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..engine import Plan
from ..layers.base import Layer
from ..losses import Loss
from ..optimizers import Optimizer
from ..parameters import ParameterStore


class TrainableModel(Protocol):
    """A model that ``fit``, ``evaluate`` and ``predict`` can run."""

    # -- the seams ---------------------------------------------------------------------------
    #: The flat parameter, gradient and state vectors.
    parameters: ParameterStore
    #: The compiled forward and backward steps, and the loss.
    plan: Plan

    def prepare(self, X, y=None, *, fitting: bool = False):
        """Checked inputs (and targets shaped like the outputs); builds the model."""

    def check_optimizer_fits(self) -> None:
        """Refuse an optimizer whose state no longer fits the trainable parameters."""

    # -- what was chosen at construction and compile -----------------------------------------
    layers: Sequence[Layer]
    dtype: np.dtype
    built: bool
    output_shape: tuple
    input_shape: tuple
    optimizer: Optimizer
    loss: Loss
    #: (name, function) pairs, in compile's order.
    metrics: list
    #: The generator that orders each epoch's rows (part of the training state).
    shuffle_rng: np.random.Generator
    #: A ``minifw.distributed.DataParallel``, or None.
    distribute: object
    #: Whether fit trains through the compiled engine (``minifw.jit``), as compile resolved
    #: ``jit_compile``; and how many steps each compiled call runs (an int or "epoch").
    jit_compile: bool
    steps_per_execution: int | str

    # -- what a fit sets ---------------------------------------------------------------------
    #: The ``History`` of the last fit, set when it starts (as Keras does).
    history: object
    #: Set by a callback (or Ctrl-C) to end training after the current step.
    stop_training: bool
