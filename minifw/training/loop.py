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
import numbers
import signal
import sys
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ..callbacks import Callback, CallbackList, EpochLogger, History, ProgressBar, TerminateOnNaN
from ..data import sample_weights, validation_split_index, warn_if_split_lacks_classes
from ..engine import Plan, targets_out_of_reach
from ..errors import NonFiniteError
from ..validation import positive_int
from . import lbfgs
from .inference import check_metrics, end_epoch, metric_logs, stream_preparer
from .sources import ArrayBatches, StreamBatches
from .step import TrainStep

if TYPE_CHECKING:
    from ..model import Sequential


def fit(model: Sequential, X: ArrayLike | Iterable, y: ArrayLike | None, **options) -> History:
    """``Sequential.fit`` (see its docstring): every argument is checked before training.

    In data-parallel training the checks run on every rank and are agreed on together
    (``DataParallel.collectively``): the same arrays on every rank (shapes, dtypes,
    checksums), or for batch sources the same first-batch shapes; any refusal or
    difference raises on every rank. An error that escapes one rank during training
    ends the job (``DataParallel.abort``), since the others could only wait for it.
    """
    distribute = model.distribute
    if distribute is None:
        setup = _prepare(model, X, y, **options)
    else:
        if y is not None:
            validation = options["validation_data"]
            distribute.check_same_shapes(
                X=X,
                y=y,
                X_val=validation[0] if isinstance(validation, (tuple, list)) else None,
                sample_weight=options["sample_weight"],
            )
        setup = distribute.collectively(lambda: _prepare(model, X, y, **options), _shared)
        if not setup.full_batch:
            distribute.start(model)  # rank 0's weights and generators to every rank
    callbacks = setup.callbacks
    model.history = setup.history
    model.stop_training = False
    try:
        callbacks.on_train_begin()
        # Overflow shows up as a non-finite loss, reported by NonFiniteError, not warnings.
        with interrupts_between_steps(model) as guard, np.errstate(over="ignore", invalid="ignore"):
            if setup.full_batch:
                lbfgs.fit_full_batch(
                    model, *setup.arrays, setup.epochs, setup.validation, callbacks
                )
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
        if not setup.stop_on_nonfinite:
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
    step: TrainStep
    full_batch: bool
    stop_on_nonfinite: bool
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


def _prepare(
    model: Sequential,
    X: ArrayLike | Iterable,
    y: ArrayLike | None,
    *,
    epochs: int,
    batch_size: int | None,
    shuffle: bool,
    validation_data: tuple | None,
    validation_split: float,
    callbacks: Sequence[Callback] | None,
    verbose: int | str,
    initial_epoch: int,
    sample_weight: ArrayLike | None,
    class_weight: dict | None,
    on_nonfinite: str,
    steps_per_epoch: int | None,
) -> tuple:
    """Everything ``fit`` checks and builds before the first step."""
    epochs = positive_int(epochs, "epochs", "fit", allow_zero=True)
    batch_size = positive_int(32 if batch_size is None else batch_size, "batch_size", "fit")
    initial_epoch = positive_int(initial_epoch, "initial_epoch", "fit", allow_zero=True)
    verbose = verbosity(verbose, "fit")
    if not isinstance(shuffle, bool):
        raise TypeError(f"fit: `shuffle` must be True or False. Received: {shuffle!r}")
    if on_nonfinite not in ("raise", "stop"):
        raise ValueError(
            f"fit: `on_nonfinite` must be 'raise' or 'stop'. Received: {on_nonfinite!r}"
        )
    if steps_per_epoch is not None:
        steps_per_epoch = positive_int(steps_per_epoch, "steps_per_epoch", "fit")
    full_batch = getattr(model.optimizer, "full_batch", False)
    distribute = model.distribute
    if model.built:
        model.check_optimizer_fits()
    if y is None:
        if sample_weight is not None or class_weight is not None or validation_split:
            raise ValueError(
                "fit: with batches from an iterable, give weights inside the batches "
                "(X_batch, y_batch, w_batch); validation_split needs arrays."
            )
        if full_batch:
            raise ValueError("fit: L-BFGS trains on the whole data set: give arrays X and y.")
        batches = StreamBatches(X, stream_preparer(model), steps_per_epoch)
        if not model.built or distribute is not None:
            batches.prime()  # the model builds itself from the first batch
        arrays, first_batch = None, batches.first
        if first_batch is not None:
            targets_out_of_reach(model.plan.output_layer, model.loss, first_batch[1])
    else:
        first_batch = None
        X, Y = model.prepare(X, y, fitting=True)
        weights = sample_weights(model.loss, Y, sample_weight, class_weight)
        check_metrics(model, Y)
        targets_out_of_reach(model.plan.output_layer, model.loss, Y)
        arrays = (X, Y, weights)
    validation = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("fit: `validation_data` must be a tuple (X_val, y_val).")
        try:
            validation = model.prepare(*validation_data)
            check_metrics(model, validation[1])
        except (ValueError, TypeError) as error:
            raise type(error)(f"fit: in `validation_data`: {error}") from None
    elif validation_split:
        X, Y, weights = arrays
        split_at = validation_split_index(len(X), validation_split)
        validation = (X[split_at:], Y[split_at:])
        warn_if_split_lacks_classes(model.loss, Y[:split_at], Y[split_at:])
        try:
            check_metrics(model, validation[1])
        except ValueError as error:
            raise ValueError(f"fit: on the rows `validation_split` holds out: {error}") from None
        arrays = (X[:split_at], Y[:split_at], None if weights is None else weights[:split_at])
    if arrays is not None:
        batches = ArrayBatches(
            *arrays,
            len(arrays[0]) if full_batch else batch_size,
            shuffle=shuffle,
            rng=model.shuffle_rng,
            dtype=model.dtype,
        )
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (Sequence, type(None))):
        raise TypeError(
            f"fit: `callbacks` must be a list of Callback instances, e.g. "
            f"[EarlyStopping()]. Received: {callbacks!r}"
        )
    callbacks = list(callbacks or [])
    stop_on_nonfinite = on_nonfinite == "stop" or any(
        isinstance(callback, TerminateOnNaN) for callback in callbacks
    )
    if distribute is not None and not full_batch:
        if arrays is not None and batch_size < distribute.size:
            raise ValueError(
                f"fit: batch_size={batch_size} is smaller than the {distribute.size} ranks "
                "that share each batch."
            )
        select = distribute.split if arrays is not None else distribute.while_all_have
        batches = _Split(select, batches)
        if not distribute.is_chief:
            verbose = 0
    if verbose == 1 and not sys.stdout.isatty():
        verbose = 2  # a bar redrawn into a file or a pipe is noise: one line per epoch
    progress = {1: [ProgressBar()], 2: [EpochLogger()]}.get(verbose, [])
    params = {"epochs": epochs, "steps": batches.steps, "verbose": verbose}
    history = History()
    return _Setup(
        epochs=range(initial_epoch, epochs),
        arrays=arrays,
        batches=batches,
        validation=validation,
        callbacks=CallbackList([*callbacks, history, *progress], model, params),
        history=history,
        # the step last among the checks: it refuses an output the loss cannot mean
        step=TrainStep(
            model.plan
            if distribute is None
            else Plan.compile(model.layers, model.loss, distribute.context),
            model.parameters,
            model.optimizer,
            distribute,
        ),
        full_batch=full_batch,
        stop_on_nonfinite=stop_on_nonfinite,
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
    step: TrainStep,
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
    batch_hooks = callbacks.has_batch_hooks
    trainable = [layer.trainable for layer in model.layers]
    for epoch in epochs:
        callbacks.on_epoch_begin(epoch)
        total_loss, total_weight, batch = 0.0, 0.0, -1
        if metrics:
            targets, predictions = [], []
        for batch, (x, y, weights, weight) in enumerate(batches):
            if batch_hooks:
                callbacks.on_train_batch_begin(batch)
            loss, outputs = step(x, y, weights, epoch, batch)
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


def verbosity(verbose: int | str, caller: str) -> int:
    """0 silent, 1 progress bar, 2 one line per epoch; ``"auto"``: 1 on a terminal, else 2."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if isinstance(verbose, numbers.Integral) and verbose in (0, 1, 2):  # True and False too
        return int(verbose)
    raise ValueError(
        f"{caller}: `verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}"
    )


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
