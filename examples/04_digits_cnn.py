"""A small convolutional network on scikit-learn's bundled 8×8 digits.

What it shows: images as (n, height, width, channels) arrays, Conv2D and
MaxPooling2D layers, a softmax output trained with sparse categorical
cross-entropy, and accuracy on held-out images. The digits come with
scikit-learn (pip install scikit-learn); without it the example says so.

Run: python examples/04_digits_cnn.py

Expected output (last line):
    held-out accuracy above 97%: True
"""

import numpy as np

import minifw as mf

try:
    from sklearn.datasets import load_digits
except ImportError:
    raise SystemExit("This example needs scikit-learn: pip install scikit-learn") from None

digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]  # (1797, 8, 8, 1), in [0, 1]
labels = digits.target
order = np.random.default_rng(0).permutation(len(X))
X, labels = X[order], labels[order]
X_train, y_train, X_test, y_test = X[:1400], labels[:1400], X[1400:], labels[1400:]

model = mf.Sequential(
    [
        mf.layers.Conv2D(16, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        mf.layers.MaxPooling2D(),  # 8×8 → 4×4
        mf.layers.Conv2D(32, 3, padding="same", activation="relu"),
        mf.layers.MaxPooling2D(),  # 4×4 → 2×2
        mf.layers.Flatten(),
        mf.layers.Dense(10, activation="softmax"),
    ],
    seed=0,
)
model.compile(mf.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()
history = model.fit(X_train, y_train, epochs=15, batch_size=32, verbose=0)
print(f"training accuracy after {len(history.epoch)} epochs: {history.history['accuracy'][-1]:.3f}")
loss, accuracy = model.evaluate(X_test, y_test)
print(f"held-out loss {loss:.3f}, accuracy {accuracy:.3f} on {len(X_test)} images")
print("held-out accuracy above 97%:", accuracy > 0.97)
