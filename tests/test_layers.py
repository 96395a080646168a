"""Layers: numeric gradient checks, shapes, errors, configs."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw.layers import Dense, Linear, ReLU, Sigmoid, Tanh
from minifw.teaching.gradcheck import numeric_gradient

LAYER_FACTORIES = [
    lambda: Dense(3),
    lambda: Dense(3, use_bias=False),
    lambda: Dense(3, activation="sigmoid"),
    lambda: Dense(3, activation="relu", kernel_initializer="he_normal"),
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
]
# Each test gets fresh layers: a built layer keeps its input shape.
LAYERS = [pytest.param(factory, id=repr(factory())) for factory in LAYER_FACTORIES]


@pytest.mark.parametrize("make_layer", LAYERS)
def test_backward_matches_numeric_gradient_for_input_and_params(make_layer, rng):
    layer = make_layer()
    x = rng.normal(size=(4, 5))
    x[np.abs(x) < 0.05] = 0.3  # keep ReLU inputs away from the kink at 0
    layer.build(x.shape, rng, "float64")
    G = rng.normal(size=layer.forward(x).shape)
    dx = layer.backward(G)  # analytic first, then numeric

    def probe() -> float:
        return float(np.sum(layer.forward(x) * G))

    np.testing.assert_allclose(dx, numeric_gradient(probe, x), rtol=1e-6, atol=1e-8)
    for name, param in layer.params.items():
        analytic = layer.grads[name].copy()
        np.testing.assert_allclose(analytic, numeric_gradient(probe, param), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("make_layer", LAYERS)
def test_gradcheck_passes_for_every_layer(make_layer, rng):
    errors = mf.gradcheck(make_layer(), rng.normal(size=(6, 4)) + 0.1)
    assert "input" in errors
    assert max(errors.values()) < 1e-6


def test_dense_computes_x_at_w_plus_b():
    layer = Dense(1, kernel_initializer=mf.initializers.Constant(0.5), bias_initializer="ones")
    assert layer(np.array([[1.0, 2.0]])).tolist() == [[2.5]]
    assert layer.params["W"].shape == (2, 1) and layer.params["b"].shape == (1,)


def test_dense_gradients_are_overwritten_not_accumulated(rng):
    layer = Dense(2)
    x = rng.normal(size=(3, 4))
    G = rng.normal(size=(3, 2))
    layer(x)
    layer.backward(G)
    first = layer.grads["W"].copy()
    layer.forward(x)
    layer.backward(G)
    np.testing.assert_array_equal(layer.grads["W"], first)
    np.testing.assert_allclose(first, x.T @ G)


def test_relu_gradient_at_exactly_zero_is_zero():
    relu = ReLU()
    relu(np.array([[0.0, -1.0, 2.0]]))
    assert relu.backward(np.ones((1, 3))).tolist() == [[0.0, 0.0, 1.0]]


def test_sigmoid_and_tanh_stay_finite_at_large_inputs():
    x = np.array([[-1000.0, 1000.0]])
    for layer in (Sigmoid(), Tanh()):
        out = layer(x)
        grad = layer.backward(np.ones_like(x))
        assert np.isfinite(out).all() and np.isfinite(grad).all()
    assert Sigmoid()(x).tolist() == [[0.0, 1.0]]


def test_activations_keep_float32():
    x = np.ones((2, 3), dtype=np.float32)
    for layer in (Linear(), ReLU(), Sigmoid(), Tanh(), Dense(2)):
        out = layer(x)
        assert out.dtype == np.float32
        assert layer.backward(np.ones_like(out)).dtype == np.float32


@pytest.mark.parametrize("units", [0, -1, 2.5, "3", True, None])
def test_dense_refuses_units_that_are_not_positive_integers(units):
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        Dense(units)


def test_dense_refuses_inputs_with_the_wrong_feature_count():
    layer = Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match=r"Dense expected inputs of shape \(n, 3\), got \(4, 2\)"):
        layer.forward(np.ones((4, 2)))


def test_backward_before_forward_and_wrong_gradient_shape_are_refused():
    layer = Dense(2)
    layer.build((None, 3))
    with pytest.raises(RuntimeError, match="forward before backward"):
        layer.backward(np.ones((4, 2)))
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"grad_output of shape \(4, 2\)"):
        layer.backward(np.ones((4, 1)))


def test_unknown_activation_and_initializer_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown activation 'rellu'. Expected one of: .*'relu'"):
        Dense(2, activation="rellu")
    with pytest.raises(ValueError, match="Unknown initializer 'one'. Expected one of: .*'ones'"):
        Dense(2, kernel_initializer="one")


def test_repr_reads_like_the_constructor_call():
    assert repr(Dense(2)) == "Dense(units=2)"
    assert repr(Dense(2, activation="relu", input_dim=3)) == (
        "Dense(units=2, activation='relu', input_dim=3)"
    )
    assert repr(ReLU()) == "ReLU()"


@pytest.mark.parametrize("make_layer", LAYERS)
def test_config_rebuilds_an_equal_layer(make_layer):
    layer = make_layer()
    rebuilt = mf.layers.deserialize(mf.layers.serialize(layer))
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()


def test_deserialize_refuses_unknown_layer_types():
    with pytest.raises(ValueError, match="Unknown layer type 'Lambda'"):
        mf.layers.deserialize({"class_name": "Lambda", "config": {}})


@pytest.mark.parametrize("make_layer", LAYERS)
def test_forward_and_backward_never_modify_the_callers_arrays(make_layer, rng):
    layer = make_layer()
    x = rng.normal(size=(4, 5))
    G = rng.normal(size=layer(x).shape)
    x_before, G_before = x.copy(), G.copy()
    layer.forward(x)
    layer.backward(G)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(G, G_before)


@mf.layers.register
class Diagonal(mf.layers.KernelLayer):
    """net_j = x_j · w_j + b_j: a new kernel layer is its arithmetic under the fixed names."""

    def kernel_shape(self, input_shape):
        return (input_shape[-1],)

    def net(self, x, training=False):
        self._x = x
        out = x * self.params["W"]
        if self.use_bias:
            out += self.params["b"]
        return out

    def net_backward(self, grad_net):
        self.parameter_gradients(grad_net)
        return grad_net * self.params["W"]

    def parameter_gradients(self, grad_net):
        np.sum(grad_net * self._x, axis=0, out=self.grads["W"])
        if self.use_bias:
            grad_net.sum(axis=0, out=self.grads["b"])


def test_a_new_kernel_layer_shares_weights_activation_penalties_and_config(rng, tmp_path):
    make = lambda: Diagonal("tanh", kernel_initializer="ones", kernel_regularizer="l2")  # noqa: E731
    assert not mf.testing.check_layer(make, (5, 3)).failures
    layer = make()
    layer.build((None, 3))
    assert layer.get_weights()[0].tolist() == [1.0, 1.0, 1.0] and layer.params["b"].shape == (3,)
    assert set(layer.regularizers()) == {"W"}
    model = mf.Sequential([make(), mf.layers.Dense(1)], dtype="float64", seed=0)
    model.compile("sgd", "mse")
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    assert max(mf.gradcheck(model, X, y).values()) < 1e-6  # the penalty's gradient included
    model.fit(X, y, epochs=2, verbose=0)
    model.save(tmp_path / "diagonal.minifw")
    loaded = mf.load_model(tmp_path / "diagonal.minifw")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.layers[0].activation.__class__ is mf.layers.Tanh

def test_a_layer_gets_and_sets_its_own_weights_in_the_models_vectors():
    model = mf.Sequential([mf.layers.Dense(2, input_dim=3), mf.layers.Dense(1)], seed=0)
    model.build()
    dense = model.get_layer("dense_1")
    W, b = dense.get_weights()
    dense.set_weights([np.ones_like(W), np.full_like(b, 0.5)])
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((3, 2)))
    assert model.get_weights()[1].tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match=r"weight 0 must be a finite array of shape \(3, 2\)"):
        dense.set_weights([np.ones((2, 2)), b])
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((3, 2)))  # unchanged


def test_a_wide_dense_layer_on_one_row_takes_its_weight_gradient_as_an_outer_product(rng):
    from minifw.layers.dense import _OUTER_PRODUCT_MIN_SIZE

    layer = mf.layers.Dense(1024, input_dim=1024)
    layer.build((None, 1024), rng, "float64")
    assert layer.params["W"].size >= _OUTER_PRODUCT_MIN_SIZE  # the broadcast branch
    x, grad = rng.normal(size=(1, 1024)), rng.normal(size=(1, 1024))
    layer.forward(x)
    layer.backward(grad)
    np.testing.assert_allclose(layer.grads["W"], np.outer(x[0], grad[0]), rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], grad[0], rtol=1e-12)


@pytest.mark.parametrize(
    ("first", "shape"),
    [
        (lambda: mf.layers.Normalization(mean=[0.0, 1.0], variance=[1.0, 4.0], input_shape=(2,)),
         (2,)),
        (lambda: mf.layers.BatchNormalization(input_shape=(3,)), (3,)),
        (lambda: mf.layers.LayerNormalization(input_shape=(3,)), (3,)),
        (lambda: mf.layers.Dropout(0.2, input_shape=(3,)), (3,)),
        (lambda: mf.layers.ReLU(input_shape=(3,)), (3,)),
        (lambda: mf.layers.LeakyReLU(0.1, input_shape=(3,)), (3,)),
        (lambda: mf.layers.Activation("tanh", input_shape=(3,)), (3,)),
        (lambda: mf.layers.Flatten(input_shape=(2, 3)), (2, 3)),
        (lambda: mf.layers.Reshape((2, 3), input_shape=(6,)), (6,)),
        (lambda: mf.layers.MaxPooling2D(2, input_shape=(4, 4, 1)), (4, 4, 1)),
        (lambda: mf.layers.GlobalAveragePooling2D(input_shape=(4, 4, 2)), (4, 4, 2)),
        (lambda: mf.layers.Conv2D(2, 3, input_shape=(5, 5, 1)), (5, 5, 1)),
    ],
)
def test_every_layer_that_can_come_first_takes_input_shape(first, shape, tmp_path):
    layers = [first()]
    if len(shape) > 1 and not isinstance(layers[0], (mf.layers.Flatten, mf.layers.Reshape)):
        layers.append(mf.layers.Flatten())
    model = mf.Sequential([*layers, mf.layers.Flatten(), mf.layers.Dense(1)], dtype="float64")
    model.build()  # from the first layer's input_shape, as in Keras
    assert model.input_shape == (None, *shape)
    assert mf.layers.deserialize(mf.layers.serialize(layers[0])).declared == shape
    model.save(tmp_path / "first.minifw")
    assert mf.load_model(tmp_path / "first.minifw").input_shape == (None, *shape)


def test_an_input_shape_that_is_not_one_samples_shape_is_refused():
    with pytest.raises(ValueError, match=r"ReLU: `input_shape` must be the shape of one sample"):
        mf.layers.ReLU(input_shape=(0, 3))
    with pytest.raises(ValueError, match=r"`input_shape` must be the shape of one sample"):
        mf.layers.Activation("relu", input_shape="3")
