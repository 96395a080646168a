"""Helpers shared by the tests (importable as ``support``)."""

from __future__ import annotations

import numpy as np

import minifw as mf


def lecture_model(learning_rate: float = 1e-5, dtype: str = "float64") -> mf.Sequential:
    """The lecture's 2-2-1 network through the public API: weights 1, biases 0, MSE, SGD."""
    model = mf.Sequential(
        [
            mf.layers.Dense(2, input_dim=2, kernel_initializer="ones", bias_initializer="zeros"),
            mf.layers.Linear(),
            mf.layers.Dense(1, kernel_initializer="ones"),
        ],
        dtype=dtype,
        seed=0,
    )
    model.compile(
        optimizer=mf.optimizers.SGD(learning_rate=learning_rate), loss=mf.losses.MSELoss()
    )
    return model


def small_regression(rng: np.random.Generator, n: int = 32, features: int = 3, outputs: int = 1):
    X = rng.normal(size=(n, features))
    y = np.tanh(X @ rng.normal(size=(features, outputs))) + 0.1 * rng.normal(size=(n, outputs))
    return X, y


def three_classes(rng: np.random.Generator, n: int = 30):
    """X (n, 4) and labels 0, 1, 2: the argmax of its first three columns."""
    X = rng.normal(size=(n, 4))
    labels = np.argmax(X[:, :3], axis=1)
    return X, labels


def unchanged(model: mf.Sequential, before: list) -> bool:
    """Whether the model's weights are still ``before``."""
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def model_for(rng: np.random.Generator, seed: int = 0, lr: float = 0.05) -> mf.Sequential:
    """A built 3 → 6 tanh → 1 float64 regression model trained by SGD (``rng`` unused: the
    weights come from ``seed``)."""
    model = mf.Sequential(
        [mf.layers.Dense(6, activation="tanh"), mf.layers.Dense(1)], dtype="float64", seed=seed
    )
    model.compile(mf.optimizers.SGD(lr), "mse")
    model.build((None, 3))
    return model
