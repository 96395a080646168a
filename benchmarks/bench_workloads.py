"""The workloads W1–W4 under pytest-benchmark: minifw, the bare loop and the GEMM floor.

    pytest benchmarks --benchmark-only --benchmark-group-by=param:name

Each benchmark times one unit of its workload (W1: 1000 epochs of 4 steps;
W2, W3: one epoch; W4: one step). Compare only rows of the same run.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import workloads
from benchmarks.compare import epochs_per_run
from benchmarks.workloads import GemmFloor

ROUNDS = {"W1": 5, "W2": 5, "W3": 2, "W4": 3}


@pytest.fixture(scope="module", params=list(workloads.WORKLOADS), ids=str)
def name(request):
    return request.param


@pytest.fixture(scope="module")
def setup(name):
    w = workloads.WORKLOADS[name]
    X, y = workloads.make_data(w)
    return w, X, y


def test_minifw(benchmark, setup):
    w, X, y = setup
    model = workloads.minifw_model(w)
    epochs = epochs_per_run(w)
    benchmark.pedantic(
        lambda: model.fit(X, y, epochs=epochs, batch_size=w.batch, shuffle=w.shuffle, verbose=0),
        rounds=ROUNDS[w.name],
        warmup_rounds=1,
    )


def test_bare_loop(benchmark, setup):
    w, X, y = setup
    bare = workloads.bare_loop(w, workloads.minifw_model(w).get_weights())
    rng = np.random.default_rng(0)
    epochs = epochs_per_run(w)
    benchmark.pedantic(
        lambda: [bare.epoch(X, y, rng) for _ in range(epochs)],
        rounds=ROUNDS[w.name],
        warmup_rounds=1,
    )


def test_gemm_floor(benchmark, setup):
    w, _, _ = setup
    if w.name == "W1":
        pytest.skip("W1 is per-call overhead, not matrix products")
    floor = GemmFloor(w, w.batch)
    steps = -(-w.rows // w.batch)
    benchmark.pedantic(
        lambda: [floor.step() for _ in range(steps)], rounds=ROUNDS[w.name], warmup_rounds=1
    )
