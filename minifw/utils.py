"""Small helpers Keras users reach for: ``to_categorical``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .validation import as_numeric_array, check_finite, positive_int

__all__ = ["to_categorical"]


def to_categorical(y: ArrayLike, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """One-hot rows from integer class labels, as Keras's ``to_categorical``.

    ``y`` has shape (n,) or (n, 1) and holds integers in [0, num_classes);
    ``num_classes`` defaults to max(y) + 1. Returns shape (n, num_classes).

    Examples
    --------
    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    labels = as_numeric_array(y, "y")
    check_finite(labels, "y")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"to_categorical expects labels of shape (n,) or (n, 1); got {labels.shape}."
        )
    if labels.size and (not np.array_equal(labels, np.round(labels)) or labels.min() < 0):
        raise ValueError("to_categorical expects non-negative integer class labels.")
    if labels.size and labels.max() >= 2**31:
        raise ValueError(
            f"to_categorical: label {labels.max():g} would need a one-hot row of that many "
            "columns; class labels are 0, 1, ..., classes − 1."
        )
    labels = labels.astype(np.intp)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    num_classes = positive_int(num_classes, "num_classes", "to_categorical")
    if labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"to_categorical: label {labels.max()} does not fit num_classes={num_classes}."
        )
    one_hot = np.zeros((len(labels), num_classes), dtype=dtype)  # the result's memory only
    one_hot[np.arange(len(labels)), labels] = 1
    return one_hot
