"""Layers: ``mf.layers.Dense``, ``mf.layers.ReLU``, ...

Each layer class is registered where it is defined (``@register``): the
registry ``LAYERS`` is the allow-list of classes a model file may name (a test
checks that it and ``__all__`` list the same layers).
"""

from __future__ import annotations

from .activations import (
    ELU,
    GELU,
    Activation,
    Exponential,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .base import LAYERS, Layer, Step, Weight, register
from .convolution import Conv2D
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .kernel import KernelLayer
from .normalization import BatchNormalization, LayerNormalization, Normalization
from .pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from .recurrent import GRU, LSTM, Recurrent, SimpleRNN
from .reshaping import Flatten, Reshape

__all__ = [
    "Layer",
    "Step",
    "Weight",
    "KernelLayer",
    "LAYERS",
    "register",
    "Dense",
    "Activation",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "ELU",
    "Exponential",
    "GELU",
    "Softplus",
    "SiLU",
    "Dropout",
    "BatchNormalization",
    "LayerNormalization",
    "Normalization",
    "Flatten",
    "Reshape",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Embedding",
    "Recurrent",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "serialize",
    "deserialize",
]


def serialize(layer: Layer) -> dict:
    """``{"class_name": ..., "config": ...}``, the inverse of :func:`deserialize`."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict) -> Layer:
    """Rebuild a layer from :func:`serialize` output; only registered classes are allowed."""
    if not isinstance(config, dict):
        raise ValueError(f"A layer config must be a dict. Received: {config!r}")
    return LAYERS.get(config, base=Layer, kind="layer")
