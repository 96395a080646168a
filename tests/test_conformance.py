"""Every registered layer passes ``minifw.testing.check_layer``; each check can fail."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw.testing import check_layer

L = mf.layers

#: A small spec per registered layer: a factory and a concrete input shape. A layer
#: registered without one fails ``test_every_registered_layer_has_a_spec``.
SPECS = {
    "Dense": [
        (lambda: L.Dense(3, activation="tanh"), (5, 4)),
        (lambda: L.Dense(2), (4, 3)),
        (lambda: L.Dense(3, activation="sigmoid"), (4, 5, 2)),  # a sequence: the last axis
    ],
    "Linear": [(L.Linear, (4, 3))],
    "ReLU": [(L.ReLU, (4, 3))],
    "LeakyReLU": [(lambda: L.LeakyReLU(0.2), (4, 3))],
    "Sigmoid": [(L.Sigmoid, (4, 3))],
    "Tanh": [(L.Tanh, (4, 3))],
    "Softmax": [(L.Softmax, (4, 3))],
    "ELU": [(lambda: L.ELU(0.7), (4, 3))],
    "Exponential": [(L.Exponential, (4, 3))],
    "GELU": [(L.GELU, (4, 3)), (lambda: L.GELU(approximate=True), (4, 3))],
    "Softplus": [(L.Softplus, (4, 3))],
    "SiLU": [(L.SiLU, (4, 3))],
    "Dropout": [(lambda: L.Dropout(0.4), (6, 3))],
    "BatchNormalization": [(lambda: L.BatchNormalization(momentum=0.8), (6, 3))],
    "LayerNormalization": [(L.LayerNormalization, (4, 5))],
    "Normalization": [(lambda: L.Normalization(mean=[1.0, -2.0], variance=[4.0, 0.25]), (4, 2))],
    "Flatten": [(L.Flatten, (3, 2, 2, 3))],
    "Reshape": [(lambda: L.Reshape((3, 4)), (3, 12))],
    "Conv2D": [
        (lambda: L.Conv2D(2, 3, padding="same", activation="relu"), (3, 5, 5, 2)),
        (lambda: L.Conv2D(3, (2, 3), strides=2, dilation_rate=1), (2, 7, 6, 1)),
        (lambda: L.Conv2D(2, 2, dilation_rate=2, use_bias=False), (2, 6, 6, 5)),  # per tap
    ],
    "MaxPooling2D": [
        (lambda: L.MaxPooling2D(2), (3, 4, 4, 2)),
        (lambda: L.MaxPooling2D(3, 2, "same"), (2, 5, 5, 1)),
    ],
    "AveragePooling2D": [
        (lambda: L.AveragePooling2D(2), (3, 5, 4, 2)),
        (lambda: L.AveragePooling2D(3, 2, "same"), (2, 5, 5, 1)),
    ],
    "GlobalAveragePooling2D": [(L.GlobalAveragePooling2D, (3, 3, 4, 2))],
    "GlobalMaxPooling2D": [(L.GlobalMaxPooling2D, (3, 3, 4, 2))],
    "Embedding": [
        (lambda: L.Embedding(7, 3), (4, 5)),
        (lambda: L.Embedding(2, 4, input_length=3), (5, 3)),  # repeated ids
    ],
    "SimpleRNN": [
        (lambda: L.SimpleRNN(3), (4, 5, 2)),
        (lambda: L.SimpleRNN(2, "relu", return_sequences=True, go_backwards=True), (3, 4, 3)),
    ],
    "LSTM": [
        (lambda: L.LSTM(3), (4, 5, 2)),
        (lambda: L.LSTM(2, return_sequences=True, go_backwards=True), (3, 4, 3)),
    ],
    "GRU": [
        (lambda: L.GRU(3), (4, 5, 2)),
        (lambda: L.GRU(2, "relu", return_sequences=True, go_backwards=True), (3, 4, 3)),
    ],
}


def own_layers() -> list[str]:
    classes = mf.layers.LAYERS.classes
    return sorted(name for name, cls in classes.items() if cls.__module__.startswith("minifw."))


def test_every_registered_layer_has_a_spec():
    assert set(own_layers()) == set(SPECS), "give each registered layer a spec in SPECS"


@pytest.mark.parametrize(
    ("factory", "shape"),
    [pytest.param(*spec, id=f"{name}-{i}") for name, specs in SPECS.items()
     for i, spec in enumerate(specs)],
)
def test_every_layer_passes_the_conformance_checks(factory, shape):
    report = check_layer(factory, shape)
    assert not report.failures and len(report.results) == 11


# -- each check fails for a layer broken in its way ---------------------------------


@mf.layers.register
class Doubling(mf.layers.Activation):
    """o = 2·net, a correct elementwise layer to break in the tests below."""

    def activate(self, x):
        return 2 * x

    def derivative(self, x, out):
        return np.full_like(x, 2.0)


@mf.layers.register
class WrongGradient(Doubling):
    def derivative(self, x, out):
        return np.full_like(x, 2.02)  # 1% off


@mf.layers.register
class WrongShape(Doubling):
    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


@mf.layers.register
class AlwaysFloat64(Doubling):
    def activate(self, x):
        return 2 * x.astype(np.float64)


@mf.layers.register
class ForgetsItsConfig(Doubling):
    """Its factor is not in its config: rebuilt, it doubles."""

    def __init__(self, factor=2.0, *, name=None):
        super().__init__(name=name)
        self.factor = factor

    def activate(self, x):
        return self.factor * x

    def derivative(self, x, out):
        return np.full_like(x, self.factor)


@mf.layers.register
class NotSaved(ForgetsItsConfig):
    """Its config round-trips in Python but holds a NumPy scalar, which JSON cannot write."""

    def get_config(self):
        return {**super().get_config(), "factor": np.float32(self.factor)}


@mf.layers.register
class MixesRows(Doubling):
    def activate(self, x):
        return 2 * x + x.mean(axis=0)

    def derivative(self, x, out):  # wrong for the mixing, but the rows check comes first
        return np.full_like(x, 2.0)


@mf.layers.register
class DependsOnLayout(Doubling):
    def activate(self, x):
        return 2 * x + (0.0 if x.flags.c_contiguous else 1.0)


@mf.layers.register
class ChangesItsInput(Doubling):
    def activate(self, x):
        x *= 2  # in place on the caller's array
        return x.copy()


@mf.layers.register
class RandomAtInference(Doubling):
    def activate(self, x):
        return 2 * x + np.random.default_rng().normal(size=x.shape) * 1e-3


@mf.layers.register
class FailsToBuild(Doubling):
    def build(self, input_shape, rng=None, dtype="float64"):
        raise RuntimeError("no")


@pytest.mark.parametrize(
    ("factory", "check"),
    [
        (FailsToBuild, "builds"),
        (WrongShape, "output shape"),
        (WrongGradient, "gradients"),
        (AlwaysFloat64, "float32"),
        (lambda: ForgetsItsConfig(3.0), "config"),
        (lambda: NotSaved(3.0), "save and load"),
        (MixesRows, "rows do not mix"),
        (DependsOnLayout, "memory layout"),
        (ChangesItsInput, "inputs untouched"),
        (RandomAtInference, "deterministic inference"),
    ],
)
def test_each_check_fails_for_a_layer_broken_in_its_way(factory, check):
    with pytest.raises(AssertionError) as failure:
        check_layer(factory, (4, 3))
    assert f"FAIL {check}" in str(failure.value)
    assert check_layer(Doubling, (4, 3)).failures == {}


def test_check_layer_refuses_a_shape_without_a_batch_of_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        check_layer(mf.layers.ReLU, (4,))
    with pytest.raises(ValueError, match="at least 2 rows"):
        check_layer(mf.layers.ReLU, "ab")
