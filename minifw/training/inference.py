"""Inference over batches: ``evaluate``, ``predict`` and the validation after each epoch.

The forward pass is the model's plan (the same steps ``fit`` trains, in
inference mode), in chunks of rows; a fused activation is applied to what
``predict`` returns. Unless told otherwise, a chunk holds ``INFERENCE_ROWS``
rows, or fewer so that the model's widest activation (its input or any layer's
output) takes at most ``INFERENCE_BYTES``: a chunk's passing arrays then take
about 4–5 times that (37 MiB for a small CNN on 28×28 images, 96 rows a chunk,
against 389 MiB at 1024 rows, and faster: the arrays stay in cache).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from ..callbacks import CallbackList
from ..data import sample_weights
from ..losses import as_rows
from ..validation import positive_int
from .sources import ArrayBatches, StreamBatches, batch_rows, is_batch_source, unpack_batch

# Rows per forward pass in predict/evaluate when no batch_size is given: at most this many,
INFERENCE_ROWS = 1024
# and no more than keeps the widest activation of a chunk within this many bytes.
INFERENCE_BYTES = 8 * 2**20
# A sequence of any length is sized for this many steps.
INFERENCE_STEPS = 100


def stream_preparer(model):
    """Checks one item of a batch source: (x in the model dtype, y, weights or None, weight)."""

    def prepare(item: object, index: int):
        X_batch, y_batch, w_batch = unpack_batch(item, index)
        x, y = model.prepare(X_batch, y_batch)
        weights = sample_weights(model.loss, y, w_batch, None)
        weight = len(x) if weights is None else float(weights.sum())
        return x.astype(model.dtype, copy=False), y, weights, weight

    return prepare


def end_epoch(model, epoch: int, logs: dict, validation, callbacks: CallbackList) -> None:
    """Add the validation logs (``val_loss``, ...) and call the epoch-end hooks."""
    if validation is not None:
        X, Y = validation
        val_logs = evaluate_batches(model, ArrayBatches(X, Y, None, inference_rows(model)))
        logs.update({f"val_{key}": value for key, value in val_logs.items()})
    callbacks.on_epoch_end(epoch, logs)


def check_metrics(model, Y: np.ndarray) -> None:
    """Compute every metric once on the targets (against stand-in predictions of the model's
    output shape) before training, so that a metric that cannot take these targets is
    refused before any weight changes, not after the first epoch."""
    shape = [len(Y), *model.output_shape[1:]]
    if shape[1] is None:  # a sequence of any length: as long as the targets'
        shape[1] = Y.shape[1]
    stand_in = np.full(shape, 0.5, dtype=model.dtype)
    for name, metric in model.metrics:
        try:
            metric(*as_rows(Y, stand_in))
        except Exception as error:
            raise ValueError(
                f"The metric {name!r} cannot be computed on these targets (shape {Y.shape}) "
                f"and outputs (shape {stand_in.shape}): {error}"
            ) from None


def metric_logs(metrics, targets: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Each metric on the targets and predictions (sequences as rows: ``as_rows``)."""
    targets, predictions = as_rows(targets, predictions)
    return {name: float(metric(targets, predictions)) for name, metric in metrics}


def evaluate_batches(model, batches: Iterable) -> dict[str, float]:
    """Loss (row-weighted mean over batches, plus penalties) and metrics on all predictions."""
    plan, metrics = model.plan, model.metrics
    total, rows = 0.0, 0
    targets, predictions = [], []
    for x, y, _, _ in batches:
        outputs = plan.outputs(x.astype(model.dtype, copy=False), False)
        total += plan.loss.value(y, outputs) * len(outputs)
        rows += len(outputs)
        if metrics:
            targets.append(y)
            predictions.append(plan.predictions(outputs))
    if not rows:
        raise ValueError("evaluate: the batch source gave no batches.")
    logs = {"loss": total / rows + plan.penalty()}
    if metrics:
        logs.update(metric_logs(metrics, np.concatenate(targets), np.concatenate(predictions)))
    return logs


def evaluate(model, X: ArrayLike | Iterable, y: ArrayLike | None, batch_size: int | None) -> dict:
    """``Sequential.evaluate``'s logs, from arrays or from a source of (X_batch, y_batch)."""
    if y is None:
        batches = StreamBatches(X, stream_preparer(model))
    else:
        if model.distribute is None:
            X, Y = model.prepare(X, y)
        else:  # every rank evaluates the same arrays
            model.distribute.check_same_shapes(X=X, y=y)
            X, Y = model.distribute.collectively(
                lambda: model.prepare(X, y), lambda prepared: dict(zip(("X", "y"), prepared))
            )
        batches = ArrayBatches(X, Y, None, inference_rows(model, batch_size, "evaluate"))
    return evaluate_batches(model, batches)


def predict(model, X: ArrayLike | Iterable, batch_size: int | None) -> np.ndarray:
    """Outputs of shape (n, outputs), computed in chunks; X may be a source of batches."""
    if is_batch_source(X):
        parts = [
            predict(model, item[0] if isinstance(item, tuple) else item, batch_size) for item in X
        ]
        if not parts:
            raise ValueError("predict: the batch source gave no batches.")
        return np.concatenate(parts)
    X = model.prepare(X)
    plan = model.plan
    out = None
    for part in batch_rows(len(X), inference_rows(model, batch_size, "predict")):
        chunk = plan.predictions(plan.outputs(X[part].astype(model.dtype, copy=False), False))
        if out is None:  # the outputs' shape (a sequence's length is the input's)
            out = np.empty((len(X), *chunk.shape[1:]), dtype=model.dtype)
        out[part] = chunk
    return out


def inference_rows(model, batch_size: int | None = None, caller: str = "predict") -> int:
    """``batch_size`` checked, or by default the rows whose widest activation fits
    ``INFERENCE_BYTES`` (at most ``INFERENCE_ROWS``, at least 1)."""
    if batch_size is not None:
        return positive_int(batch_size, "batch_size", caller)
    shapes = [model.input_shape] + [layer.output_shape for layer in model.layers]
    # a sequence of any length (None) counted as INFERENCE_STEPS steps
    widest = max(math.prod(d or INFERENCE_STEPS for d in s[1:]) for s in shapes)
    widest *= model.dtype.itemsize
    return max(1, min(INFERENCE_ROWS, INFERENCE_BYTES // widest))
