"""Conv2D, pooling and Reshape: gradients, a nested-loop reference, models, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minifw as mf
from minifw.layers import (
    AveragePooling2D,
    Conv2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
    Reshape,
)

CONVOLUTIONS = [
    dict(kernel_size=1),
    dict(kernel_size=3),
    dict(kernel_size=5, padding="same"),
    dict(kernel_size=(2, 3)),
    dict(kernel_size=3, strides=2),
    dict(kernel_size=2, padding="same"),  # even kernel: the extra row/column at the bottom/right
    dict(kernel_size=3, padding="same", strides=2),
    dict(kernel_size=3, dilation_rate=2),
    dict(kernel_size=3, dilation_rate=2, padding="same"),
    dict(kernel_size=3, use_bias=False),
]


def ids(options: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("channels", [1, 6], ids=["im2col", "per-tap"])
@pytest.mark.parametrize("options", CONVOLUTIONS, ids=ids)
def test_conv2d_gradients_match_central_differences(options, channels, rng):
    x = rng.normal(size=(2, 7, 6, channels))
    layer = Conv2D(3, **options)
    errors = mf.gradcheck(layer, x)
    assert max(errors.values()) < 1e-7, errors


POOLINGS = [
    MaxPooling2D(),  # 6×6: tiles exactly
    MaxPooling2D(3),
    MaxPooling2D(2, strides=1),
    MaxPooling2D(3, strides=2, padding="same"),
    AveragePooling2D(),
    AveragePooling2D(3, strides=2),
    AveragePooling2D(3, strides=1, padding="same"),
    GlobalAveragePooling2D(),
    GlobalMaxPooling2D(),
    Reshape((-1, 3)),
]


@pytest.mark.parametrize("layer", POOLINGS, ids=repr)
@pytest.mark.parametrize("size", [(6, 6), (7, 5)])
def test_pooling_gradients_match_central_differences(layer, size, rng):
    x = rng.normal(size=(2, *size, 3))  # distinct values: each window has one maximum
    layer = type(layer).from_config(layer.get_config())
    assert max(mf.gradcheck(layer, x).values()) < 1e-7


def reference_convolution(x, W, b, stride, dilation, padding):
    """out[n, y, x, f] by nested loops over every output cell and kernel cell."""
    (kh, kw, channels, filters), (sh, sw), (dh, dw) = W.shape, stride, dilation
    n, height, width, _ = x.shape
    span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "same":
        out_h, out_w = math.ceil(height / sh), math.ceil(width / sw)
        pad_h = max((out_h - 1) * sh + span_h - height, 0)
        pad_w = max((out_w - 1) * sw + span_w - width, 0)
        x = np.pad(
            x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
        )
    else:
        out_h, out_w = (height - span_h) // sh + 1, (width - span_w) // sw + 1
    out = np.zeros((n, out_h, out_w, filters))
    for i in range(n):
        for r in range(out_h):
            for c in range(out_w):
                for f in range(filters):
                    total = b[f]
                    for a in range(kh):
                        for e in range(kw):
                            for ch in range(channels):
                                total += x[i, r * sh + a * dh, c * sw + e * dw, ch] * W[a, e, ch, f]
                    out[i, r, c, f] = total
    return out


@pytest.mark.parametrize("channels", [2, 5])
@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "padding"),
    [(3, 1, 1, "valid"), (2, 2, 1, "same"), ((3, 2), (1, 2), (2, 1), "same"), (1, 1, 1, "valid")],
)
def test_conv2d_equals_a_nested_loop_convolution_forward_and_backward(
    kernel, stride, dilation, padding, channels, rng
):
    x = rng.normal(size=(2, 5, 6, channels))
    layer = Conv2D(4, kernel, strides=stride, padding=padding, dilation_rate=dilation)
    layer.build(x.shape, rng, "float64")
    W, b = layer.params["W"], rng.normal(size=4)
    layer.params["b"][...] = b
    pairs = [mf.layers._windows.int_pair(v, "v", "t") for v in (stride, dilation)]
    expected = reference_convolution(x, W, b, *pairs, padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    # gradients by the reference: ∂(Σ out·G)/∂x and /∂W, each a sum of the loops' terms
    G = rng.normal(size=expected.shape)
    dx = layer.backward(G)
    numeric_dx = np.zeros_like(x)
    numeric_dW = np.zeros_like(W)
    for index in np.ndindex(x.shape):
        bump = np.zeros_like(x)
        bump[index] = 1.0
        numeric_dx[index] = np.sum(
            (
                reference_convolution(x + bump, W, b * 0, *pairs, padding)
                - reference_convolution(x, W, b * 0, *pairs, padding)
            )
            * G
        )
    for index in np.ndindex(W.shape):
        bump = np.zeros_like(W)
        bump[index] = 1.0
        numeric_dW[index] = np.sum(reference_convolution(x, bump, b * 0, *pairs, padding) * G)
    np.testing.assert_allclose(dx, numeric_dx, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(layer.grads["W"], numeric_dW, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(layer.grads["b"], G.sum(axis=(0, 1, 2)), rtol=1e-12)


def test_keras_same_padding_puts_the_extra_row_and_column_at_the_bottom_right():
    x = np.arange(25.0).reshape(1, 5, 5, 1)
    layer = Conv2D(1, 2, padding="same", kernel_initializer="ones", use_bias=False)
    out = layer(x)
    assert out.shape == (1, 5, 5, 1)
    # total padding 1 per axis, all at the bottom/right: out[0, 0] = x00 + x01 + x10 + x11
    assert out[0, 0, 0, 0] == 0 + 1 + 5 + 6
    assert out[0, 4, 4, 0] == 24  # the last window holds one real cell


def test_max_pooling_routes_the_gradient_to_the_first_maximum():
    x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)  # a tie: 3 at (0,1) and (1,0)
    layer = MaxPooling2D()
    assert layer(x).tolist() == [[[[3.0]]]]
    grad = layer.backward(np.ones((1, 1, 1, 1)))
    assert grad[0, :, :, 0].tolist() == [[0.0, 1.0], [0.0, 0.0]]  # row-major first: (0, 1)
    layer = MaxPooling2D(2, strides=1)  # windows that do not tile: the other path
    layer.build(x.shape)
    layer.forward(x)
    assert layer.backward(np.ones((1, 1, 1, 1)))[0, :, :, 0].tolist() == [[0, 1], [0, 0]]


def test_average_pooling_same_leaves_padding_out_of_the_mean():
    x = np.ones((1, 3, 3, 1))
    out = AveragePooling2D(2, strides=1, padding="same")(x)
    assert np.all(out == 1.0)  # padded cells would pull the border means below 1


@pytest.mark.parametrize(
    ("make", "x", "message"),
    [
        (lambda: Conv2D(2, 3), np.ones((2, 5, 5)), "expects images"),
        (lambda: Conv2D(2, 7), np.ones((2, 5, 5, 1)), "the window spans 7 rows"),
        (lambda: MaxPooling2D(6), np.ones((2, 5, 5, 1)), "the window spans 6 rows"),
    ],
)
def test_inputs_a_layer_cannot_take_are_refused(make, x, message):
    with pytest.raises(ValueError, match=message):
        make()(x)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2D(0, 3), "`filters` must be a positive integer"),
        (lambda: Conv2D(2, 0), "`kernel_size` must be a positive integer or a pair"),
        (lambda: Conv2D(2, (3, -1)), "`kernel_size`"),
        (lambda: Conv2D(2, 3, strides=0), "`strides`"),
        (lambda: Conv2D(2, 3, padding="full"), "`padding` must be 'valid' or 'same'"),
        (lambda: MaxPooling2D(2, padding="causal"), "`padding` must be 'valid' or 'same'"),
        (lambda: AveragePooling2D(-2), "`pool_size`"),
        (lambda: Reshape((0, 2)), "`target_shape`"),
    ],
)
def test_bad_constructor_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def small_cnn(dtype="float32"):
    return mf.Sequential(
        [
            Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
            MaxPooling2D(),
            Conv2D(6, 3, padding="same", activation="relu"),
            GlobalAveragePooling2D(),
            mf.layers.Dense(3),
        ],
        dtype=dtype,
        seed=0,
    )


def test_a_cnn_model_trains_saves_loads_and_checks_its_input(rng, tmp_path, capsys):
    X = rng.normal(size=(12, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, 3, size=12)
    model = small_cnn()
    model.compile("adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"expects X of shape \(n, 8, 8, 1\), got \(12, 8, 8, 3\)"):
        model.fit(np.ones((12, 8, 8, 3)), labels, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"expects a 4-D array X .* received a 3-D array"):
        model.fit(np.ones((12, 8, 8)), labels, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    history = model.fit(X, labels, epochs=3, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "cnn.minifw")
    loaded = mf.load_model(tmp_path / "cnn.minifw")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    table = model.summary()
    assert (
        "conv2d_1 (Conv2D)" in table and "(None, 6, 6, 4)" in table and "Total params: 283" in table
    )
    assert [w.shape for w in model.get_weights()][:2] == [(3, 3, 1, 4), (4,)]


def test_a_cnn_model_passes_gradcheck_in_float64(rng):
    model = small_cnn("float64")
    model.compile("sgd", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    X = rng.normal(size=(3, 8, 8, 1))
    assert max(mf.gradcheck(model, X, rng.integers(0, 3, size=3)).values()) < 1e-6


def test_glorot_counts_the_receptive_field_in_fan_in_and_fan_out(rng):
    layer = Conv2D(16, 5, kernel_initializer="glorot_uniform")
    layer.build((None, 20, 20, 8), rng)
    limit = math.sqrt(6 / (5 * 5 * 8 + 5 * 5 * 16))
    W = layer.params["W"]
    assert W.max() <= limit and W.min() >= -limit and W.max() > 0.9 * limit


def test_explain_writes_one_output_cell_of_a_cnn():
    model = small_cnn("float64")
    model.compile("sgd", "mse")
    cell = mf.explain(model, np.ones((1, 8, 8, 1)), np.zeros((1, 3)))
    assert "Forward of o[0, 0, 0] in conv2d_1 (Conv2D)" in str(cell)
    _, grads = model.gradients(np.ones((1, 8, 8, 1)), np.zeros((1, 3)))
    np.testing.assert_allclose(cell.kernel_gradient, grads[0], rtol=1e-12, atol=1e-15)


def test_shapes_is_a_seeded_image_data_set_a_cnn_learns():
    X, y = mf.datasets.shapes(400, seed=0)
    again, _ = mf.datasets.shapes(400, seed=0)
    np.testing.assert_array_equal(X, again)
    assert X.shape == (400, 16, 16, 1) and np.bincount(y).tolist() == [100] * 4
    model = mf.Sequential(
        [
            Conv2D(8, 3, activation="relu", input_shape=(16, 16, 1)),
            MaxPooling2D(),
            Conv2D(16, 3, activation="relu"),
            GlobalMaxPooling2D(),
            mf.layers.Dense(4),
        ],
        seed=0,
    )
    model.compile(
        mf.optimizers.Adam(3e-3),
        mf.losses.SparseCategoricalCrossEntropy(from_logits=True),
        ["accuracy"],
    )
    model.fit(X[:320], y[:320], epochs=30, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(X[320:], y[320:])
    assert accuracy > 0.9
