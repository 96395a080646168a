"""explain on networks other than 2-2-1: its chain rule must equal the model's backward pass."""

from __future__ import annotations

import numpy as np
import pytest
from support import small_regression

import minifw as mf


def model_with(*layers, outputs_loss="mse") -> mf.Sequential:
    model = mf.Sequential(list(layers), dtype="float64", seed=3)
    model.compile(mf.optimizers.SGD(learning_rate=0.5), outputs_loss)
    return model


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize(
    "make_layers",
    [
        lambda: [mf.layers.Dense(3, input_dim=2, activation="tanh"), mf.layers.Dense(1)],
        lambda: [
            mf.layers.Dense(3, input_dim=2),
            mf.layers.ReLU(),
            mf.layers.Dense(2),
            mf.layers.Sigmoid(),
            mf.layers.Dense(2, use_bias=False),
        ],
        lambda: [mf.layers.Dense(2, input_dim=2), mf.layers.Dense(1), mf.layers.Dense(1)],
    ],
    ids=["2-3-1 tanh", "2-3-2-2 relu sigmoid", "2-2-1-1 linear"],
)
def test_explained_gradients_and_update_equal_the_models(make_layers, rows, rng):
    model = model_with(*make_layers())
    outputs = model.output_shape[1]
    X, y = small_regression(rng, n=rows, features=2, outputs=outputs)
    step = mf.explain(model, X, y)
    loss, grads = model.gradients(X, y)
    assert step.loss == pytest.approx(loss, rel=1e-12)
    for explained, computed in zip(step.grads, grads):
        np.testing.assert_allclose(explained, computed, rtol=1e-10, atol=1e-14)
    for new, old, grad in zip(step.new_weights, model.get_weights(), grads):
        np.testing.assert_allclose(new, old - 0.5 * grad, rtol=1e-10, atol=1e-14)


def test_a_non_identity_unit_shows_its_net_and_activation_factors(rng):
    model = model_with(mf.layers.Dense(2, input_dim=2, activation="tanh"), mf.layers.Dense(1))
    step = mf.explain(model, [0.5, -0.25], [1.0])
    symbols = [f.symbol for f in step.derivatives["∂L/∂w^1_21"].factors]
    assert symbols == ["∂L/∂y_hat", "∂y_hat/∂o_11", "∂o_11/∂net^1_1", "∂net^1_1/∂w^1_21"]
    net = step.values["net^1_1"][0]
    assert step.derivatives["∂L/∂w^1_21"].factors[2].value[0] == pytest.approx(
        1 - np.tanh(net) ** 2
    )
    assert "o_11 = tanh(net^1_1)" in str(step)


def test_a_hidden_unit_feeding_several_units_gets_a_sum_line(rng):
    model = model_with(mf.layers.Dense(2, input_dim=2), mf.layers.Dense(2), mf.layers.Dense(1))
    step = mf.explain(model, [1.0, 2.0], [0.5])
    total = step.derivatives["∂L/∂o_11"]
    assert len(total.terms) == 2
    assert str(total).startswith(
        "∂L/∂o_11 = ∂L/∂y_hat · ∂y_hat/∂o_21 · ∂o_21/∂o_11 + ∂L/∂y_hat · ∂y_hat/∂o_22"
    )
    assert [f.symbol for f in step.derivatives["∂L/∂w^1_11"].factors] == [
        "∂L/∂o_11",
        "∂o_11/∂w^1_11",
    ]


def test_a_batch_sums_the_chain_over_rows():
    model = model_with(mf.layers.Dense(1, input_dim=1, kernel_initializer="ones"))
    step = mf.explain(model, [[1.0], [2.0]], [0.0, 0.0])
    # ŷ = x; L = mean(ŷ²); ∂L/∂ŷ = ŷ per row (2ŷ/2); ∂L/∂w = Σ ŷ·x = 1 + 4
    assert step.derivatives["∂L/∂w^1_11"].value == 5.0
    assert "∂L/∂w^1_11 = Σ_rows ∂L/∂y_hat · ∂y_hat/∂w^1_11 = Σ [1, 2] · [1, 2] = 5" in str(step)


def test_explain_refuses_other_layers_and_uncompiled_models():
    class Custom(mf.layers.Layer):
        def forward(self, x, training=False):
            return x

    model = mf.Sequential([mf.layers.Dense(1, input_dim=2), Custom()])
    with pytest.raises(mf.errors.NotCompiledError):
        mf.explain(model, [1.0, 2.0], [1.0])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="custom_1 \\(Custom\\) is not supported"):
        mf.explain(model, [1.0, 2.0], [1.0])


def test_explain_uses_the_given_learning_rate():
    model = model_with(mf.layers.Dense(1, input_dim=1, kernel_initializer="ones"))
    step = mf.explain(model, [2.0], [0.0], learning_rate=0.25)
    # ∂L/∂w = −2(y − ŷ)·x = 2·2·2 = 8 ; w = 1 − 0.25·8
    assert step.updated["w^1_11"] == -1.0 and step.learning_rate == 0.25


def test_explain_refuses_softmax_whose_units_are_not_independent():
    model = model_with(mf.layers.Dense(3, input_dim=2, activation="softmax"))
    with pytest.raises(ValueError, match=r"dense_1 \(Dense\) is not supported"):
        mf.explain(model, [1.0, 2.0], [0.2, 0.3, 0.5])


def test_explain_shows_the_update_the_models_optimizer_makes():
    model = mf.Sequential(
        [mf.layers.Dense(1, input_dim=1, kernel_initializer="ones")], dtype="float64"
    )
    model.compile(mf.optimizers.Adam(learning_rate=0.1), "mse")
    step = mf.explain(model, [2.0], [0.0])
    # Adam's first step moves every parameter by η (m̂/√v̂ = ±1): 1 → 0.9, not 1 − 0.1·8
    assert step.updated["w^1_11"] == pytest.approx(0.9, rel=1e-6)
    assert step.updated["b_11"] == pytest.approx(-0.1, rel=1e-6)
    text = str(step)
    assert "Update (Adam, η = 0.1)" in text
    assert "w^1_11: m ← β₁·m + (1 − β₁)·g = 0.9·0 + 0.1·8 = 0.8" in text  # with its state
    assert "w^1_11 ← w^1_11 − η·m̂ / (√v̂ + ε) = 1 − 0.1·8 / (√64 + 1e-08) = 0.9" in text
    assert model.get_weights()[0][0, 0] == 1.0  # unchanged unless apply=True


@pytest.mark.parametrize(
    ("layers", "loss", "y"),
    [
        (
            lambda: [mf.layers.Dense(3, input_dim=2, activation="softmax")],
            "sparse_categorical_crossentropy",
            [2],
        ),
        (
            lambda: [
                mf.layers.Dense(2, input_dim=2, activation="tanh"),
                mf.layers.Dense(3),
                mf.layers.Softmax(),
            ],
            "categorical_crossentropy",
            [[0.0, 1.0, 0.0]],
        ),
    ],
    ids=["dense-softmax", "separate-softmax"],
)
def test_explain_writes_softmax_cross_entropy_as_y_hat_minus_y(layers, loss, y):
    model = model_with(*layers(), outputs_loss=loss)
    x = [1.0, -2.0]
    step = mf.explain(model, x, y)
    loss_value, grads = model.gradients([x], y if np.ndim(y) == 2 else np.array(y))
    assert step.loss == pytest.approx(loss_value, rel=1e-12)
    for explained, computed in zip(step.grads, grads, strict=True):
        np.testing.assert_allclose(explained, computed, rtol=1e-10, atol=1e-14)
    p = model.predict([x])[0]
    onehot = np.eye(3)[2] if loss.startswith("sparse") else np.array(y[0])
    for j in range(3):  # the classic result: ∂L/∂z_j = y_hat_j − y_j
        assert step.derivatives[f"∂L/∂z_{j + 1}"].value == pytest.approx(p[j] - onehot[j])
    text = str(step)
    assert "∂L/∂z_j = (y_hat_j − y_j) / n" in text and "y_hat_j = softmax(z)_j" in text
    assert "L = −(1/n) Σ_rows" in text


def test_negative_numbers_are_written_in_parentheses_inside_sums_and_products():
    model = model_with(mf.layers.Dense(1, input_dim=2, kernel_initializer="ones"))
    model.set_weights([np.array([[1.0], [-0.5]]), np.array([-2.0])])
    text = str(mf.explain(model, [60.0, 3.5], [40.0]))
    assert "y_hat = w^1_11·x_i1 + w^1_21·x_i2 + b_11 = 1·60 + (−0.5)·3.5 + (−2) = 56.25" in text
    assert "L = (y − y_hat)² = (40 − 56.25)² = 264.062" in text


class Quartic(mf.losses.Loss):
    """L = (1/(n·k)) Σ (y − ŷ)⁴: a loss of one's own, with its formula on the class."""

    formula = "L = (1/(n·k)) Σ (y − y_hat)⁴"
    latex = r"L = \frac{1}{nk} \sum (y - \hat{y})^4"

    def entries(self, y_true, y_pred):
        return (y_true - y_pred) ** 4

    def gradient(self, y_true, y_pred):
        return -4 * (y_true - y_pred) ** 3 / y_pred.size


def test_every_write_up_takes_the_losss_formula_from_its_class():
    model = model_with(mf.layers.Dense(1, input_dim=2), outputs_loss=Quartic())
    step = mf.explain(model, [[0.5, -1.0], [1.0, 2.0]], [[1.0], [0.0]])
    assert "L = (1/(n·k)) Σ (y − y_hat)⁴ = " in str(step)
    assert r"L = \frac{1}{nk} \sum (y - \hat{y})^4" in step.to_markdown()
    assert "L = (1/(n·k)) Σ (y − ŷ)⁴ = " in step.to_html()
    huber = model_with(mf.layers.Dense(1, input_dim=2), outputs_loss=mf.losses.HuberLoss())
    assert "h(e) = ½e² for |e| ≤ δ" in str(mf.explain(huber, [0.5, 1.0], [3.0]))
    for cls in mf.losses.LOSSES.classes.values():
        if cls.__module__ == "minifw.losses":
            assert cls.formula and cls.latex, cls


def test_explain_draws_dropouts_mask_as_fit_does_and_writes_it_out():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=4)
    model = mf.Sequential(
        [mf.layers.Dense(8, input_dim=2, activation="tanh"), mf.layers.Dropout(0.5),
         mf.layers.Dense(1)],
        dtype="float64", seed=3,
    )  # fmt: skip
    model.compile(mf.optimizers.SGD(0.1), "mse")
    step = mf.explain(model, X[:2], y[:2])
    (layer, rate, mask), = step.masks
    assert layer == 1 and rate == 0.5 and set(np.unique(mask)) == {0.0, 2.0}
    # the step fit takes (on a copy) used this mask: w_new = w − η ∂L/∂w with its gradients
    for old, new, grad in zip(model.get_weights(), step.new_weights, step.grads):
        np.testing.assert_allclose(new, old - 0.1 * grad, rtol=1e-12, atol=1e-15)
    assert "dropout mask of layer 1 (rate 0.5): m / (1 − 0.5) = [" in str(step)
    assert "o_11 = dropout ∘ tanh(net^1_1)" in str(step)
    again = mf.explain(model, X[:2], y[:2])  # the model's generator did not move
    np.testing.assert_array_equal(again.masks[0][2], mask)
    applied = mf.explain(model, X[:2], y[:2], apply=True)
    np.testing.assert_array_equal(applied.masks[0][2], mask)
    assert not np.array_equal(mf.explain(model, X[:2], y[:2]).masks[0][2], mask)  # moved now


@pytest.mark.parametrize("normalization", ["BatchNormalization", "LayerNormalization"])
def test_explain_writes_normalization_layers_with_the_models_own_numbers(normalization):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    model = mf.Sequential(
        [mf.layers.Dense(4, input_dim=3), getattr(mf.layers, normalization)(),
         mf.layers.ReLU(), mf.layers.Dense(1)],
        dtype="float64", seed=1,
    )  # fmt: skip
    model.compile(mf.optimizers.SGD(0.1), "mse")
    before = model.get_weights()
    step = mf.explain(model, X, y)
    _, expected = model.gradients(X, y)  # the layers' own backward: ∂L/∂γ, ∂L/∂β, the rest
    assert len(step.grads) == len(expected)
    for ours, theirs in zip(step.grads, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)
    after = model.copy()
    after.train_on_batch(X, y)
    for ours, theirs in zip(step.new_weights, after.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    for weights, kept in zip(model.get_weights(), before):  # the moving statistics too
        np.testing.assert_array_equal(weights, kept)
    norm = step.normalizations[1]
    axis = 0 if normalization == "BatchNormalization" else 1
    net = X @ before[0] + before[1]
    x_hat = (net - net.mean(axis=axis, keepdims=True)) / np.sqrt(
        net.var(axis=axis, keepdims=True) + model.layers[1].epsilon
    )
    np.testing.assert_allclose(norm.x_hat, x_hat, rtol=1e-12)
    text = str(step)
    kind = "batch" if axis == 0 else "layer"
    assert f"Layer 1: {kind} normalization" in text
    assert "∂L/∂gamma^1_1 = Σ_rows ∂L/∂s^1_1 · x_hat^1_1" in text
    assert "∂L/∂w^1_11 = Σ_rows ∂L/∂net^1_1 · ∂net^1_1/∂w^1_11" in text
    assert step.updated["gamma^1_2"] == pytest.approx(after.layers[1].params["gamma"][1])
    assert "γ¹₁" in step.to_html("gamma^1_1") and "\\gamma" in step.to_markdown()


@pytest.mark.parametrize(
    "options",
    [{}, {"strides": 2, "padding": "same"}, {"dilation_rate": 2}],
)
def test_one_conv2d_cell_is_its_window_and_the_kernel_gradient_the_correlation(options):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(2, 7, 7, 2)), np.array([1, 0])
    model = mf.Sequential(
        [mf.layers.Conv2D(3, 3, input_shape=(7, 7, 2), activation="tanh", **options),
         mf.layers.Flatten(), mf.layers.Dense(2, activation="softmax")],
        dtype="float64", seed=0,
    )  # fmt: skip
    model.compile("sgd", "sparse_categorical_crossentropy")
    cell = mf.explain(model, X[0], y[0], cell=(1, 2, 2), entry=(2, 1, 1))
    conv = model.layers[0]
    output = conv.forward(X[:1])
    assert cell.output == pytest.approx(output[0, 1, 2, 2], rel=1e-12)
    assert cell.net == pytest.approx(np.arctanh(output[0, 1, 2, 2]), rel=1e-9)
    _, grads = model.gradients(X[:1], y[:1])
    np.testing.assert_allclose(cell.kernel_gradient, grads[0], rtol=1e-12, atol=1e-15)
    # ∂L/∂K[2, 1, 1, 2] is the correlation of the input with ∂L/∂net, written term by term
    expected = np.sum(cell.inputs_met * cell.grad_net)
    assert cell.kernel_gradient[2, 1, 1, 2] == pytest.approx(expected, rel=1e-12)
    assert cell.bias_gradient[2] == pytest.approx(cell.grad_net.sum(), rel=1e-12)
    text = str(cell)
    assert "∂L/∂K[2, 1, 1, 2] = Σ_(r, c) x[r·s + 2·d, c·s + 1·d, 1]" in text
    with pytest.raises(ValueError, match="cell"):
        mf.explain(model, X[0], y[0], cell=(9, 0, 0))


def training_loss(model, X, y, index, position, delta) -> float:
    """The loss in training mode (BatchNormalization's batch statistics) with one weight
    moved by ``delta``, the model put back."""
    weights = model.get_weights()
    moved = [w.copy() for w in weights]
    moved[index][position] += delta
    model.set_weights(moved)
    try:
        return model.gradients(X, y)[0]
    finally:
        model.set_weights(weights)


@pytest.mark.parametrize(
    "make",
    [
        lambda: [mf.layers.Dense(3, input_dim=2), mf.layers.BatchNormalization(),
                 mf.layers.Tanh(), mf.layers.Dense(1)],
        lambda: [mf.layers.Dense(3, input_dim=2), mf.layers.LayerNormalization(),
                 mf.layers.ReLU(), mf.layers.Dense(1)],
        lambda: [mf.layers.Conv2D(2, 2, input_shape=(4, 4, 2), activation="sigmoid"),
                 mf.layers.Flatten(), mf.layers.Dense(1)],
    ],
)
def test_the_written_derivatives_of_the_new_layers_equal_central_differences(make):
    rng = np.random.default_rng(6)
    model = mf.Sequential(make(), dtype="float64", seed=2)
    model.compile("sgd", "mse")
    conv = isinstance(model.layers[0], mf.layers.Conv2D)
    X = rng.normal(size=(1, 4, 4, 2) if conv else (4, 2))
    y = rng.normal(size=len(X))
    step = mf.explain(model, X[0] if conv else X, y[0] if conv else y, entry=(1, 0, 1))
    if conv:  # ∂L/∂K[1, 0, 1, 0], written as the correlation, and ∂L/∂b_0
        checks = [
            (0, (1, 0, 1, 0), step.kernel_gradient[1, 0, 1, 0]),
            (1, (0,), step.bias_gradient[0]),
        ]
    else:  # ∂L/∂γ^1_2, ∂L/∂β^1_3 and a weight below the normalization, ∂L/∂w^1_21
        d = step.derivatives
        checks = [(2, (1,), d["∂L/∂gamma^1_2"].value), (3, (2,), d["∂L/∂beta^1_3"].value),
                  (0, (1, 0), d["∂L/∂w^1_21"].value)]  # fmt: skip
    for index, position, written in checks:
        numeric = (
            training_loss(model, X, y, index, position, 1e-6)
            - training_loss(model, X, y, index, position, -1e-6)
        ) / 2e-6
        assert written == pytest.approx(numeric, rel=1e-5, abs=1e-9), (index, position)
