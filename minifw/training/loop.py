"""The loop behind ``Sequential.fit``.

One epoch loop serves every source of batches (arrays or a stream): each batch
is one ``TrainStep``; an epoch's ``loss`` is the mean of its batch losses, each
taken before its update (as Keras reports it) and weighted by its rows (or its
sum of sample weights); metrics are computed on all of the epoch's predictions
at once; ``val_*`` entries on the validation data after the epoch
(``minifw.training.inference``).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ..callbacks import CallbackList, EpochLogger, History, ProgressBar
from ..data import sample_weights, validation_split_index, warn_if_split_lacks_classes
from ..engine import Plan, targets_out_of_reach
from ..errors import NonFiniteError
from ..jit.engine import CompiledSteps, Executions
from . import lbfgs
from .inference import check_metrics, end_epoch, metric_logs, stream_preparer
from .options import FitOptions
from .sources import ArrayBatches, StreamBatches
from .step import TrainStep
from .threads import for_training

if TYPE_CHECKING:
    from .protocol import TrainableModel


def fit(
    model: TrainableModel, X: ArrayLike | Iterable, y: ArrayLike | None, options: FitOptions
) -> History:
    """``Sequential.fit`` (see its docstring) with its checked ``options``: the data are
    checked, and everything is built, before the first step.

    In data-parallel training the checks run on every rank and are agreed on together
    (``DataParallel.collectively``): the same arrays on every rank (shapes, dtypes,
    checksums), or for batch sources the same first-batch shapes; any refusal or
    difference raises on every rank. An error that escapes one rank during training
    ends the job (``DataParallel.abort``), since the others could only wait for it.
    """
    distribute = model.distribute
    if distribute is None:
        setup = _prepare(model, X, y, options)
    else:
        if y is not None:
            validation = options.validation_data
            distribute.check_same_shapes(
                X=X,
                y=y,
                X_val=None if validation is None else validation[0],
                sample_weight=options.sample_weight,
            )
        setup = distribute.collectively(lambda: _prepare(model, X, y, options), _shared)
        if not setup.full_batch:
            distribute.start(model)  # rank 0's weights and generators to every rank
    callbacks = setup.callbacks
    model.history = setup.history  # as Keras: there from the start, kept when interrupted
    model.stop_training = False
    try:
        callbacks.on_train_begin()
        # Overflow shows up as a non-finite loss, reported by NonFiniteError, not warnings.
        # small steps on one BLAS thread (threads.py); Ctrl-C acted on between steps
        blas = nullcontext() if setup.full_batch else for_training(model.layers, options.batch_size)
        with (
            blas,
            interrupts_between_steps(model) as guard,
            np.errstate(over="ignore", invalid="ignore"),
        ):
            if setup.full_batch:
                lbfgs.fit_full_batch(
                    model, *setup.arrays, setup.epochs, setup.validation, callbacks
                )
            elif _unobserved(setup, options, model):
                run_epochs_at_once(model, setup, callbacks, guard)
            else:
                run_epochs(
                    model,
                    setup.batches,
                    setup.step,
                    setup.epochs,
                    setup.validation,
                    callbacks,
                    guard,
                    None if distribute is None else distribute.gather,
                    None if distribute is None else distribute.agree_to_stop,
                )
    except NonFiniteError as error:  # from the reduced gradient: every rank raises it
        if not options.stop_on_nonfinite:
            raise
        warnings.warn(f"{error} Training stopped.", RuntimeWarning, stacklevel=3)
    except BaseException as error:  # one rank's alone ends the job: the others cannot know
        if distribute is not None and not distribute.raised_on_every_rank(error):
            distribute.abort(error)
        raise
    finally:
        callbacks.on_train_end()
    if guard.interrupted:
        raise KeyboardInterrupt
    return setup.history


@dataclass
class _Setup:
    """What ``fit`` checked and built before its first step."""

    epochs: range
    arrays: tuple | None  # (X, Y, weights), when the data are arrays
    batches: object
    validation: tuple | None
    callbacks: CallbackList
    history: History
    step: TrainStep | CompiledSteps
    full_batch: bool
    first_batch: tuple | None  # a batch source's, once checked


def _shared(setup: _Setup) -> dict:
    """What every rank of a data-parallel fit must hold alike: the checked arrays (compared
    by shape, dtype and checksum); for a batch source, whose shards differ, the first
    batch's shapes past the rows and its dtypes."""
    if setup.arrays is not None:
        X, Y, weights = setup.arrays
        shared = {"X": X, "y": Y, "sample weights": weights}
        if setup.validation is not None:
            shared.update(X_val=setup.validation[0], y_val=setup.validation[1])
        return shared
    if setup.first_batch is None:
        return {}
    x, y = setup.first_batch[:2]
    return {
        "the first batch's x": (("n", *x.shape[1:]), x.dtype.str, None),
        "the first batch's y": (("n", *y.shape[1:]), y.dtype.str, None),
    }


def _prepare(model: TrainableModel, X, y, options: FitOptions) -> _Setup:
    """Everything ``fit`` checks and builds before the first step."""
    full_batch = getattr(model.optimizer, "full_batch", False)
    distribute = model.distribute
    if model.built:
        model.check_optimizer_fits()
    if y is None:
        if (
            options.sample_weight is not None
            or options.class_weight is not None
            or options.validation_split
        ):
            raise ValueError(
                "fit: with batches from an iterable, give weights inside the batches "
                "(X_batch, y_batch, w_batch); validation_split needs arrays."
            )
        if full_batch:
            raise ValueError("fit: L-BFGS trains on the whole data set: give arrays X and y.")
        batches = StreamBatches(X, stream_preparer(model), options.steps_per_epoch)
        if not model.built or distribute is not None:
            batches.prime()  # the model builds itself from the first batch
        arrays, first_batch = None, batches.first
        if first_batch is not None:
            targets_out_of_reach(model.plan.output_layer, model.loss, first_batch[1])
    else:
        first_batch = None
        X, Y = model.prepare(X, y, fitting=True)
        weights = sample_weights(model.loss, Y, options.sample_weight, options.class_weight)
        check_metrics(model, Y)
        targets_out_of_reach(model.plan.output_layer, model.loss, Y)
        arrays = (X, Y, weights)
    validation = None
    if options.validation_data is not None:
        try:
            validation = model.prepare(*options.validation_data)
            check_metrics(model, validation[1])
        except (ValueError, TypeError) as error:
            raise type(error)(f"fit: in `validation_data`: {error}") from None
    elif options.validation_split:
        X, Y, weights = arrays
        split_at = validation_split_index(len(X), options.validation_split)
        validation = (X[split_at:], Y[split_at:])
        warn_if_split_lacks_classes(model.loss, Y[:split_at], Y[split_at:])
        try:
            check_metrics(model, validation[1])
        except ValueError as error:
            raise ValueError(f"fit: on the rows `validation_split` holds out: {error}") from None
        arrays = (X[:split_at], Y[:split_at], None if weights is None else weights[:split_at])
    compiled = model.jit_compile and not full_batch
    if compiled and arrays is None:
        raise ValueError(
            "fit: jit_compile=True trains on arrays X and y; for a batch source compile the "
            "model with jit_compile=False (or 'auto')."
        )
    if compiled:
        batches = Executions(
            *arrays,
            options.batch_size,
            model.steps_per_execution,
            shuffle=options.shuffle,
            rng=model.shuffle_rng,
        )
    elif arrays is not None:
        batches = ArrayBatches(
            *arrays,
            len(arrays[0]) if full_batch else options.batch_size,
            shuffle=options.shuffle,
            rng=model.shuffle_rng,
            dtype=model.dtype,
        )
    verbose = options.verbose
    if distribute is not None and not full_batch:
        if arrays is not None and options.batch_size < distribute.size:
            raise ValueError(
                f"fit: batch_size={options.batch_size} is smaller than the {distribute.size} ranks "
                "that share each batch."
            )
        select = distribute.split if arrays is not None else distribute.while_all_have
        batches = _Split(select, batches)
        if not distribute.is_chief:
            verbose = 0
    if verbose == 1 and not sys.stdout.isatty():
        verbose = 2  # a bar redrawn into a file or a pipe is noise: one line per epoch
    progress = {1: [ProgressBar()], 2: [EpochLogger()]}.get(verbose, [])
    params = {
        "epochs": options.epochs,
        "steps": batches.steps,
        "verbose": verbose,
        "initial_epoch": options.initial_epoch,
    }
    history = History()
    return _Setup(
        epochs=range(options.initial_epoch, options.epochs),
        arrays=arrays,
        batches=batches,
        validation=validation,
        callbacks=CallbackList([*options.callbacks, history, *progress], model, params),
        history=history,
        # the step last among the checks: it refuses an output the loss cannot mean
        step=CompiledSteps(model.plan, model.parameters, model.optimizer, batches)
        if compiled
        else TrainStep(
            model.plan
            if distribute is None
            else Plan.compile(model.layers, model.loss, distribute.context),
            model.parameters,
            model.optimizer,
            distribute,
        ),
        full_batch=full_batch,
        first_batch=first_batch,
    )


class _Split:
    """Batches as ``select`` gives them, afresh each epoch (a rank's share of each batch)."""

    def __init__(self, select, batches) -> None:
        self.select, self.batches, self.steps = select, batches, batches.steps

    def __iter__(self):
        return self.select(self.batches)


def run_epochs(
    model,
    batches,
    step: TrainStep | CompiledSteps,
    epochs: range,
    validation,
    callbacks,
    guard,
    gather=None,
    agree=None,
):
    """The epoch loop: one ``step`` per batch, until ``epochs`` ends or training stops.

    ``gather`` collects every process's targets and predictions for the epoch's
    metrics, and ``agree`` makes a stop on any process a stop on all, after the same
    step (data-parallel training).
    """
    # The inner loop runs once per batch: everything fixed for the whole fit is set here.
    metrics, predictions_of = model.metrics, model.plan.predictions
    batch_hooks, step_hooks = callbacks.has_batch_hooks, callbacks.has_step_hooks
    trainable = [layer.trainable for layer in model.layers]
    for epoch in epochs:
        callbacks.on_epoch_begin(epoch)
        total_loss, total_weight, batch = 0.0, 0.0, -1
        if metrics:
            targets, predictions = [], []
        numbered = batches.numbered() if hasattr(batches, "numbered") else enumerate(batches)
        for batch, (x, y, weights, weight) in numbered:
            if batch_hooks:
                callbacks.on_train_batch_begin(batch)
            loss, outputs = step(x, y, weights, epoch, batch)
            if step_hooks:
                callbacks.on_train_step_end(batch, x, y, weights, loss)
            total_loss += loss * weight
            total_weight += weight
            if metrics:
                targets.append(y)
                predictions.append(predictions_of(outputs))
            if batch_hooks:
                running = total_loss / total_weight if total_weight else 0.0
                callbacks.on_train_batch_end(batch, {"loss": running})
                _refuse_refreezing(model, trainable)
            if model.stop_training if agree is None else _stop_together(model, guard, agree):
                break
        if guard.interrupted:
            return  # fit raises KeyboardInterrupt; this partial epoch is not logged
        if batch < 0:
            warnings.warn(
                "The batch source ran out of data; training stopped.", RuntimeWarning, stacklevel=4
            )
            return
        logs = {"loss": total_loss / total_weight if total_weight else 0.0}
        if metrics:
            targets, predictions = np.concatenate(targets), np.concatenate(predictions)
            if gather is not None:
                targets, predictions = gather(targets), gather(predictions)
            logs.update(metric_logs(metrics, targets, predictions))
        end_epoch(model, epoch, logs, validation, callbacks)
        _refuse_refreezing(model, trainable)
        if model.stop_training if agree is None else _stop_together(model, guard, agree):
            return


def _unobserved(setup: _Setup, options: FitOptions, model) -> bool:
    """Whether nothing looks at the model between two epochs (no callbacks of the user's,
    no progress, validation or metrics), so that the compiled engine may run several
    epochs in one call (``steps_per_execution="epoch"``)."""
    return (
        isinstance(setup.step, CompiledSteps)
        and model.steps_per_execution == "epoch"
        and not options.callbacks
        and len(setup.callbacks.callbacks) == 1  # the History alone: no progress output
        and setup.validation is None
        and not model.metrics
    )


def run_epochs_at_once(model, setup: _Setup, callbacks, guard) -> None:
    """Several epochs per compiled call (``Executions.epochs_per_call``), the History filled
    from each step's loss afterwards. A call that meets a non-finite step is undone (the
    weights, the optimizer's state and the generators put back) and its epochs are run one
    by one, which stops at that step as ``run_epochs`` does."""
    batches, step, epochs = setup.batches, setup.step, setup.epochs
    per_call, per_epoch = batches.epochs_per_call(), batches.steps
    for first in range(epochs.start, epochs.stop, per_call):
        group = range(first, min(first + per_call, epochs.stop))
        generators = step.generators()
        drawn_from = [generator.bit_generator.state for generator in generators]
        execution = batches.epochs_at_once(len(group))
        try:
            losses, _ = step.train(execution, first, 0)
        except NonFiniteError:
            for generator, state in zip(generators, drawn_from):
                generator.bit_generator.state = state
            rest = range(first, epochs.stop)
            run_epochs(model, batches, step, rest, None, callbacks, guard)
            return
        weighted = (losses * execution.weights).reshape(len(group), per_epoch).sum(axis=1)
        totals = execution.weights.reshape(len(group), per_epoch).sum(axis=1)
        for epoch, total, weight in zip(group, weighted, totals):
            callbacks.on_epoch_begin(epoch)
            callbacks.on_epoch_end(epoch, {"loss": float(total / weight) if weight else 0.0})
        if guard.interrupted:
            return


def _refuse_refreezing(model, trainable: list[bool]) -> None:
    """Raise when a callback changed a layer's ``trainable`` flag during fit: the training
    step holds the trainable parameters it started with, and would silently stop training."""
    layers = model.layers
    changed = [layer.name for layer, flag in zip(layers, trainable) if layer.trainable != flag]
    if changed:
        raise RuntimeError(
            f"fit: the `trainable` flag of {', '.join(changed)} changed during training (in a "
            "callback); it takes effect only in a new fit after compile. The weights are those "
            "after the last completed step: set the flags, compile again, then fit."
        )


def _stop_together(model, guard, agree) -> bool:
    """Whether any process asked to stop (or was interrupted); every process then does."""
    model.stop_training, guard.interrupted = agree(model.stop_training, guard.interrupted)
    return model.stop_training


class _Interrupts:
    """Whether Ctrl-C was pressed during ``fit`` (acted on between two steps)."""

    interrupted = False


@contextlib.contextmanager
def interrupts_between_steps(model):
    """While fit runs, Ctrl-C sets a flag that the loop acts on after the current step.

    So the weights are always those after a completed step, never half-updated.
    Only in the main thread, and only when Python's default SIGINT handler is in
    place (a handler of the user's own is left alone).
    """
    guard = _Interrupts()
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield guard
        return

    def request_stop(signum, frame) -> None:
        guard.interrupted = model.stop_training = True

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGINT, previous)
