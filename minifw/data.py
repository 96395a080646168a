"""Validation splits and sample weights for ``fit``.

A split is two views of the caller's arrays: nothing here copies a data set.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from .losses import Loss
from .validation import as_numeric_array, check_finite, positive_float


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
        weights *= _class_weights(Y, class_weight, loss.class_labels(Y))
    if (weights < 0).any() or weights.sum() == 0:
        raise ValueError("Sample weights must be non-negative and not all zero.")
    return weights


def _class_weights(Y: np.ndarray, class_weight: dict | str, labels) -> np.ndarray:
    """w_i = class_weight[label_i]; ``"balanced"``: n / (classes · count(label)), as
    scikit-learn computes it, so that every class weighs the same in total."""
    if not isinstance(class_weight, dict) and class_weight != "balanced":
        raise TypeError(
            f"`class_weight` must be a dict {{class: weight}} or 'balanced'. "
            f"Received: {class_weight!r}"
        )
    if Y.ndim > 2 or (labels is not None and labels.ndim != 1):
        raise ValueError(
            "`class_weight` weighs each sample by its class, but these targets are sequences "
            f"(shape {Y.shape}), a class for every step. Pass `sample_weight` (one weight per "
            "sequence) instead."
        )
    if labels is not None:
        pass  # the loss's own labels (Loss.class_labels)
    elif Y.ndim == 2 and Y.shape[1] > 1:
        labels = np.argmax(Y, axis=1)
    else:
        labels = Y.reshape(-1)
        if not np.array_equal(labels, np.round(labels)):
            raise ValueError("`class_weight` needs class labels: these targets are not integers.")
    if class_weight == "balanced":
        classes, counts = np.unique(labels, return_counts=True)
        class_weight = dict(zip(classes.tolist(), (len(labels) / (len(classes) * counts)).tolist()))
    present = set(np.unique(labels).tolist())
    unknown = [label for label in class_weight if label not in present]
    if unknown:
        shown = ", ".join(f"{v:g}" for v in sorted(present)[:10])
        raise ValueError(
            f"`class_weight` names classes that are not among the labels of y: {unknown!r}. "
            f"The labels are: {shown}."
        )
    weights = np.ones(len(labels))
    for label, weight in class_weight.items():
        weight = positive_float(weight, f"class_weight[{label!r}]", "fit", allow_zero=True)
        weights[labels == label] = weight
    return weights


def warn_if_split_lacks_classes(loss: Loss, Y_train: np.ndarray, Y_val: np.ndarray) -> None:
    """Warn when validation_split's rows hold classes the training rows lack (data sorted by
    class, as iris is): validation scores would measure classes never trained on."""
    train, val = loss.class_labels(Y_train), loss.class_labels(Y_val)
    if train is None:
        return
    missing = sorted(set(np.unique(val).tolist()) - set(np.unique(train).tolist()))
    if missing:
        shown = ", ".join(f"{v:g}" for v in missing[:10])
        warnings.warn(
            f"validation_split takes the last rows, and they hold classes ({shown}) that the "
            "training rows lack: the data is probably sorted by class. Shuffle it first "
            "(e.g. order = np.random.default_rng(0).permutation(len(X)); X, y = X[order], "
            "y[order]) or pass validation_data.",
            UserWarning,
            stacklevel=4,
        )
