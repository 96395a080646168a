"""The bare loop of the benchmarks must compute exactly what minifw computes."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import workloads
from benchmarks.workloads import W1, W2, W3, W4, GemmFloor, Workload

# Each workload shrunk to a few rows, in float64, without shuffling: same data, same order.
SMALL = [
    W1,
    Workload(**{**W2.__dict__, "rows": 70, "dtype": "float64", "shuffle": False}),
    Workload(
        **{
            **W3.__dict__,
            "sizes": (20, 16, 8, 5),
            "rows": 300,
            "dtype": "float64",
            "shuffle": False,
        }
    ),
    Workload(
        **{**W4.__dict__, "sizes": (12, 24, 24, 6), "rows": 40, "batch": 40, "dtype": "float64"}
    ),
]


@pytest.mark.parametrize("w", SMALL, ids=[w.name for w in SMALL])
def test_one_epoch_of_the_bare_loop_equals_one_epoch_of_minifw(w):
    X, y = workloads.make_data(w)
    model = workloads.minifw_model(w)
    bare = workloads.bare_loop(w, model.get_weights())
    workloads.minifw_epoch(model, w, X, y)
    bare.epoch(X, y, np.random.default_rng(0))
    expected = np.concatenate([np.ravel(a) for a in model.get_weights()])
    np.testing.assert_allclose(bare.P, expected, rtol=1e-10, atol=1e-12)


def test_the_gemm_floor_runs_every_product_once():
    floor = GemmFloor(Workload(**{**W4.__dict__, "sizes": (6, 5, 4)}), batch=3)
    floor.step()
    assert [d.shape for d in floor.dW] == [(6, 5), (5, 4)]


def test_the_bare_cnn_loop_computes_what_minifw_computes():
    from benchmarks import cnn

    X, labels = cnn.make_data(128)
    model = cnn.minifw_model()
    bare = cnn.BareCNN(model.get_weights())
    for rows in (slice(0, 64), slice(64, 128)):
        ours = model.train_on_batch(X[rows], labels[rows])
        theirs = bare.step(X[rows], labels[rows])
        assert ours == pytest.approx(theirs, rel=1e-5)
    for a, b in zip(model.get_weights(), bare.params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)  # float32 sums over thousands


def test_the_bare_lstm_loop_computes_what_minifw_computes():
    from benchmarks import sequences

    ids, labels = sequences.make_data(192)
    model = sequences.minifw_model()
    bare = sequences.BareLSTM(model.get_weights())
    for rows in (slice(0, 64), slice(64, 128), slice(128, 192)):
        ours = model.train_on_batch(ids[rows], labels[rows])
        theirs = bare.step(ids[rows], labels[rows])
        assert ours == pytest.approx(theirs, rel=1e-5)
    for a, b in zip(model.get_weights(), bare.params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
