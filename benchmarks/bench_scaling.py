"""Scaling: time per sample by batch size, and W2's epoch time by row count.

pytest benchmarks/bench_scaling.py --benchmark-only --benchmark-group-by=param:batch
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import workloads
from benchmarks.workloads import W2


@pytest.mark.parametrize("batch", [1, 8, 64, 512])
@pytest.mark.parametrize("implementation", ["minifw", "bare"])
def test_w2_epoch_by_batch_size(benchmark, implementation, batch):
    w = W2.with_batch(batch).with_rows(4096)
    X, y = workloads.make_data(w)
    model = workloads.minifw_model(w)
    if implementation == "minifw":
        run = lambda: model.fit(X, y, epochs=1, batch_size=batch, verbose=0)  # noqa: E731
    else:
        bare, rng = workloads.bare_loop(w, model.get_weights()), np.random.default_rng(0)
        run = lambda: bare.epoch(X, y, rng)  # noqa: E731
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("rows", [10_000, 20_000, 40_000, 80_000])
def test_w2_epoch_by_rows(benchmark, rows):
    w = W2.with_rows(rows)
    X, y = workloads.make_data(w)
    model = workloads.minifw_model(w)
    benchmark.pedantic(lambda: model.fit(X, y, epochs=1, verbose=0), rounds=3, warmup_rounds=1)
