"""ONNX export: ``model.export(path, format="onnx")``.

One graph input ``"input"`` and one output ``"output"``, the batch dimension
(and a sequence model's time dimension) dynamic, the model's dtype; its outputs
are ``model.predict``'s (a Sigmoid or Softmax output applied, never the raw
logits). Each layer class has a converter
(``CONVERTERS``) that appends nodes to a ``Graph``; a model with a layer that has
none is refused, naming it, before any file is written.

Choices (see docs/export.md):

- default opset 17 (onnxruntime 1.32 runs 7 … 23); Softmax is refused below 13,
  where its axis meant something else;
- every attribute is written, never left to ONNX's defaults (LeakyRelu's alpha is
  0.01 there, 0.3 in minifw); layers whose constants ONNX keeps as 32-bit
  attributes (epsilon, alpha) are written as formulas with the constants as
  tensors of the model's dtype, so a float64 file equals ``predict`` to float64
  round-off: BatchNormalization and Normalization folded to x · scale + shift,
  LayerNormalization, ELU, Softplus, GELU (below opset 20, or in float64) as their
  formulas;
- float64: onnxruntime 1.32 has no float64 kernel for Conv, AveragePool or Erf, so
  a float64 model with Conv2D, AveragePooling2D or exact GELU is refused with an
  error naming the layer (export a float32 copy: ``model.copy(dtype="float32")``);
- images stay channels-last outside: Conv and MaxPool/AveragePool run between two
  Transposes, with Keras's asymmetric "same" padding written as explicit pads;
- sequences stay batch-major outside: SimpleRNN, LSTM and GRU become ONNX's RNN,
  LSTM and GRU between two Transposes (time-major inside), their gates reordered as
  ONNX wants them (LSTM i, o, f, c; the GRU's z, r, h already are, with
  ``linear_before_reset=1`` for Keras's ``reset_after=True``); ``go_backwards``
  reverses the sequence first (ONNX's "reverse" direction would put the outputs
  back in the input's order, Keras keeps them in processing order); Embedding is a
  Gather of the table by the ids cast to int64. onnxruntime 1.32 has no float64
  kernel for RNN, LSTM or GRU: a float64 model with one is refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..layers import (
    ELU,
    GELU,
    GRU,
    LSTM,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
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
    Sigmoid,
    SiLU,
    SimpleRNN,
    Softmax,
    Softplus,
    Tanh,
)
from ..version import __version__

DEFAULT_OPSET = 17
MIN_OPSET = 13


def _onnx():
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise ImportError(
            "ONNX export needs the onnx package: pip install 'minifw[onnx]' (or pip install onnx)."
        ) from None
    return onnx, helper


class Graph:
    """Nodes and constants under construction, in the model's dtype."""

    def __init__(self, dtype: np.dtype, opset: int, prefix: str = "") -> None:
        self.onnx, self.helper = _onnx()
        self.dtype, self.opset, self.prefix = dtype, opset, prefix
        self.element = (
            self.onnx.TensorProto.DOUBLE if dtype == np.float64 else (self.onnx.TensorProto.FLOAT)
        )
        self.nodes, self.initializers, self._count = [], [], 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{self.prefix}{stem}_{self._count}"

    def constant(self, value, stem: str = "c", dtype=None) -> str:
        """A constant tensor (an initializer) in the model's dtype, or ``dtype``."""
        array = np.asarray(value, dtype=dtype or self.dtype)
        name = self.name(stem)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, *inputs: str, **attributes) -> str:
        """Append one node; returns its output's name."""
        output = self.name(kind.lower())
        self.nodes.append(self.helper.make_node(kind, list(inputs), [output], **attributes))
        return output

    def reduce(self, kind: str, x: str, axes: list[int]) -> str:
        """ReduceMean/ReduceMax over ``axes``, keeping dims (axes an input from opset 18)."""
        if self.opset >= 18:
            return self.op(kind, x, self.constant(axes, "axes", np.int64), keepdims=1)
        return self.op(kind, x, axes=axes, keepdims=1)

    def nchw(self, x: str) -> str:
        return self.op("Transpose", x, perm=[0, 3, 1, 2])

    def nhwc(self, x: str) -> str:
        return self.op("Transpose", x, perm=[0, 2, 3, 1])


Converter = Callable[[object, Graph, str], str]
CONVERTERS: dict[type, Converter] = {}


def converts(*classes: type) -> Callable[[Converter], Converter]:
    """Register a converter for the layer classes (exact classes: a subclass may compute
    something else, and is refused unless it registers its own)."""

    def add(function: Converter) -> Converter:
        for cls in classes:
            CONVERTERS[cls] = function
        return function

    return add


def export_onnx(model, path: str | os.PathLike, opset: int | None = None) -> None:
    """Write ``model`` as an ONNX file at ``path`` (see the module docstring)."""
    opset = DEFAULT_OPSET if opset is None else opset
    if not isinstance(opset, int) or isinstance(opset, bool) or not MIN_OPSET <= opset <= 23:
        raise ValueError(
            f"export: `opset` must be an integer from {MIN_OPSET} to 23. Received: {opset!r}"
        )
    input_shape = model.input_shape  # builds the model if it can; NotBuiltError if not
    folder = Path(path).parent
    if not folder.is_dir():
        raise FileNotFoundError(f"export: the folder {str(folder)!r} does not exist.")
    graph = Graph(model.dtype, opset)
    x = network(model, graph, "input")
    graph.nodes.append(graph.helper.make_node("Identity", [x], ["output"]))
    shape = ["batch", *input_shape[1:]]
    out_shape = ["batch", *model.output_shape[1:]]
    if len(shape) == 3 or (model.layers and isinstance(model.layers[0], Embedding)):
        shape[1] = "time"  # sequences of any length
        if len(out_shape) == 3:
            out_shape[1] = "time"
    onnx, helper = graph.onnx, graph.helper
    proto = helper.make_model(
        helper.make_graph(
            graph.nodes,
            model.name,
            [helper.make_tensor_value_info("input", graph.element, shape)],
            [helper.make_tensor_value_info("output", graph.element, out_shape)],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="minifw",
        producer_version=__version__,
    )
    helper.set_model_props(proto, {"minifw_version": __version__, "dtype": model.dtype.name})
    proto.ir_version = min(proto.ir_version, 9)  # what onnxruntime 1.32 reads
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    write_atomically(path, lambda file: file.write(data))


def network(model, graph: Graph, x: str) -> str:
    """Append the nodes of ``model``'s layers to ``graph``, from the tensor ``x``; returns the
    name of the output (``predict``'s). Every layer is checked for a converter first."""
    for layer in model.layers:  # refuse before anything is built or written
        _converter(layer, graph.dtype)
    for layer in model.layers:
        x = _converter(layer, graph.dtype)(layer, graph, x)
    return x


def _converter(layer, dtype: np.dtype, label: str | None = None) -> Converter:
    """The layer's converter, or ValueError naming it (``label``: the name to give, for an
    activation held by a Dense or Conv2D layer)."""
    label = label or layer.name
    converter = CONVERTERS.get(type(layer))
    if converter is None:
        raise ValueError(
            f"export: {label} ({type(layer).__name__}) has no ONNX converter; nothing was written."
        )
    inner = getattr(layer, "activation", None)
    if inner is not None:
        _converter(inner, dtype, f"the activation of {layer.name}")
    if dtype == np.float64 and (
        isinstance(layer, (Conv2D, AveragePooling2D, SimpleRNN, LSTM, GRU))
        or (isinstance(layer, GELU) and not layer.approximate)
    ):
        raise ValueError(
            f"export: {label} ({type(layer).__name__}) needs a float64 kernel that "
            "onnxruntime does not have; nothing was written. Export a float32 copy: "
            "model.copy(dtype='float32').export(path)."
        )
    return converter


def _activation(layer, graph: Graph, x: str) -> str:
    inner = getattr(layer, "activation", None)
    return x if inner is None else CONVERTERS[type(inner)](inner, graph, x)


@converts(Dense)
def _dense(layer: Dense, graph: Graph, x: str) -> str:
    weights = graph.constant(layer.params["W"], "W")
    if len(layer.input_shape) > 2:  # a sequence: MatMul on the last axis (Gemm is 2-D only)
        y = graph.op("MatMul", x, weights)
        if layer.use_bias:
            y = graph.op("Add", y, graph.constant(layer.params["b"], "b"))
    elif layer.use_bias:
        y = graph.op(
            "Gemm",
            x,
            weights,
            graph.constant(layer.params["b"], "b"),
            alpha=1.0,
            beta=1.0,
            transA=0,
            transB=0,
        )
    else:
        y = graph.op("MatMul", x, weights)
    return _activation(layer, graph, y)


@converts(Linear, Dropout)
def _identity(layer, graph: Graph, x: str) -> str:
    return graph.op("Identity", x)


@converts(ReLU)
def _relu(layer, graph: Graph, x: str) -> str:
    return graph.op("Relu", x)


@converts(Sigmoid)
def _sigmoid(layer, graph: Graph, x: str) -> str:
    return graph.op("Sigmoid", x)


@converts(Tanh)
def _tanh(layer, graph: Graph, x: str) -> str:
    return graph.op("Tanh", x)


@converts(Softmax)
def _softmax(layer, graph: Graph, x: str) -> str:
    return graph.op("Softmax", x, axis=-1)


@converts(SiLU)
def _silu(layer, graph: Graph, x: str) -> str:
    return graph.op("Mul", x, graph.op("Sigmoid", x))


def _positive(graph: Graph, x: str) -> str:
    return graph.op("Greater", x, graph.constant(0.0, "zero"))


@converts(LeakyReLU)
def _leaky_relu(layer: LeakyReLU, graph: Graph, x: str) -> str:
    scaled = graph.op("Mul", x, graph.constant(layer.alpha, "alpha"))
    return graph.op("Where", _positive(graph, x), x, scaled)


@converts(ELU)
def _elu(layer: ELU, graph: Graph, x: str) -> str:
    exp_minus_one = graph.op("Sub", graph.op("Exp", x), graph.constant(1.0, "one"))
    negative = graph.op("Mul", exp_minus_one, graph.constant(layer.alpha, "alpha"))
    return graph.op("Where", _positive(graph, x), x, negative)


@converts(Softplus)
def _softplus(layer, graph: Graph, x: str) -> str:
    """max(x, 0) + log(1 + e^(−|x|)): finite for any x."""
    tail = graph.op("Exp", graph.op("Neg", graph.op("Abs", x)))
    logged = graph.op("Log", graph.op("Add", tail, graph.constant(1.0, "one")))
    return graph.op("Add", graph.op("Relu", x), logged)


@converts(GELU)
def _gelu(layer: GELU, graph: Graph, x: str) -> str:
    if graph.opset >= 20 and graph.dtype == np.float32:
        return graph.op("Gelu", x, approximate="tanh" if layer.approximate else "none")
    half_x = graph.op("Mul", x, graph.constant(0.5, "half"))
    if layer.approximate:  # ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))
        cube = graph.op("Mul", x, graph.op("Mul", x, x))
        inner = graph.op("Add", x, graph.op("Mul", cube, graph.constant(0.044715, "k")))
        t = graph.op("Tanh", graph.op("Mul", inner, graph.constant(math.sqrt(2 / math.pi), "s")))
    else:  # ½ x (1 + erf(x / √2))
        t = graph.op("Erf", graph.op("Mul", x, graph.constant(1 / math.sqrt(2), "s")))
    return graph.op("Mul", half_x, graph.op("Add", t, graph.constant(1.0, "one")))


def _scale_shift(graph: Graph, x: str, scale: np.ndarray, shift: np.ndarray) -> str:
    return graph.op(
        "Add", graph.op("Mul", x, graph.constant(scale, "scale")), graph.constant(shift, "shift")
    )


@converts(BatchNormalization)
def _batch_normalization(layer: BatchNormalization, graph: Graph, x: str) -> str:
    """Inference: γ (x − moving_mean) / √(moving_variance + ε) + β = x · scale + shift."""
    inv_std = 1.0 / np.sqrt(layer.state["moving_variance"].astype(np.float64) + layer.epsilon)
    gamma = layer.params["gamma"] if layer.scale else 1.0
    beta = layer.params["beta"] if layer.center else 0.0
    scale = gamma * inv_std
    return _scale_shift(graph, x, scale, beta - layer.state["moving_mean"] * scale)


@converts(Normalization)
def _normalization(layer: Normalization, graph: Graph, x: str) -> str:
    std = np.maximum(np.sqrt(layer.state["variance"].astype(np.float64)), 1e-7)
    return graph.op(
        "Div",
        graph.op("Sub", x, graph.constant(layer.state["mean"], "mean")),
        graph.constant(std, "std"),
    )


@converts(LayerNormalization)
def _layer_normalization(layer: LayerNormalization, graph: Graph, x: str) -> str:
    """γ (x − μ) / √(σ² + ε) + β over the last axis, as formulas (ε a tensor)."""
    centered = graph.op("Sub", x, graph.reduce("ReduceMean", x, [-1]))
    variance = graph.reduce("ReduceMean", graph.op("Mul", centered, centered), [-1])
    std = graph.op("Sqrt", graph.op("Add", variance, graph.constant(layer.epsilon, "epsilon")))
    y = graph.op("Div", centered, std)
    if layer.scale:
        y = graph.op("Mul", y, graph.constant(layer.params["gamma"], "gamma"))
    if layer.center:
        y = graph.op("Add", y, graph.constant(layer.params["beta"], "beta"))
    return y


@converts(Embedding)
def _embedding(layer: Embedding, graph: Graph, x: str) -> str:
    if layer.mask_zero:
        raise ValueError(
            f"export: {layer.name} (Embedding) has mask_zero=True; ONNX's recurrent operators "
            "take sequence lengths, not masks, so the export would differ from the model."
        )
    ids = graph.op("Cast", x, to=graph.onnx.TensorProto.INT64)
    return graph.op("Gather", graph.constant(layer.params["embeddings"], "embeddings"), ids, axis=0)


#: minifw's activations by the names ONNX's recurrent operators give them.
_RECURRENT_ACTIVATIONS = {Sigmoid: "Sigmoid", Tanh: "Tanh", ReLU: "Relu"}

#: ONNX's gate order, as blocks of Keras's: LSTM i, o, f, c from Keras's i, f, c, o.
_GATE_ORDER = {SimpleRNN: [0], LSTM: [0, 3, 1, 2], GRU: [0, 1, 2]}


def _recurrent_activation_names(layer) -> list[str]:
    acts = (
        [layer.activation]
        if isinstance(layer, SimpleRNN)
        else [layer.recurrent_activation, layer.activation, layer.activation][
            : 2 if isinstance(layer, GRU) else 3
        ]
    )
    names = [_RECURRENT_ACTIVATIONS.get(type(act)) for act in acts]
    if None in names:
        raise ValueError(
            f"export: {layer.name} ({type(layer).__name__}) uses an activation ONNX's "
            f"recurrent operators do not have ({', '.join(type(a).__name__ for a in acts)}: "
            "sigmoid, tanh and relu are exported); nothing was written."
        )
    return names


@converts(SimpleRNN, LSTM, GRU)
def _recurrent(layer, graph: Graph, x: str) -> str:
    units = layer.units
    blocks = [np.arange(k * units, (k + 1) * units) for k in _GATE_ORDER[type(layer)]]
    order = np.concatenate(blocks)
    W, U, b = layer.params["W"], layer.params["U"], layer.params["b"]
    input_bias, recurrent_bias = (b[0], b[1]) if isinstance(layer, GRU) else (b, np.zeros_like(b))
    weights = graph.constant(W[:, order].T[None], "W")
    recurrent = graph.constant(U[:, order].T[None], "R")
    bias = graph.constant(np.concatenate([input_bias[order], recurrent_bias[order]])[None], "B")
    sequence = graph.op("Transpose", x, perm=[1, 0, 2])  # (T, n, features)
    if layer.go_backwards:  # processed from the end, outputs kept in that order (Keras)
        sequence = graph.op(
            "Slice", sequence,
            graph.constant([-1], "start", np.int64),
            graph.constant([np.iinfo(np.int64).min], "end", np.int64),  # any length
            graph.constant([0], "axis", np.int64),
            graph.constant([-1], "step", np.int64),
        )  # fmt: skip
    kind = {SimpleRNN: "RNN", LSTM: "LSTM", GRU: "GRU"}[type(layer)]
    extra = {"linear_before_reset": 1} if isinstance(layer, GRU) else {}
    output, last = graph.name(kind.lower()), graph.name("last")
    outputs = [output, last] + ([graph.name("cell")] if isinstance(layer, LSTM) else [])
    graph.nodes.append(
        graph.helper.make_node(
            kind, [sequence, weights, recurrent, bias], outputs,
            hidden_size=units, activations=_recurrent_activation_names(layer),
            direction="forward", **extra,
        )
    )  # fmt: skip
    if layer.return_sequences:  # Y (T, 1, n, units) → (n, T, units)
        squeezed = graph.op("Squeeze", output, graph.constant([1], "axes", np.int64))
        return graph.op("Transpose", squeezed, perm=[1, 0, 2])
    return graph.op("Squeeze", last, graph.constant([0], "axes", np.int64))  # Y_h (1, n, units)


@converts(Flatten)
def _flatten(layer, graph: Graph, x: str) -> str:
    return graph.op("Flatten", x, axis=1)


@converts(Reshape)
def _reshape(layer: Reshape, graph: Graph, x: str) -> str:
    shape = graph.constant([0, *layer.output_shape[1:]], "shape", np.int64)
    return graph.op("Reshape", x, shape)


def _pads(windows) -> list[int]:
    (top, bottom), (left, right) = windows.pads
    return [top, left, bottom, right]


@converts(Conv2D)
def _conv2d(layer: Conv2D, graph: Graph, x: str) -> str:
    windows = layer.windows
    inputs = [graph.nchw(x), graph.constant(layer.params["W"].transpose(3, 2, 0, 1), "W")]
    if layer.use_bias:
        inputs.append(graph.constant(layer.params["b"], "b"))
    y = graph.op(
        "Conv",
        *inputs,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        pads=_pads(windows),
        group=1,
    )
    return _activation(layer, graph, graph.nhwc(y))


@converts(MaxPooling2D, AveragePooling2D)
def _pooling(layer, graph: Graph, x: str) -> str:
    windows = layer.windows
    attributes = dict(
        kernel_shape=list(layer.pool_size), strides=list(layer.strides), pads=_pads(windows)
    )
    if isinstance(layer, AveragePooling2D):
        y = graph.op("AveragePool", graph.nchw(x), count_include_pad=0, **attributes)
    else:
        y = graph.op("MaxPool", graph.nchw(x), **attributes)
    return graph.nhwc(y)


@converts(GlobalAveragePooling2D)
def _global_average(layer, graph: Graph, x: str) -> str:
    return graph.op("Flatten", graph.reduce("ReduceMean", x, [1, 2]), axis=1)


@converts(GlobalMaxPooling2D)
def _global_max(layer, graph: Graph, x: str) -> str:
    return graph.op("Flatten", graph.reduce("ReduceMax", x, [1, 2]), axis=1)
