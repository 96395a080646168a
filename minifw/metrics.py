"""Metrics: plain functions ``metric(y_true, y_pred) -> float`` on (n, k) arrays.

They are reported, not optimized. ``compile(metrics=["mae"])`` looks them up
by name; in ``fit`` each epoch's value is the batch-size-weighted mean of the
per-batch values, in ``evaluate`` the value over all rows at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .registry import resolve

__all__ = ["mse", "mae", "get"]

Metric = Callable[[np.ndarray, np.ndarray], float]


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error: (1/(n·k)) Σ (y − ŷ)²."""
    return float(np.mean(np.square(y_pred - y_true)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error: (1/(n·k)) Σ |y − ŷ|."""
    return float(np.mean(np.abs(y_pred - y_true)))


_NAMES: dict[str, Metric] = {
    "mse": mse,
    "mean_squared_error": mse,
    "mae": mae,
    "mean_absolute_error": mae,
}


def get(identifier: str | Metric) -> Metric:
    """A metric function from its name, or a callable given by the user."""
    if callable(identifier):
        return identifier
    factories = {name: (lambda metric=metric: metric) for name, metric in _NAMES.items()}
    return resolve("metric", identifier, factories, None)
