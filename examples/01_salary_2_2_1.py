"""The lecture's 2-2-1 network, step by step, in the lecture's order.

What it shows: the forward pass on row 1 (o_11, o_12, ŷ), the loss, every
∂L/∂w from the chain rule, one gradient-descent update, then per-row SGD
over the whole table.

Run: python examples/01_salary_2_2_1.py

Expected output (first lines):
    o_11 = 63.5   o_12 = 63.5   ŷ = 127
    L = (y − ŷ)² = (40 − 127)² = 7569
    ∂L/∂ŷ = −2(y − ŷ) = 174
"""

import minifw as mf

# The table: x_i1 = IQ, x_i2 = GPA, y = Salary.
X, y = mf.datasets.salary()

# Step 0, initialization: every weight 1, every bias 0; linear hidden units.
model = mf.Sequential(
    [
        mf.layers.Dense(2, input_dim=2, kernel_initializer="ones", bias_initializer="zeros"),
        mf.layers.Linear(),
        mf.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros"),
    ],
    dtype="float64",
    seed=0,
)
model.compile(optimizer=mf.optimizers.SGD(learning_rate=1e-5), loss="mse")

# Steps 1 and 2: select row 1 and predict (forward propagation).
x1, y1 = X[:1], y[:1]
o = model.layers[1](model.layers[0](x1))  # the hidden layer's outputs o_11, o_12
y_hat = model.predict(x1)
print(f"o_11 = {o[0, 0]:g}   o_12 = {o[0, 1]:g}   ŷ = {y_hat[0, 0]:g}")

# Step 3: the loss, L = (y − ŷ)², and where backpropagation starts, ∂L/∂ŷ.
loss, (dW1, db1, dW2, db2) = model.gradients(x1, y1)
print(f"L = (y − ŷ)² = ({y1[0]:g} − {y_hat[0, 0]:g})² = {loss:g}")
print(f"∂L/∂ŷ = −2(y − ŷ) = {-2 * (y1[0] - y_hat[0, 0]):g}")

# The output layer: ∂L/∂w^2_i1 = ∂L/∂ŷ · o_1i and ∂L/∂b_21 = ∂L/∂ŷ.
print(f"∂L/∂w^2_11 = {dW2[0, 0]:g}   ∂L/∂w^2_21 = {dW2[1, 0]:g}   ∂L/∂b_21 = {db2[0]:g}")

# The hidden layer: ∂L/∂w^1_ij = ∂L/∂ŷ · w^2_j1 · (feature i of the row), ∂L/∂b_1j = ∂L/∂ŷ · w^2_j1.
for j in range(2):
    print(
        f"∂L/∂w^1_1{j + 1} = {dW1[0, j]:g}   ∂L/∂w^1_2{j + 1} = {dW1[1, j]:g}   "
        f"∂L/∂b_1{j + 1} = {db1[j]:g}"
    )

# The same derivation, every chain-rule factor written out:
step = mf.explain(model, X[0], y[0])
print(step.derivatives["∂L/∂w^1_11"])

# Step 4: update every weight, w_new = w_old − η ∂L/∂w.
model.train_on_batch(x1, y1)
W1, b1, W2, b2 = model.get_weights()
print(f"after one step: w^1_11 = {W1[0, 0]:g}   w^2_11 = {W2[0, 0]:g}   b_21 = {b2[0]:g}")

# The loop: for each epoch, for each row in order (batch_size=1, shuffle=False).
history = model.fit(X[1:], y[1:], epochs=1, batch_size=1, shuffle=False, verbose=0)
history = model.fit(X, y, epochs=999, batch_size=1, shuffle=False, verbose=0)
print(f"after 1000 epochs: mean loss {history.history['loss'][-1]:.4g}")
for row, target, predicted in zip(X, y, model.predict(X)[:, 0]):
    print(f"  IQ {row[0]:g}, GPA {row[1]:g}: ŷ = {predicted:.2f}   (y = {target:g})")
