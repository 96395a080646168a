"""ONNX export: onnxruntime's outputs equal predict, for every layer, on 1 and 7 rows."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw.layers import (
    ELU,
    GELU,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    LayerNormalization,
    LeakyReLU,
    Linear,
    MaxPooling2D,
    Normalization,
    ReLU,
    Reshape,
    Softmax,
    Softplus,
    Tanh,
)

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'minifw[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

TOLERANCE = {"float32": 1e-5, "float64": 1e-9}


def run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": X})[0]


def trained(layers, dtype, rng, input_shape):
    """A model whose statistics and weights are not their initial values."""
    model = mf.Sequential(layers, dtype=dtype, seed=0)
    model.build((None, *input_shape))
    model.compile("adam", "mse")
    X = rng.normal(size=(16, *input_shape))
    targets = rng.uniform(0.1, 0.9, size=(16, *model.output_shape[1:]))  # every output reaches
    model.fit(X, targets, epochs=2, verbose=0)
    return model


DENSE_CASES = {
    "dense": lambda: [Dense(5, input_dim=4)],
    "dense-no-bias": lambda: [Dense(5, input_dim=4, use_bias=False)],
    "relu": lambda: [Dense(5, input_dim=4), ReLU()],
    "leaky-relu": lambda: [Dense(5, input_dim=4), LeakyReLU(0.3)],
    "sigmoid": lambda: [Dense(5, input_dim=4, activation="sigmoid")],
    "tanh": lambda: [Dense(5, input_dim=4), Tanh()],
    "softmax": lambda: [Dense(5, input_dim=4), Softmax()],
    "elu": lambda: [Dense(5, input_dim=4), ELU(0.7)],
    "gelu-tanh": lambda: [Dense(5, input_dim=4), GELU(approximate=True)],
    "softplus": lambda: [Dense(5, input_dim=4), Softplus()],
    "silu": lambda: [Dense(5, input_dim=4, activation="silu")],
    "linear-dropout": lambda: [Dense(5, input_dim=4), Linear(), Dropout(0.5)],
    "batch-norm": lambda: [Dense(5, input_dim=4), BatchNormalization()],
    "layer-norm": lambda: [Dense(5, input_dim=4), LayerNormalization()],
    "normalization": lambda: [
        Normalization(mean=[0.5, -1, 2, 0], variance=[4, 1, 0.25, 0]),
        Dense(3),
    ],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(DENSE_CASES))
def test_every_layer_runs_in_onnxruntime_as_predict(case, dtype, rng, tmp_path):
    model = trained(DENSE_CASES[case](), dtype, rng, (4,))
    path = tmp_path / "model.onnx"
    model.export(path)
    for rows in (1, 7):
        X = rng.normal(size=(rows, 4)).astype(dtype) * 3
        ours = run(path, X)
        assert ours.dtype == np.dtype(dtype) and ours.shape == (rows, *model.output_shape[1:])
        np.testing.assert_allclose(
            ours, model.predict(X), rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype]
        )


def test_exact_gelu_runs_in_float32_and_is_refused_in_float64(rng, tmp_path):
    model = trained([Dense(5, input_dim=4), GELU()], "float32", rng, (4,))
    for opset in (17, 20):  # the formula with Erf, then the native Gelu
        path = tmp_path / f"gelu{opset}.onnx"
        model.export(path, opset=opset)
        X = rng.normal(size=(7, 4)).astype(np.float32)
        np.testing.assert_allclose(run(path, X), model.predict(X), rtol=1e-5, atol=1e-6)
    double = trained([Dense(5, input_dim=4), GELU()], "float64", rng, (4,))
    with pytest.raises(ValueError, match=r"gelu_1 \(GELU\) needs a float64 kernel"):
        double.export(tmp_path / "no.onnx")
    assert not (tmp_path / "no.onnx").exists()


def cnn_layers():
    return [
        Conv2D(4, 3, padding="same", activation="relu", input_shape=(9, 8, 2)),
        MaxPooling2D(2),
        Conv2D(5, (2, 3), strides=2, padding="same", dilation_rate=1),
        AveragePooling2D(3, strides=1, padding="same"),
        Reshape((-1, 5)),
        Reshape((2, 2, 5)),
        GlobalMaxPooling2D(),
        Dense(3, activation="softmax"),
    ]


def test_a_cnn_runs_in_onnxruntime_as_predict(rng, tmp_path):
    model = trained(cnn_layers(), "float32", rng, (9, 8, 2))
    path = tmp_path / "cnn.onnx"
    model.export(path)
    for rows in (1, 7):
        X = rng.normal(size=(rows, 9, 8, 2)).astype(np.float32)
        np.testing.assert_allclose(run(path, X), model.predict(X), rtol=1e-5, atol=1e-6)


def test_global_average_pooling_and_flatten_run_in_float64(rng, tmp_path):
    model = trained(
        [MaxPooling2D(2), GlobalAveragePooling2D(), Dense(2)],
        "float64",
        rng,
        (6, 6, 3),
    )
    flat = trained([Flatten(input_shape=(6, 6, 3)), Dense(2)], "float64", rng, (6, 6, 3))
    for m in (model, flat):
        path = tmp_path / "m.onnx"
        m.export(path)
        X = rng.normal(size=(7, 6, 6, 3))
        np.testing.assert_allclose(run(path, X), m.predict(X), rtol=1e-9, atol=1e-12)


def test_a_float64_convolution_is_refused_naming_the_layer(rng, tmp_path):
    model = mf.Sequential([Conv2D(2, 3, input_shape=(5, 5, 1)), Flatten()], dtype="float64")
    with pytest.raises(ValueError, match=r"conv2d_1 \(Conv2D\) needs a float64 kernel"):
        model.export(tmp_path / "conv.onnx")
    assert list(tmp_path.iterdir()) == []


def test_the_file_is_checked_named_and_has_a_dynamic_batch(rng, tmp_path):
    model = trained(DENSE_CASES["softmax"](), "float32", rng, (4,))
    path = tmp_path / "model.onnx"
    model.export(path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    graph = proto.graph
    assert [i.name for i in graph.input] == ["input"] and [o.name for o in graph.output] == [
        "output"
    ]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.opset_import[0].version == 17
    assert {p.key: p.value for p in proto.metadata_props}["minifw_version"] == mf.__version__
    assert proto.producer_name == "minifw"
    softmax = [node for node in graph.node if node.op_type == "Softmax"]
    assert softmax[0].attribute[0].name == "axis" and softmax[0].attribute[0].i == -1


def test_a_fused_output_is_exported_applied(rng, tmp_path):
    model = mf.Sequential([Dense(3, input_dim=4, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")  # trained on the logits
    model.fit(rng.normal(size=(12, 4)), rng.integers(0, 3, 12), epochs=2, verbose=0)
    path = tmp_path / "fused.onnx"
    model.export(path)
    out = run(path, rng.normal(size=(5, 4)).astype(np.float32))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)  # probabilities, not logits


def test_bad_calls_are_refused_and_write_nothing(rng, tmp_path):
    model = trained(DENSE_CASES["relu"](), "float32", rng, (4,))
    with pytest.raises(ValueError, match="unknown format 'tflite'"):
        model.export(tmp_path / "m.tflite", format="tflite")
    with pytest.raises(ValueError, match="`opset` must be an integer from 13 to 23"):
        model.export(tmp_path / "m.onnx", opset=9)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.export(tmp_path / "missing" / "m.onnx")

    class Custom(mf.layers.Layer):
        def forward(self, x, training=False):
            return x

    custom = mf.Sequential([Dense(2, input_dim=3), Custom()])
    with pytest.raises(ValueError, match=r"custom_1 \(Custom\) has no ONNX converter"):
        custom.export(tmp_path / "custom.onnx")
    with pytest.raises(mf.errors.NotBuiltError):
        mf.Sequential([Dense(2)]).export(tmp_path / "unbuilt.onnx")
    assert list(tmp_path.iterdir()) == []


def test_an_activation_inside_a_dense_layer_is_named_by_its_layer(rng, tmp_path):
    double = trained([Dense(5, input_dim=4, activation="gelu")], "float64", rng, (4,))
    with pytest.raises(ValueError, match=r"the activation of dense_1 \(GELU\) needs a float64"):
        double.export(tmp_path / "no.onnx")
    assert not (tmp_path / "no.onnx").exists()


# -- sequences -----------------------------------------------------------------------

SEQUENCE_CASES = {
    "embedding-lstm-gru": lambda: [
        mf.layers.Embedding(12, 4, input_length=6),
        mf.layers.LSTM(5, return_sequences=True),
        mf.layers.GRU(3, go_backwards=True),
        Dense(2),
    ],
    "rnn-backwards-sequences": lambda: [
        mf.layers.SimpleRNN(
            4, "relu", input_shape=(6, 3), go_backwards=True, return_sequences=True
        ),
        mf.layers.LSTM(3, go_backwards=True, return_sequences=True),
    ],
    "dense-on-sequences": lambda: [
        Dense(4, input_shape=(6, 3), activation="tanh"),
        mf.layers.GRU(5, return_sequences=True),
        Dense(2, activation="softmax"),
    ],
}


def sequence_input(model, n, steps, rng):
    if isinstance(model.layers[0], mf.layers.Embedding):
        return rng.integers(0, 12, size=(n, steps)).astype(np.float32)
    return rng.normal(size=(n, steps, 3)).astype(np.float32)


def without_length(layer):
    """The same layer for sequences of any length (its declared input shape dropped)."""
    config = {key: value for key, value in layer.get_config().items() if key != "input_shape"}
    return type(layer).from_config(config)


@pytest.mark.parametrize("case", sorted(SEQUENCE_CASES))
def test_recurrent_layers_export_and_run_on_other_batch_sizes_and_lengths(case, tmp_path, rng):
    model = mf.Sequential(SEQUENCE_CASES[case](), dtype="float32", seed=0)
    model.build()
    for layer in model.layers:  # weights far from their starting values
        for value in layer.params.values():
            value[...] = rng.normal(size=value.shape) * 0.5
    model.export(tmp_path / "m.onnx")
    for n in (1, 7):
        X = sequence_input(model, n, 6, rng)
        np.testing.assert_allclose(run(tmp_path / "m.onnx", X), model.predict(X), atol=1e-5)
    longer = mf.Sequential([without_length(layer) for layer in model.layers], dtype="float32")
    X = sequence_input(model, 3, 9, rng)  # nine steps where the model was built for six
    longer.build((None, *X.shape[1:]))
    longer.set_weights(model.get_weights())
    np.testing.assert_allclose(run(tmp_path / "m.onnx", X), longer.predict(X), atol=1e-5)


def test_recurrent_export_refuses_float64_and_activations_onnx_lacks(tmp_path):
    model = mf.Sequential([mf.layers.GRU(3, input_shape=(4, 2)), Dense(1)], dtype="float64")
    with pytest.raises(ValueError, match="GRU.*float64"):
        model.export(tmp_path / "m.onnx")
    elu = mf.Sequential([mf.layers.SimpleRNN(3, "elu", input_shape=(4, 2))], dtype="float32")
    with pytest.raises(ValueError, match="ELU"):
        elu.export(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
