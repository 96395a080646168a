"""W5 under pytest-benchmark: one epoch of the CNN on 2 000 rows, minifw and the bare loop.

pytest benchmarks/bench_cnn.py --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import cnn


@pytest.fixture(scope="module")
def data():
    return cnn.make_data(2000)


def test_minifw_cnn_epoch(benchmark, data):
    X, labels = data
    model = cnn.minifw_model()
    benchmark.pedantic(
        lambda: model.fit(X, labels, epochs=1, batch_size=cnn.BATCH, verbose=0),
        rounds=3,
        warmup_rounds=1,
    )


def test_bare_cnn_epoch(benchmark, data):
    X, labels = data
    bare = cnn.BareCNN(cnn.minifw_model().get_weights())
    rng = np.random.default_rng(0)
    benchmark.pedantic(lambda: bare.epoch(X, labels, rng), rounds=3, warmup_rounds=1)
