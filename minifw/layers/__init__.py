"""Layers: ``mf.layers.Dense``, ``mf.layers.ReLU``, ..."""

from __future__ import annotations

from .activations import (
    ELU,
    GELU,
    Activation,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .normalization import BatchNormalization, LayerNormalization, Normalization
from .reshaping import Flatten

__all__ = [
    "Layer",
    "Dense",
    "Activation",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "ELU",
    "GELU",
    "Softplus",
    "SiLU",
    "Dropout",
    "BatchNormalization",
    "LayerNormalization",
    "Normalization",
    "Flatten",
    "serialize",
    "deserialize",
]

# The allow-list of classes a config may name: nothing else is ever instantiated.
_CLASSES = {
    cls.__name__: cls
    for cls in (
        Dense,
        Linear,
        ReLU,
        LeakyReLU,
        Sigmoid,
        Tanh,
        Softmax,
        ELU,
        GELU,
        Softplus,
        SiLU,
        Dropout,
        BatchNormalization,
        LayerNormalization,
        Normalization,
        Flatten,
    )
}


def serialize(layer: Layer) -> dict:
    """``{"class_name": ..., "config": ...}``, the inverse of :func:`deserialize`."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict) -> Layer:
    """Rebuild a layer from :func:`serialize` output; only minifw's own classes are allowed."""
    class_name = config.get("class_name")
    if class_name not in _CLASSES:
        valid = ", ".join(sorted(_CLASSES))
        raise ValueError(f"Unknown layer type {class_name!r}. Expected one of: {valid}.")
    return _CLASSES[class_name].from_config(config.get("config", {}))
