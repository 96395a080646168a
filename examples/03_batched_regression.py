"""Minibatches, validation, History, EarlyStopping and saving, on a tabular regression.

What it shows: a Normalization layer adapted to the data (the fix for features on
different scales, like the lecture's IQ and GPA), ReLU layers, Adam, a validation
split, EarlyStopping that restores the best weights, and a model saved and
loaded back.

Run: python examples/03_batched_regression.py

Expected output (last line):
    loaded model predicts the same: True
"""

import os
import tempfile

import numpy as np

import minifw as mf

rng = np.random.default_rng(0)
X = rng.normal(size=(2000, 5)) * [1, 10, 100, 0.1, 5]  # features on very different scales
y = np.sin(X[:, 0]) + 0.01 * X[:, 1] - 0.002 * X[:, 2] + 0.1 * rng.normal(size=2000)

normalize = mf.layers.Normalization()
normalize.adapt(X)
model = mf.Sequential(
    [
        normalize,
        mf.layers.Dense(32, activation="relu"),
        mf.layers.Dense(32, activation="relu"),
        mf.layers.Dense(1),
    ],
    seed=0,
)
model.compile(optimizer="adam", loss="mse", metrics=["mae", "r2"])

stop = mf.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
history = model.fit(
    X, y, epochs=200, batch_size=64, validation_split=0.2, callbacks=[stop], verbose=0
)
epochs_run = len(history.history["loss"])
print(f"stopped after {epochs_run} epochs; best epoch {stop.best_epoch + 1}")
print(f"validation loss: first {history.history['val_loss'][0]:.3f}, best {stop.best:.3f}")
print("evaluate:", {k: round(v, 3) for k, v in model.evaluate(X, y, return_dict=True).items()})

path = os.path.join(tempfile.mkdtemp(), "regression.minifw")
model.save(path)
loaded = mf.load_model(path)
print("loaded model predicts the same:", np.array_equal(loaded.predict(X), model.predict(X)))
