"""ParameterStore: every array of a built model in three flat vectors.

A model's trainable parameters live in one vector, their gradients in a
second and the non-trainable arrays (moving statistics) in a third; each
layer's ``params``, ``grads`` and ``state`` entries are views into them. An
optimizer then updates the whole model with a few whole-vector operations,
and a copy, a snapshot or a gradient reduction is one array operation.

A layer's arrays can live in one store only, so a layer belongs to one model:
adding it to a second is refused (:func:`refuse_if_owned`).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .layers.base import Layer
from .validation import as_numeric_array

__all__ = ["ParameterStore", "Slot", "claim", "refuse_if_owned"]

# Which model owns each layer that was added to one (weakly: a collected model frees it).
_OWNERS: weakref.WeakKeyDictionary[Layer, weakref.ref] = weakref.WeakKeyDictionary()


def refuse_if_owned(layer: Layer, model: object) -> None:
    """Raise ValueError if a live model other than ``model`` holds ``layer``.

    Its weights would be views into two models' vectors at once, and the model
    built first would go on training arrays its layers no longer read.
    """
    owner = _OWNERS.get(layer)
    current = owner() if owner is not None else None
    if current is not None and current is not model:
        raise ValueError(
            f"{layer.name or repr(layer)} already belongs to another model "
            f"({getattr(current, 'name', type(current).__name__)!r}); a layer's weights live "
            "in one model. Create a new layer (e.g. type(layer).from_config(layer.get_config())) "
            "or copy the whole model with model.copy()."
        )


def claim(layer: Layer, model: object) -> None:
    """Record ``model`` as the owner of ``layer`` (refused if another live model holds it)."""
    refuse_if_owned(layer, model)
    _OWNERS[layer] = weakref.ref(model)


@dataclass(frozen=True)
class Slot:
    """One array of the model: ``getattr(layer, kind)[key]``, kind "params" or "state".

    ``trainable``: a parameter of a layer that is not frozen (the optimizer updates it).
    """

    layer: Layer
    kind: str
    key: str
    trainable: bool

    @property
    def name(self) -> str:
        return f"{self.layer.name}/{self.key}"

    @property
    def array(self) -> np.ndarray:
        return getattr(self.layer, self.kind)[self.key]


class ParameterStore:
    """The flat ``params``, ``grads`` and ``state`` vectors of a model's built layers.

    Building the store moves every array of ``layers`` into the vectors (values
    kept) and rebinds the layers' dict entries to views of them.

    Attributes
    ----------
    slots : list of Slot
        Every array in ``get_weights`` order: each layer's trainable parameters,
        then its non-trainable state (Keras's order, e.g. gamma, beta,
        moving_mean, moving_variance).
    params, grads, state : ndarray
        The flat vectors.
    slices : list of slice
        Where each trainable array sits in ``params`` and ``grads`` (for
        per-array gradient clipping).
    """

    def __init__(self, layers: Sequence[Layer], dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)
        #: Each layer's ``trainable`` flag when the store was made (a change means a new store).
        self.trainable = tuple(layer.trainable for layer in layers)
        self.slots = [
            Slot(layer, kind, key, kind == "params" and layer.trainable)
            for layer in layers
            for kind in ("params", "state")
            for key in getattr(layer, kind)
        ]
        trainable = [slot for slot in self.slots if slot.trainable]
        fixed = [slot for slot in self.slots if not slot.trainable]
        self.params, self.slices = self._flatten(trainable, "params")
        self.grads, _ = self._flatten(trainable, "grads")
        # a frozen layer's parameters are non-trainable state, and its gradients scratch
        self.state, _ = self._flatten(fixed, None)
        frozen = [slot for slot in fixed if slot.kind == "params"]
        self.frozen_grads, _ = self._flatten(frozen, "grads")

    def _flatten(self, slots: list[Slot], kind: str | None) -> tuple[np.ndarray, list[slice]]:
        """One vector holding ``getattr(layer, kind)[key]`` of each slot (kind None: the
        slot's own kind), rebound as views."""
        kinds = [kind or slot.kind for slot in slots]
        arrays = [getattr(slot.layer, k)[slot.key] for slot, k in zip(slots, kinds)]
        vector = np.empty(sum(array.size for array in arrays), dtype=self.dtype)
        slices, offset = [], 0
        for slot, k, array in zip(slots, kinds, arrays):
            part = slice(offset, offset + array.size)
            vector[part] = array.ravel()
            getattr(slot.layer, k)[slot.key] = vector[part].reshape(array.shape)
            slices.append(part)
            offset += array.size
        return vector, slices

    @property
    def names(self) -> list[str]:
        """``"layer_name/key"`` for each array, e.g. ``"dense_1/W"``."""
        return [slot.name for slot in self.slots]

    @property
    def size(self) -> int:
        """Entries in all arrays, trainable and not (Keras's parameter count)."""
        return int(self.params.size + self.state.size)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every array, in slot order."""
        return [slot.array.copy() for slot in self.slots]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Replace every array; all are checked (count, shape, finite) before any is written."""
        if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence):
            raise TypeError("set_weights expects a list of arrays, as returned by get_weights().")
        if len(weights) != len(self.slots):
            raise ValueError(
                f"set_weights expects {len(self.slots)} arrays (one per parameter, as "
                f"get_weights() returns them), got {len(weights)}."
            )
        checked = []
        for index, (slot, value) in enumerate(zip(self.slots, weights)):
            label = f"weight {index} ({slot.name})"
            array = as_numeric_array(value, label)
            if array.shape != slot.array.shape:
                raise ValueError(
                    f"set_weights: {label} must have shape {slot.array.shape}, got {array.shape}."
                )
            if not np.isfinite(array).all():
                raise ValueError(f"set_weights: {label} contains NaN or infinity.")
            checked.append(array)
        for slot, array in zip(self.slots, checked):
            slot.array[...] = array

    def gradients(self) -> list[np.ndarray]:
        """Copies of ∂L/∂(each array) from the last backward pass, in slot order; zeros for
        the non-trainable arrays (moving statistics, frozen layers' parameters)."""
        return [
            slot.layer.grads[slot.key].copy() if slot.trainable else np.zeros_like(slot.array)
            for slot in self.slots
        ]

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the parameter and state vectors, for :meth:`restore`."""
        return self.params.copy(), self.state.copy()

    def restore(self, snapshot: tuple[np.ndarray, np.ndarray]) -> None:
        """Put back the values of a :meth:`snapshot`, in place."""
        self.params[...], self.state[...] = snapshot
