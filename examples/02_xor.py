"""XOR: the smallest problem a linear model cannot solve, in compile / fit / predict.

What it shows: a 2-8-1 network with tanh hidden units and a sigmoid output,
binary cross-entropy (trained on the logits, see docs/conventions.md) and
Adam; accuracy reported by fit and evaluate.

Run: python examples/02_xor.py

Expected output (last lines):
    predictions: [0 1 1 0]
    accuracy: 1.0
"""

import numpy as np

import minifw as mf

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0], dtype=float)

model = mf.Sequential(
    [
        mf.layers.Dense(8, activation="tanh", input_dim=2),
        mf.layers.Dense(1, activation="sigmoid"),
    ],
    dtype="float64",
    seed=0,
)
model.compile(optimizer=mf.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
model.summary()

history = model.fit(X, y, epochs=300, batch_size=4, verbose=0)
losses = history.history["loss"]
print(f"loss after 1 epoch: {losses[0]:.3f}, after 300: {losses[-1]:.4f}")

probabilities = model.predict(X)[:, 0]
print("probabilities:", np.round(probabilities, 3))
print("predictions:", (probabilities > 0.5).astype(int))
loss, accuracy = model.evaluate(X, y)
print("accuracy:", accuracy)
