"""``mf.explain`` on a SimpleRNN: backpropagation through time written out.

The 1-1-1 example of docs/teaching.md is checked against numbers computed by hand;
larger networks against the model's own backward pass and central differences.
"""

import numpy as np
import pytest

import minifw as mf
from minifw.initializers import Constant

L = mf.layers


def hand_example():
    """SimpleRNN(1, linear) with w = 1, u = 0.5, b = 0, then Dense(1) with weight 2."""
    model = mf.Sequential(
        [
            L.SimpleRNN(1, "linear", input_shape=(3, 1), kernel_initializer="ones",
                        recurrent_initializer=Constant(0.5)),
            L.Dense(1, kernel_initializer=Constant(2.0)),
        ],
        dtype="float64",
    )  # fmt: skip
    model.compile(mf.optimizers.SGD(0.01), "mse")
    return model


def test_the_one_one_one_example_over_three_steps_equals_the_numbers_by_hand():
    model = hand_example()
    step = mf.explain(model, [[1.0], [2.0], [3.0]], 10.0)
    # forward: h_1 = 1·1 = 1, h_2 = 1·2 + 0.5·1 = 2.5, h_3 = 3 + 0.5·2.5 = 4.25, ŷ = 2·4.25
    np.testing.assert_array_equal(step.h[:, 0], [1.0, 2.5, 4.25])
    assert step.head.outputs[0, 0] == 8.5
    assert step.loss == 2.25  # (10 − 8.5)²
    d = {symbol: derivative.value for symbol, derivative in step.derivatives.items()}
    # ∂L/∂ŷ = −2(10 − 8.5) = −3; through the output ∂L/∂h_3 = −3 · 2; then · u = 0.5 per step
    assert (d["∂L/∂h_31"], d["∂L/∂h_21"], d["∂L/∂h_11"]) == (-6.0, -3.0, -1.5)
    assert d["∂L/∂w_11"] == 1 * -1.5 + 2 * -3.0 + 3 * -6.0 == -25.5
    assert d["∂L/∂u_11"] == 0 * -1.5 + 1 * -3.0 + 2.5 * -6.0 == -18.0
    assert d["∂L/∂b_1"] == -10.5
    assert step.head.derivatives["∂L/∂w^1_11"].value == -3 * 4.25
    assert step.updated["w_11"] == pytest.approx(1 + 0.01 * 25.5, rel=1e-15)
    assert step.updated["u_11"] == pytest.approx(0.5 + 0.01 * 18, rel=1e-15)
    text = str(step)
    for line in (
        "net_21 = w_11·x_21 + u_11·h_11 + b_1 = 1·2 + 0.5·1 + 0 = 2.5",
        "∂L/∂h_21 = ∂L/∂net_31 · u_11 = (−6) · 0.5 = −3",
        "∂L/∂u_11 = h_01 · ∂L/∂net_11 + h_11 · ∂L/∂net_21 + h_21 · ∂L/∂net_31 "
        "= 0 · (−1.5) + 1 · (−3) + 2.5 · (−6) = −18",
        "u_11 ← u_11 − η · ∂L/∂u_11 = 0.5 − 0.01 · (−18) = 0.68",
    ):
        assert line in text, line


@pytest.mark.parametrize(
    "head, loss, y",
    [
        ([L.Dense(1)], "mse", np.array([0.3])),
        ([L.Dense(3, activation="tanh"), L.Dense(2, use_bias=False)], "mse", np.array([0.5, -1.0])),
        ([L.Dense(3, activation="softmax")], "sparse_categorical_crossentropy", np.array([2])),
    ],
)
def test_every_gradient_equals_the_models_own_backward_pass(head, loss, y):
    rng = np.random.default_rng(4)
    model = mf.Sequential(
        [L.SimpleRNN(3, input_shape=(4, 2), bias_initializer="random_normal"), *head],
        dtype="float64", seed=3,
    )  # fmt: skip
    model.compile(mf.optimizers.Adam(0.05), loss)
    x = rng.normal(size=(4, 2))
    step = mf.explain(model, x, y)
    _, expected = model.gradients(x[None], y[None])
    assert len(step.grads) == len(expected)
    for ours, theirs in zip(step.grads, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)
    # each ∂L/∂h_t is its two paths; the first step's sum has one term per step
    assert len(step.derivatives["∂L/∂h_21"].terms) == 3  # through h_3: Σ over 3 units
    assert len(step.derivatives["∂L/∂u_12"].terms) == 4
    before = model.get_weights()
    applied = mf.explain(model, x, y, apply=True)
    taken = model.get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(before, taken))
    updated = applied.updated
    assert updated["w_21"] == taken[0][1, 0] and updated["u_32"] == taken[1][2, 1]


def test_numbers_equal_central_differences():
    model = mf.Sequential([L.SimpleRNN(2, input_shape=(3, 1)), L.Dense(1)], dtype="float64", seed=1)
    model.compile("sgd", "mse")
    x, y = np.array([[0.5], [-1.0], [2.0]]), np.array([0.7])
    step = mf.explain(model, x, y)
    weights = model.get_weights()

    def loss_at(index, position, delta):
        changed = [w.copy() for w in weights]
        changed[index][position] += delta
        model.set_weights(changed)
        return model.evaluate(x[None], y[None])

    for index, position, symbol in [(0, (0, 1), "w_12"), (1, (1, 0), "u_21"), (2, (1,), "b_2")]:
        numeric = (loss_at(index, position, 1e-6) - loss_at(index, position, -1e-6)) / 2e-6
        assert step.derivatives[f"∂L/∂{symbol}"].value == pytest.approx(numeric, rel=1e-6)
    model.set_weights(weights)


def test_the_page_draws_the_network_unrolled_and_the_chain_summed_over_the_steps():
    step = mf.explain(hand_example(), [[1.0], [2.0], [3.0]], 10.0)
    page = step.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "src=" not in page and "<link" not in page  # all inline
    assert page.count('data-weight="u_11"') == 2  # h_1 → h_2 and h_2 → h_3
    assert page.count('data-weight="w_11"') == 3  # x_t → h_t at every step
    assert "t = 3: h₂₁ · ∂L/∂net₃₁ = 2.5 · (−6) = −15" in page
    assert 'class="edge selected" data-weight="u_11"' in page
    assert "w₁₁" in step.to_html("w_11")
    with pytest.raises(ValueError, match="u_11"):
        step.to_html("w^1_11")
    assert "\\frac{\\partial L}{\\partial u_{11}}" in step.to_markdown()


@pytest.mark.parametrize(
    "layers, x, named",
    [
        ([L.LSTM(2, input_shape=(3, 1)), L.Dense(1)], np.zeros((3, 1)), "LSTM"),
        ([L.Embedding(5, 2, input_length=3), L.SimpleRNN(2), L.Dense(1)], np.zeros(3), "Embedding"),
        ([L.SimpleRNN(2, input_shape=(3, 1), return_sequences=True), L.Dense(1)], np.zeros((3, 1)),
         "return_sequences"),
        ([L.SimpleRNN(2, input_shape=(3, 1))], np.zeros((3, 1)), "Dense output layer"),
        ([L.SimpleRNN(2, input_shape=(3, 1)), L.Dense(1)], np.zeros((2, 3, 1)), "one sequence"),
    ],
)
def test_what_is_not_written_out_is_refused_by_name(layers, x, named):
    model = mf.Sequential(layers, dtype="float64")
    model.compile("sgd", "mse")
    y = np.zeros((2, 1)) if x.ndim == 3 else 0.0
    with pytest.raises(ValueError, match=named):
        mf.explain(model, x, y)


def test_the_worked_example_in_the_teaching_page_is_what_explain_prints():
    from pathlib import Path

    page = (Path(__file__).parents[1] / "docs" / "teaching.md").read_text(encoding="utf-8")
    example = page.split("### A 1-1-1 example over three steps", 1)[1]
    written = example.split("```text\n", 1)[1].split("```", 1)[0].strip()
    assert written == str(mf.explain(hand_example(), [[1.0], [2.0], [3.0]], 10.0))
