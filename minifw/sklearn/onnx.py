"""Whole pipelines to ONNX: skl2onnx converters for ``MLPClassifier`` and ``MLPRegressor``.

Importing ``minifw.sklearn`` registers them when skl2onnx is installed (extra
``minifw[onnx]``), so ``skl2onnx.to_onnx(pipeline, X[:1])`` turns a Pipeline of
scikit-learn's preprocessing and a minifw estimator into one ONNX file.

- The network is written by minifw's own exporter (``minifw.export.onnx.network``):
  the same converters as ``model.export``, named apart inside the pipeline's graph.
- Its input is cast to the estimator's dtype, its outputs to the pipeline's (float32
  or float64, as skl2onnx chose from the data).
- A classifier's outputs are skl2onnx's: the label (the class of the highest
  probability, taken from ``classes_``: strings or integers) and the probabilities,
  columns in ``classes_`` order (binary: 1 − p and p), with skl2onnx's ZipMap unless
  ``options={"zipmap": False}`` (its ZipMap takes only float32). Multilabel
  classifiers are refused. A regressor's output is ``predict``'s, (n, outputs).
"""

from __future__ import annotations

import numpy as np

from ..export.onnx import Graph, network
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["register"]

# The lowest opset whose operators minifw's exporter writes (Softmax over an axis).
_MIN_OPSET = 13


def register() -> bool:
    """Register the converters with skl2onnx; False when skl2onnx is not installed."""
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )
    except ImportError:
        return False
    update_registered_converter(
        MLPClassifier,
        "MinifwMLPClassifier",
        calculate_linear_classifier_output_shapes,
        _convert_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
    update_registered_converter(
        MLPRegressor,
        "MinifwMLPRegressor",
        calculate_linear_regressor_output_shapes,
        _convert_regressor,
    )
    return True


def _network(scope, operator, container) -> tuple[Graph, str]:
    """The estimator's network appended to ``container``, from the operator's input; returns
    the graph (for its helpers) and the name of the network's output, in the input's
    element type."""
    import onnx

    estimator = operator.raw_operator
    model = estimator.model_
    opset = min(container.target_opset, 23)
    if opset < _MIN_OPSET:
        raise RuntimeError(
            f"minifw's ONNX converters need opset {_MIN_OPSET} or newer; skl2onnx was asked "
            f"for {container.target_opset}."
        )
    graph = Graph(model.dtype, opset, prefix=scope.get_unique_variable_name("minifw_") + "_")
    source = operator.inputs[0]
    double = "Double" in type(source.type).__name__
    given = onnx.TensorProto.DOUBLE if double else onnx.TensorProto.FLOAT
    x = source.full_name
    if given != graph.element:
        x = graph.op("Cast", x, to=graph.element)
    out = network(model, graph, x)
    return graph, out, given


def _emit(graph: Graph, scope, container) -> None:
    """Copy the graph's nodes and constants into the skl2onnx container."""
    from onnx import helper, numpy_helper

    for tensor in graph.initializers:
        array = numpy_helper.to_array(tensor)
        shape, values = list(array.shape), array.ravel().tolist()
        container.add_initializer(tensor.name, tensor.data_type, shape, values)
    for node in graph.nodes:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(
            node.op_type,
            list(node.input),
            list(node.output),
            name=scope.get_unique_operator_name(node.op_type),
            **attributes,
        )


def _convert_classifier(scope, operator, container) -> None:
    import onnx

    estimator = operator.raw_operator
    if estimator.out_activation_ == "logistic" and estimator.n_outputs_ > 1:
        raise NotImplementedError(
            "minifw's skl2onnx converter does not convert a multilabel MLPClassifier."
        )
    graph, probabilities, given = _network(scope, operator, container)
    if estimator.out_activation_ == "logistic":  # binary: one sigmoid column → [1 − p, p]
        one = graph.constant([[1.0]], "one")
        complement = graph.op("Sub", one, probabilities)
        probabilities = graph.op("Concat", complement, probabilities, axis=1)
    if graph.element != given:
        probabilities = graph.op("Cast", probabilities, to=given)
    best = graph.op("ArgMax", probabilities, axis=1, keepdims=0)
    classes = np.asarray(estimator.classes_)
    if classes.dtype.kind in "iub":
        table = graph.constant(classes.astype(np.int64), "classes", np.int64)
    else:
        table = graph.name("classes")
        graph.initializers.append(
            onnx.helper.make_tensor(
                table, onnx.TensorProto.STRING, [len(classes)], [str(c).encode() for c in classes]
            )
        )
    _emit(graph, scope, container)
    picked = scope.get_unique_variable_name("minifw_label")
    container.add_node(
        "ArrayFeatureExtractor",
        [table, best],
        [picked],
        op_domain="ai.onnx.ml",
        name=scope.get_unique_operator_name("ArrayFeatureExtractor"),
    )
    shape = scope.get_unique_variable_name("minifw_shape")
    container.add_initializer(shape, onnx.TensorProto.INT64, [1], [-1])
    container.add_node(
        "Reshape",
        [picked, shape],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Reshape"),
    )
    container.add_node(
        "Identity",
        [probabilities],
        [operator.outputs[1].full_name],
        name=scope.get_unique_operator_name("Identity"),
    )


def _convert_regressor(scope, operator, container) -> None:
    graph, out, given = _network(scope, operator, container)
    if graph.element != given:
        out = graph.op("Cast", out, to=given)
    _emit(graph, scope, container)
    name = scope.get_unique_operator_name("Identity")
    container.add_node("Identity", [out], [operator.outputs[0].full_name], name=name)
