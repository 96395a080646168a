"""Metrics: plain functions ``metric(y_true, y_pred) -> float``, reported, not optimized.

``y_pred`` has shape (n, k). ``y_true`` has the same shape, or holds integer
class labels of shape (n,) when the loss is sparse categorical
cross-entropy. ``compile(metrics=["mae", "accuracy"])`` looks them up by
name; in ``fit`` an epoch's metric is computed on all of that epoch's
predictions at once, in ``evaluate`` on all rows.

``"accuracy"`` picks its kind as Keras does: binary (ŷ > 0.5) for one output
or binary cross-entropy, sparse (argmax ŷ = label) for integer labels,
categorical (argmax ŷ = argmax y) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

from . import losses
from .registry import Catalogue

__all__ = [
    "register",
    "mse",
    "mae",
    "rmse",
    "r2",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_accuracy",
    "precision",
    "recall",
    "f1",
    "auc",
    "get",
]

Metric = Callable[[np.ndarray, np.ndarray], float]

#: Every metric a model file may name, added by ``@register`` where it is defined. A metric
#: of one's own is a function ``metric(y_true, y_pred) -> float``, registered the same way.
METRICS = Catalogue("metric", decorator="mf.metrics.register")
register = METRICS.register


@register("mse", "mean_squared_error")
def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error: (1/(n·k)) Σ (y − ŷ)²."""
    return float(np.mean(np.square(y_pred - y_true)))


@register("mae", "mean_absolute_error")
def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error: (1/(n·k)) Σ |y − ŷ|."""
    return float(np.mean(np.abs(y_pred - y_true)))


@register("rmse", "root_mean_squared_error")
def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error: √mse."""
    return float(np.sqrt(mse(y_true, y_pred)))


@register("r2", "r2_score")
def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination 1 − Σ(y − ŷ)² / Σ(y − ȳ)², per output, averaged.

    An output with constant targets scores 1 if predicted exactly, else 0
    (scikit-learn's convention).
    """
    residual = np.sum(np.square(y_true - y_pred), axis=0)
    total = np.sum(np.square(y_true - np.mean(y_true, axis=0)), axis=0)
    safe = np.where(total > 0, total, 1.0)
    scores = np.where(total > 0, 1 - residual / safe, np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(scores))


@register("binary_accuracy", "accuracy", "acc")
def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of entries where (ŷ > 0.5) equals the label y, which must be 0 or 1.

    Labels are compared as given, as Keras does (they are not thresholded):
    other values have no binary meaning and are refused, since thresholding them
    would count labels 1 and 2 as one class.
    """
    if not np.isin(y_true, (0, 1)).all():
        found = np.unique(y_true)
        shown = ", ".join(f"{v:g}" for v in found[:6]) + (", ..." if found.size > 6 else "")
        raise ValueError(
            f"binary accuracy needs labels 0 and 1; the targets hold {shown}. For several "
            "classes use one output per class with SparseCategoricalCrossEntropy (its "
            "'accuracy' compares argmax ŷ with the label); for regression targets use a "
            "regression metric such as 'mae'."
        )
    return float(np.mean((y_pred > 0.5) == y_true))


@register("categorical_accuracy")
def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows where argmax ŷ equals argmax y (one-hot or probability targets)."""
    return float(np.mean(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)))


@register("sparse_categorical_accuracy")
def sparse_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows where argmax ŷ equals the integer label y."""
    return float(np.mean(np.argmax(y_pred, axis=-1) == np.reshape(y_true, -1)))


@register("top_k_accuracy")
def top_k_accuracy(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5) -> float:
    """Fraction of rows whose true class (label, or argmax of one-hot y) is among the
    k largest ŷ. Ties count in the row's favour."""
    labels = (
        np.reshape(y_true, -1)
        if y_true.ndim == 1 or y_true.shape[1] == 1
        else (np.argmax(y_true, axis=-1))
    )
    labels = labels.astype(np.intp)
    true_scores = y_pred[np.arange(len(y_pred)), labels]
    better = np.sum(y_pred > true_scores[:, None], axis=-1)
    return float(np.mean(better < k))


def _labels(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(true class, predicted class, number of classes) of each row: one output means two
    classes, 1 where ŷ > 0.5 (labels must be 0 or 1); several mean argmax ŷ against the
    integer label or the argmax of the one-hot row."""
    if y_pred.shape[-1] == 1:
        binary_accuracy(y_true, y_pred)  # refuses labels other than 0 and 1
        return np.reshape(y_true, -1).astype(np.intp), (y_pred[:, 0] > 0.5).astype(np.intp), 2
    true = (
        np.reshape(y_true, -1)
        if y_true.ndim == 1 or y_true.shape[1] == 1
        else (np.argmax(y_true, axis=-1))
    )
    return true.astype(np.intp), np.argmax(y_pred, axis=-1), y_pred.shape[-1]


def _per_class(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """True positives, predicted positives and actual positives per class; and whether the
    task is binary (scores then refer to class 1 alone)."""
    true, predicted, classes = _labels(y_true, y_pred)
    hits = np.bincount(true[true == predicted], minlength=classes)
    return (
        hits,
        np.bincount(predicted, minlength=classes),
        np.bincount(true, minlength=classes),
        (classes == 2 and y_pred.shape[-1] == 1),
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def _summarize(scores: np.ndarray, binary: bool, present: np.ndarray) -> float:
    """Class 1's score for a binary task, else the mean over the classes that occur."""
    return float(scores[1] if binary else scores[present].mean())


@register("precision")
def precision(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """TP / (TP + FP): of class 1 for one output, else averaged over classes (macro).
    A class never predicted scores 0 (scikit-learn's zero_division=0)."""
    hits, predicted, actual, binary = _per_class(y_true, y_pred)
    return _summarize(_ratio(hits, predicted), binary, (actual + predicted) > 0)


@register("recall")
def recall(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """TP / (TP + FN): of class 1 for one output, else averaged over classes (macro)."""
    hits, predicted, actual, binary = _per_class(y_true, y_pred)
    return _summarize(_ratio(hits, actual), binary, (actual + predicted) > 0)


@register("f1", "f1_score")
def f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """2 · precision · recall / (precision + recall) = 2 TP / (2 TP + FP + FN), of class 1
    for one output, else averaged over classes (macro)."""
    hits, predicted, actual, binary = _per_class(y_true, y_pred)
    return _summarize(_ratio(2 * hits, predicted + actual), binary, (actual + predicted) > 0)


@register("auc")
def auc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive row scores above a random
    negative one (ties count ½), from ranks. One output: class 1 against 0; several:
    each class against the rest, averaged over the classes that have both (macro)."""
    true, _, classes = _labels(y_true, y_pred)
    columns = [(1, y_pred[:, 0])] if y_pred.shape[-1] == 1 else list(enumerate(y_pred.T))
    areas = []
    for label, scores in columns:
        positive = true == label
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos and n_neg:
            ranks = rankdata(scores)
            areas.append((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    if not areas:
        raise ValueError("auc needs rows of both a class and another among the targets.")
    return float(np.mean(areas))




def _accuracy_for(loss: losses.Loss | None, outputs: int | None) -> Metric:
    """The accuracy the loss declares (``Loss.accuracy``), else by the number of outputs."""
    name = getattr(loss, "accuracy", None)
    if name is not None:
        return METRICS.get(name)
    return binary_accuracy if outputs == 1 else categorical_accuracy


def get(
    identifier: str | Metric, *, loss: losses.Loss | None = None, outputs: int | None = None
) -> Metric:
    """A metric function from its name, or a callable given by the user.

    ``loss`` and ``outputs`` (the model's) decide what ``"accuracy"`` means.
    """
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return _accuracy_for(loss, outputs)
    return METRICS.get(identifier)


def name_of(identifier: str | Metric, metric: Metric) -> str:
    """The key a metric is reported under: its name as given, or the function's name."""
    return identifier if isinstance(identifier, str) else getattr(metric, "__name__", "metric")
