"""minifw: a vectorized NumPy neural-network framework with a Keras-like Sequential API.

>>> import minifw as mf
>>> X, y = mf.datasets.salary()
>>> model = mf.Sequential([
...     mf.layers.Dense(2, input_dim=2, kernel_initializer="ones"),
...     mf.layers.Linear(),
...     mf.layers.Dense(1, kernel_initializer="ones"),
... ], dtype="float64")
>>> model.compile(optimizer=mf.optimizers.SGD(learning_rate=1e-5), loss="mse")
>>> float(model.predict(X[:1])[0, 0])   # ŷ = o_11 + o_12 = 63.5 + 63.5
127.0
"""

from __future__ import annotations

from . import (
    callbacks,
    datasets,
    errors,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    regularizers,
    schedules,
    teaching,
    testing,  # noqa: E402  (uses the model, saving and teaching)
    utils,
)
from .model import Sequential
from .saving import load_model
from .teaching import explain, gradcheck
from .training import fit_many
from .version import __version__

__all__ = [
    "__version__",
    "Sequential",
    "callbacks",
    "datasets",
    "errors",
    "explain",
    "fit_many",
    "gradcheck",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "optimizers",
    "regularizers",
    "schedules",
    "teaching",
    "testing",
    "utils",
]
