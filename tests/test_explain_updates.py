"""explain writes each optimizer's update with its state; the arithmetic on every line,
evaluated, gives the number the line ends with, and the last line's is the new weight
the optimizer computed."""

import math
import re

import numpy as np
import pytest

import minifw as mf

OPTIMIZERS = {
    "momentum": lambda: mf.optimizers.SGD(1e-5, momentum=0.9),
    "nesterov": lambda: mf.optimizers.SGD(1e-5, momentum=0.9, nesterov=True),
    "weight decay": lambda: mf.optimizers.SGD(1e-5, weight_decay=0.01),
    "adam": lambda: mf.optimizers.Adam(0.01),
    "adamw": lambda: mf.optimizers.AdamW(0.01, weight_decay=0.1),
    "rmsprop": lambda: mf.optimizers.RMSprop(0.01),
    "rmsprop momentum": lambda: mf.optimizers.RMSprop(0.01, momentum=0.5),
    "adagrad": lambda: mf.optimizers.Adagrad(0.1),
}


def evaluate(arithmetic: str) -> float:
    """A written line's numbers and operators, as Python evaluates them."""
    text = arithmetic.replace("·", "*").replace("−", "-").replace("√", "sqrt").replace("^", "**")
    text = re.sub(r"\(([^()]+)\)²", r"(\1)**2", text).replace("²", "**2")
    text = re.sub(r"sqrt([\d.e+-]+)", r"sqrt(\1)", text)
    return eval(text, {"sqrt": math.sqrt})  # noqa: S307 (the test's own text)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_update_line_adds_up_and_ends_at_the_optimizers_new_weight(name):
    X, y = mf.datasets.salary()
    model = mf.Sequential(
        [mf.layers.Dense(1, input_dim=2, kernel_initializer="ones")], dtype="float64"
    )
    model.compile(OPTIMIZERS[name](), "mse")
    model.train_on_batch(X[:1], y[:1])  # a state that is not all zeros
    step = mf.explain(model, X[1], y[1])
    text = str(step)
    section = text[text.index("Update (") :].splitlines()[1:]
    assert len(section) >= 2 * len(step.updates)  # the state's lines, then the step's
    for line in section:
        parts = line.split(" = ")
        expected = float(parts[-1].replace("−", "-"))
        assert evaluate(parts[-2]) == pytest.approx(expected, rel=2e-5, abs=1e-12), line
    for update in step.updates:
        last = next(line for line in reversed(section) if f"{update.symbol} ←" in line)
        assert float(last.rsplit(" = ", 1)[1].replace("−", "-")) == pytest.approx(
            update.new, rel=1e-5
        )
    after = model.copy()
    after.train_on_batch(X[1:2], y[1:2])
    np.testing.assert_allclose(
        np.concatenate([np.ravel(w) for w in step.new_weights]),
        np.concatenate([np.ravel(w) for w in after.get_weights()]),
        rtol=1e-12,
    )


def test_adams_state_and_step_number_are_written_with_their_values():
    X, y = mf.datasets.salary()
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)], dtype="float64", seed=0)
    model.compile(mf.optimizers.Adam(0.01), "mse")
    for row in range(2):
        model.train_on_batch(X[row : row + 1], y[row : row + 1])
    step = mf.explain(model, X[2], y[2])
    assert step.step_number == 3
    text = str(step)
    assert "m̂ = m / (1 − β₁^t) = " in text and "/ (1 − 0.9^3) = " in text
    m = dict((n, (b, a)) for n, b, a in step.updates[0].state)["m"]
    assert m[1] == pytest.approx(0.9 * m[0] + 0.1 * step.updates[0].gradient, rel=1e-12)
    assert "\\hat{m}" in step.to_markdown() and "\\sqrt{" in step.to_markdown()


def test_the_page_writes_the_selected_weights_update_with_its_state():
    X, y = mf.datasets.salary()
    model = mf.Sequential(
        [mf.layers.Dense(1, input_dim=2, kernel_initializer="ones")], dtype="float64"
    )
    model.compile(mf.optimizers.SGD(1e-5, momentum=0.9), "mse")
    page = mf.explain(model, X[0], y[0]).to_html("w^1_21")
    chain = page.split("<aside>", 1)[1].split("</aside>", 1)[0]
    assert "v ← μ·v + g = 0.9·0 + 164.5 = 164.5" in chain
    assert "w¹₂₁ ← w¹₂₁ − η·v = 1 − 1e-05·164.5 = 0.998355" in chain
