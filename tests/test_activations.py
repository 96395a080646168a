"""Every activation: its formula, its derivative (numerically checked) and stability."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erf

import minifw as mf
from minifw.layers import ELU, GELU, LeakyReLU, Linear, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from minifw.teaching.gradcheck import numeric_gradient

ACTIVATIONS = [
    Linear,
    ReLU,
    lambda: LeakyReLU(0.1),
    Sigmoid,
    Tanh,
    Softmax,
    lambda: ELU(0.5),
    GELU,
    lambda: GELU(approximate=True),
    Softplus,
    SiLU,
]
IDS = [repr(make()) for make in ACTIVATIONS]


def reference(name: str, x: np.ndarray) -> np.ndarray:
    """Each formula written out independently of the library."""
    sigma = 1 / (1 + np.exp(-x))
    return {
        "Linear()": x,
        "ReLU()": np.maximum(x, 0),
        "LeakyReLU(alpha=0.1)": np.where(x > 0, x, 0.1 * x),
        "Sigmoid()": sigma,
        "Tanh()": np.tanh(x),
        "Softmax()": np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True),
        "ELU(alpha=0.5)": np.where(x > 0, x, 0.5 * (np.exp(x) - 1)),
        "GELU()": 0.5 * x * (1 + erf(x / math.sqrt(2))),
        "GELU(approximate=True)": 0.5
        * x
        * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
        "Softplus()": np.log1p(np.exp(x)),
        "SiLU()": x * sigma,
    }[name]


@pytest.mark.parametrize("make", ACTIVATIONS, ids=IDS)
def test_forward_matches_the_written_formula(make, rng):
    layer = make()
    x = rng.normal(size=(4, 5)) * 3
    np.testing.assert_allclose(layer(x), reference(repr(layer), x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make", ACTIVATIONS, ids=IDS)
def test_backward_matches_numeric_gradient(make, rng):
    layer = make()
    x = rng.normal(size=(4, 5)) * 2
    x[np.abs(x) < 0.05] = 0.5  # away from the kinks of ReLU, LeakyReLU and ELU
    G = rng.normal(size=x.shape)
    layer(x)
    analytic = layer.backward(G)
    numeric = numeric_gradient(lambda: float(np.sum(layer.forward(x) * G)), x)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("make", ACTIVATIONS, ids=IDS)
def test_outputs_and_gradients_stay_finite_at_plus_minus_1000(make):
    layer = make()
    x = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = layer(x)
        grad = layer.backward(np.ones_like(x))
    assert np.isfinite(out).all() and np.isfinite(grad).all()


@pytest.mark.parametrize("make", ACTIVATIONS, ids=IDS)
def test_float32_stays_float32(make):
    layer = make()
    x = np.linspace(-3, 3, 10, dtype=np.float32).reshape(2, 5)
    assert layer(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32


def test_known_values():
    x = np.array([[-1.0, 0.0, 1.0]])
    assert Softplus()(x)[0, 1] == pytest.approx(math.log(2))
    assert SiLU()(x)[0, 2] == pytest.approx(1 / (1 + math.exp(-1)))
    assert ELU()(x)[0, 0] == pytest.approx(math.exp(-1) - 1)
    assert GELU()(x)[0, 2] == pytest.approx(0.8413447460685429)
    assert Sigmoid()(np.array([[-1000.0, 1000.0]])).tolist() == [[0.0, 1.0]]
    assert Softplus()(np.array([[1000.0]]))[0, 0] == 1000.0


def test_kinks_use_the_documented_one_sided_derivative():
    x = np.array([[0.0]])
    for layer, expected in ((ReLU(), 0.0), (LeakyReLU(0.2), 0.2), (ELU(0.5), 0.5)):
        layer(x)
        assert layer.backward(np.ones((1, 1)))[0, 0] == expected


def test_softmax_rows_sum_to_one_even_for_huge_logits():
    out = Softmax()(np.array([[1000.0, 1000.0, -1000.0], [5e300, 0.0, 1.0]]))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[0], [0.5, 0.5, 0.0])


@pytest.mark.parametrize(
    "name",
    [
        "linear",
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "softmax",
        "elu",
        "gelu",
        "softplus",
        "silu",
        "swish",
    ],
)
def test_dense_activation_shorthand_equals_dense_followed_by_the_layer(name, rng):
    x = rng.normal(size=(3, 4))
    shorthand = mf.Sequential([mf.layers.Dense(5, activation=name)], dtype="float64", seed=1)
    explicit = mf.Sequential(
        [mf.layers.Dense(5), mf.layers.activations.get(name)], dtype="float64", seed=1
    )
    np.testing.assert_array_equal(shorthand.predict(x), explicit.predict(x))


def test_activation_configs_round_trip_with_their_arguments():
    for layer in (LeakyReLU(0.05), ELU(2.0), GELU(approximate=True)):
        rebuilt = mf.layers.Dense(2, activation=layer).get_config()["activation"]
        assert mf.layers.activations.get(rebuilt).get_config() == layer.get_config()
    assert mf.layers.Dense(2, activation="relu").get_config()["activation"] == "relu"


def test_bad_activation_arguments_are_refused():
    with pytest.raises(ValueError, match="`alpha` must be a non-negative finite number"):
        LeakyReLU(-1)
    with pytest.raises(TypeError, match="`approximate` must be True or False"):
        GELU(approximate="tanh")
