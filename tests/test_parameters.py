"""parameters.py: one flat vector for the parameters, one for the gradients, one for the
state; each layer owned by one model."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import minifw as mf


def test_parameters_gradients_and_state_are_views_into_flat_buffers():
    model = mf.Sequential(
        [mf.layers.Dense(3, input_dim=2), mf.layers.BatchNormalization(), mf.layers.Dense(1)]
    )
    model.build()
    store = model.parameters
    for slot in store.slots:
        if slot.kind == "params":
            assert np.shares_memory(slot.layer.params[slot.key], store.params)
            assert np.shares_memory(slot.layer.grads[slot.key], store.grads)
        else:
            assert np.shares_memory(slot.layer.state[slot.key], store.state)
    assert store.params.size == 6 + 3 + 3 + 3 + 3 + 1 and store.state.size == 6


def test_a_layer_held_by_another_model_is_refused_and_nothing_changes():
    dense = mf.layers.Dense(2, input_dim=2)
    first = mf.Sequential([dense, mf.layers.Dense(1)], seed=0)
    first.build()
    weights = first.get_weights()
    with pytest.raises(ValueError, match="dense_1 already belongs to another model"):
        mf.Sequential([dense])
    second = mf.Sequential([mf.layers.Dense(2, input_dim=2)])
    with pytest.raises(ValueError, match="already belongs to another model"):
        second.add(dense)
    assert len(second.layers) == 1 and dense.name == "dense_1"
    for a, b in zip(weights, first.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    first.compile("sgd", "mse")
    first.fit(np.ones((4, 2)), np.ones(4), epochs=1, verbose=0)  # still trains its own arrays
    assert not np.array_equal(weights[0], first.get_weights()[0])


def test_a_copied_model_owns_its_layers_and_a_collected_model_frees_them():
    dense = mf.layers.Dense(1, input_dim=2)
    model = mf.Sequential([dense])
    clone = model.copy()
    clone.compile("sgd", "mse")
    clone.fit(np.ones((2, 2)), np.ones(2), epochs=1, verbose=0)  # its own copies of the layers
    del model, clone
    gc.collect()
    mf.Sequential([dense])  # no live owner: the layer may join a new model
