"""Three classes, a held-out test set, and the metrics that tell the classes apart.

What it shows: data split once into training and test rows (shuffled first, so
that both hold every class), a softmax output with sparse categorical
cross-entropy on integer labels, accuracy and macro F1 during training,
EarlyStopping on the validation loss, and a final check on rows the model
never saw: `loss, accuracy, f1 = model.evaluate(...)`, as in Keras.

Run: python examples/05_multiclass_classification.py

Expected output (last line):
    test rows classified right: True
"""

import numpy as np

import minifw as mf

rng = np.random.default_rng(0)
centres = np.array([[0.0, 0.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0], [0.0, 3.0, 3.0, 3.0]])
labels = np.repeat([0, 1, 2], 200)  # sorted by class, like many real files
X = centres[labels] + rng.normal(size=(600, 4))

order = rng.permutation(len(X))  # shuffle before any split
X, labels = X[order], labels[order]
X_train, y_train = X[:480], labels[:480]
X_test, y_test = X[480:], labels[480:]

normalize = mf.layers.Normalization()
normalize.adapt(X_train)  # statistics of the training rows only
model = mf.Sequential(
    [
        normalize,
        mf.layers.Dense(16, activation="relu"),
        mf.layers.Dense(3, activation="softmax"),  # trained on the logits (fused with the loss)
    ],
    seed=0,
)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", "f1"])
stop = mf.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
history = model.fit(
    X_train, y_train, epochs=100, batch_size=32, validation_split=0.2, callbacks=[stop], verbose=0
)
print(f"epochs: {len(history.epoch)}, best validation loss {stop.best:.3f}")

loss, accuracy, f1 = model.evaluate(X_test, y_test)
print(f"test loss {loss:.3f}, accuracy {accuracy:.3f}, macro F1 {f1:.3f}")

probabilities = model.predict(X_test[:3])  # each row sums to 1
print(
    "first test rows:",
    probabilities.astype(float).round(3).tolist(),
    "labels:",
    y_test[:3].tolist(),
)
print("test rows classified right:", accuracy > 0.9)
