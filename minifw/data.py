"""Minibatches and validation splits, as row selections of the caller's arrays.

Nothing here copies a whole data set: a split is two views, and each batch is
gathered by index when it is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .losses import Loss, SparseCategoricalCrossEntropy
from .validation import as_numeric_array, check_finite, positive_float, refuse_sparse


def batch_rows(n: int, batch_size: int, order: np.ndarray | None = None) -> Iterator:
    """The rows of each minibatch: ``slice``s in data order, or chunks of ``order``.

    The last batch holds the remaining n mod batch_size rows; it is used, not dropped.
    """
    for start in range(0, n, batch_size):
        stop = start + batch_size
        yield slice(start, stop) if order is None else order[start:stop]


def batch_source(source: object) -> Iterable:
    """Check that ``source`` can give batches: an iterable (list, generator, loader)."""
    refuse_sparse(source, "X")
    if isinstance(source, np.ndarray) or not isinstance(source, Iterable):
        raise TypeError(
            "Without y, X must be an iterable of (X_batch, y_batch) batches, such as a "
            f"generator. Received {type(source).__name__}; for arrays give y as well."
        )
    return source


def unpack_batch(item: object, index: int) -> tuple:
    """(X_batch, y_batch, w_batch or None) from one item of a batch source."""
    if not isinstance(item, tuple) or len(item) not in (2, 3):
        raise ValueError(
            f"Batch {index} of the source is not a tuple (X_batch, y_batch) or "
            f"(X_batch, y_batch, w_batch). Received {type(item).__name__}."
        )
    return item if len(item) == 3 else (*item, None)


def n_batches(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def validation_split_index(n: int, fraction: float) -> int:
    """Rows [0, index) train and [index, n) validate: the last ``fraction`` of the rows,
    taken before any shuffling, as Keras does."""
    fraction = positive_float(fraction, "validation_split", "fit")
    if fraction >= 1:
        raise ValueError(f"fit: `validation_split` must be between 0 and 1. Received: {fraction!r}")
    split_at = int(n * (1.0 - fraction))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"fit: validation_split={fraction} of {n} samples leaves {split_at} for training "
            f"and {n - split_at} for validation; both need at least one."
        )
    return split_at


def sample_weights(
    loss: Loss, Y: np.ndarray, sample_weight: ArrayLike | None, class_weight: dict | None
) -> np.ndarray | None:
    """One weight per row from ``sample_weight`` times ``class_weight[label]``, or None.

    Labels are the integer targets of sparse categorical cross-entropy, the
    argmax of one-hot targets, or the 0/1 value of a single binary column;
    classes missing from ``class_weight`` weigh 1.
    """
    if sample_weight is None and class_weight is None:
        return None
    weights = np.ones(len(Y))
    if sample_weight is not None:
        given = as_numeric_array(sample_weight, "sample_weight").astype(np.float64)
        if given.ndim == 2 and given.shape[1] == 1:
            given = given[:, 0]
        if given.shape != (len(Y),):
            raise ValueError(
                f"`sample_weight` must have one weight per sample, shape ({len(Y)},). "
                f"Received shape {given.shape}."
            )
        check_finite(given, "sample_weight")
        weights *= given
    if class_weight is not None:
        weights *= _class_weights(Y, class_weight, isinstance(loss, SparseCategoricalCrossEntropy))
    if (weights < 0).any() or weights.sum() == 0:
        raise ValueError("Sample weights must be non-negative and not all zero.")
    return weights


def _class_weights(Y: np.ndarray, class_weight: dict, sparse: bool) -> np.ndarray:
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"`class_weight` must be a dict {{class: weight}}. Received: {class_weight!r}"
        )
    if sparse:
        labels = Y
    elif Y.ndim == 2 and Y.shape[1] > 1:
        labels = np.argmax(Y, axis=1)
    else:
        labels = Y.reshape(-1)
        if not np.array_equal(labels, np.round(labels)):
            raise ValueError("`class_weight` needs class labels: these targets are not integers.")
    weights = np.ones(len(labels))
    for label, weight in class_weight.items():
        weight = positive_float(weight, f"class_weight[{label!r}]", "fit", allow_zero=True)
        weights[labels == label] = weight
    return weights
