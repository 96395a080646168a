"""Dense and activation layers, forward and backward, by batch size.

pytest benchmarks/bench_layers.py --benchmark-only --benchmark-group-by=param:batch
"""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf

LAYERS = {
    "Dense(256)": lambda: mf.layers.Dense(256),
    "Dense(256, relu)": lambda: mf.layers.Dense(256, activation="relu"),
    "ReLU": mf.layers.ReLU,
    "Sigmoid": mf.layers.Sigmoid,
    "Softmax": mf.layers.Softmax,
}


@pytest.mark.parametrize("batch", [1, 32, 256, 4096])
@pytest.mark.parametrize("layer_name", list(LAYERS))
def test_forward_backward(benchmark, layer_name, batch):
    rng = np.random.default_rng(0)
    layer = LAYERS[layer_name]()
    x = rng.standard_normal((batch, 256), dtype=np.float32)
    layer.build(x.shape, rng, "float32")
    grad = rng.standard_normal(layer.forward(x).shape, dtype=np.float32)

    def step():
        layer.forward(x, True)
        layer.backward(grad)

    benchmark(step)
