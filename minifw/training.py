"""The loops behind ``Sequential.fit`` and ``evaluate``.

Minibatch training: each epoch draws one permutation of the rows (or keeps
their order), gathers each batch by index from the caller's arrays, and takes
one optimizer step per batch. Full-batch training (L-BFGS) hands the whole
loss and gradient to ``scipy.optimize.minimize``, one epoch per iteration.

Logs: an epoch's ``loss`` is the batch-size-weighted mean of its batch losses,
each taken before its update (as Keras reports it); metrics are computed on
the epoch's predictions all at once; ``val_*`` entries on the validation data
after the epoch.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import threading
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize

from .callbacks import CallbackList
from .data import batch_rows, sample_weights, unpack_batch
from .errors import NonFiniteError

if TYPE_CHECKING:
    from .model import Sequential

# Rows per forward pass in predict/evaluate when no batch_size is given.
INFERENCE_ROWS = 1024


def fit_minibatches(
    model: Sequential,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    epochs: range,
    batch_size: int,
    shuffle: bool,
    weights: np.ndarray | None,
    validation: tuple[np.ndarray, np.ndarray] | None,
    callbacks: CallbackList,
) -> None:
    """Minibatch epochs until ``epochs`` ends or ``model.stop_training`` is set."""
    # The inner loop runs once per batch: everything fixed for the whole fit is set here.
    n, outputs = len(X), model.output_shape[1]
    batch_hooks = callbacks.has_batch_hooks
    cast = X.dtype != model.dtype
    train_step = model._train_step
    in_order = None if shuffle else list(batch_rows(n, batch_size))
    for epoch in epochs:
        callbacks.on_epoch_begin(epoch)
        order = model._shuffle_rng.permutation(n) if shuffle else None
        predictions = np.empty((n, outputs), model.dtype) if model.metrics else None
        total_loss, total_weight, seen = 0.0, 0.0, 0
        for batch, rows in enumerate(in_order or batch_rows(n, batch_size, order)):
            if batch_hooks:
                callbacks.on_train_batch_begin(batch)
            x = X[rows].astype(model.dtype) if cast else X[rows]
            if weights is None:
                loss, out = train_step(x, Y[rows], epoch, batch)
                count = len(x)
                weight = count
            else:
                batch_weights = weights[rows]
                loss, out = train_step(x, Y[rows], epoch, batch, batch_weights)
                count, weight = len(x), float(batch_weights.sum())
            total_loss += loss * weight
            total_weight += weight
            if predictions is not None:
                predictions[seen : seen + count] = model._plan.predictions(out)
            seen += count
            if batch_hooks:
                running = total_loss / total_weight if total_weight else 0.0
                callbacks.on_train_batch_end(batch, {"loss": running})
            if model.stop_training:
                break
        if model._interrupted:
            return  # fit raises KeyboardInterrupt; this partial epoch is not logged
        logs = {"loss": total_loss / total_weight if total_weight else 0.0}
        if predictions is not None:
            targets = Y[:seen] if order is None else Y[order[:seen]]
            logs.update(_metrics(model, targets, predictions[:seen]))
        _end_epoch(model, epoch, logs, validation, callbacks)
        if model.stop_training:
            return


def fit_batch_source(
    model: Sequential,
    source: Iterable,
    steps_per_epoch: int | None,
    *,
    epochs: range,
    validation: tuple[np.ndarray, np.ndarray] | None,
    callbacks: CallbackList,
) -> None:
    """Epochs over batches from an iterable, each batch checked as it arrives."""
    iterator = iter(source) if steps_per_epoch else None
    for epoch in epochs:
        callbacks.on_epoch_begin(epoch)
        batches = itertools.islice(iterator, steps_per_epoch) if iterator else iter(source)
        total_loss, total_weight, batch = 0.0, 0.0, -1
        for batch, item in enumerate(batches):
            X_batch, y_batch, w_batch = unpack_batch(item, batch)
            x, y = model._data(X_batch, y_batch)
            w = sample_weights(model.loss, y, w_batch, None)
            callbacks.on_train_batch_begin(batch)
            loss, _ = model._train_step(model._batch(x, slice(None)), y, epoch, batch, w)
            weight = len(x) if w is None else float(w.sum())
            total_loss += loss * weight
            total_weight += weight
            callbacks.on_train_batch_end(batch, {"loss": total_loss / total_weight})
            if model.stop_training:
                break
        if model._interrupted:
            return
        if batch < 0:
            warnings.warn(
                "The batch source ran out of data; training stopped.", RuntimeWarning, stacklevel=3
            )
            return
        _end_epoch(model, epoch, {"loss": total_loss / total_weight}, validation, callbacks)
        if model.stop_training:
            return


def fit_full_batch(
    model: Sequential,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    epochs: range,
    weights: np.ndarray | None,
    validation: tuple[np.ndarray, np.ndarray] | None,
    callbacks: CallbackList,
) -> None:
    """L-BFGS on the whole training set: one epoch per iteration, until convergence."""
    optimizer, params = model.optimizer, model._params
    x = model._batch(X, slice(None))
    epoch_iter = iter(epochs)

    def loss_and_gradient(vector: np.ndarray) -> tuple[float, np.ndarray]:
        params[...] = vector
        loss, _ = model._plan.loss_and_gradients(x, Y, weights)
        optimizer.evaluations += 1
        if not math.isfinite(loss):
            return math.inf, np.zeros_like(vector)  # tells the line search to step back
        return loss, model._grads.astype(np.float64)

    def after_iteration(intermediate_result) -> None:
        epoch = next(epoch_iter)
        params[...] = intermediate_result.x
        optimizer.iterations += 1
        callbacks.on_epoch_begin(epoch)
        _end_epoch(
            model,
            epoch,
            _full_batch_logs(model, x, Y, intermediate_result.fun),
            validation,
            callbacks,
        )
        if model.stop_training or epoch == epochs[-1]:
            raise StopIteration

    if len(epochs) == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        result = minimize(
            loss_and_gradient,
            params.astype(np.float64),
            jac=True,
            method="L-BFGS-B",
            callback=after_iteration,
            options=optimizer.options(len(epochs)),
        )
    params[...] = result.x
    if not np.isfinite(params).all():
        raise NonFiniteError("L-BFGS produced non-finite weights; standardize the inputs.")


@contextlib.contextmanager
def interrupts_between_steps(model: Sequential):
    """While fit runs, Ctrl-C sets a flag that the loop acts on after the current step.

    So the weights are always those after a completed step, never half-updated.
    Only in the main thread, and only when Python's default SIGINT handler is in
    place (a handler of the user's own is left alone).
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def request_stop(signum, frame) -> None:
        model._interrupted = model.stop_training = True

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _full_batch_logs(model, x, Y, loss) -> dict:
    logs = {"loss": float(loss)}
    if model.metrics:
        outputs = model._plan.outputs(x, False)
        logs.update(_metrics(model, Y, model._plan.predictions(outputs)))
    return logs


def _end_epoch(model, epoch, logs, validation, callbacks) -> None:
    if validation is not None:
        val_logs = evaluate_arrays(model, *validation, INFERENCE_ROWS)
        logs.update({f"val_{key}": value for key, value in val_logs.items()})
    callbacks.on_epoch_end(epoch, logs)


def _metrics(model, targets: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    return {name: float(metric(targets, predictions)) for name, metric in model.metrics}


def evaluate_batch_source(model: Sequential, source: Iterable) -> dict:
    """Loss and metrics of each batch of a source, averaged weighted by rows (one batch
    in memory at a time)."""
    totals: dict[str, float] = {}
    rows = 0
    for index, item in enumerate(source):
        X, Y = model._data(*unpack_batch(item, index)[:2])
        for key, value in evaluate_arrays(model, X, Y, INFERENCE_ROWS).items():
            totals[key] = totals.get(key, 0.0) + value * len(X)
        rows += len(X)
    if not rows:
        raise ValueError("evaluate: the batch source gave no batches.")
    return {key: total / rows for key, total in totals.items()}


def evaluate_arrays(model: Sequential, X: np.ndarray, Y: np.ndarray, rows: int) -> dict:
    """Loss (row-weighted mean over chunks, plus penalties) and metrics on all predictions."""
    plan = model._plan
    predictions = np.empty((len(X), model.output_shape[1]), dtype=model.dtype)
    total = 0.0
    for part in batch_rows(len(X), rows):
        outputs = plan.outputs(model._batch(X, part), False)
        total += plan.loss._forward(Y[part], outputs) * len(outputs)
        predictions[part] = plan.predictions(outputs)
    logs = {"loss": total / len(X) + plan.penalty()}
    logs.update(_metrics(model, Y, predictions))
    return logs
