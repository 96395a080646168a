"""One BLAS thread while training small steps, every thread for large ones, and the
libraries' settings restored after fit."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw.training import threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


class Seen(mf.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.threads = blas_threads()


def fit_seeing_threads(units: int, batch_size: int, features: int = 8) -> set[int]:
    model = mf.Sequential([mf.layers.Dense(units, input_shape=(features,)), mf.layers.Dense(1)])
    model.compile("sgd", "mse")
    seen = Seen()
    X = np.zeros((batch_size, features))
    model.fit(X, np.zeros(batch_size), batch_size=batch_size, verbose=0, callbacks=[seen])
    return seen.threads


def test_small_steps_train_on_one_blas_thread_and_the_setting_is_restored():
    with threadpoolctl.threadpool_limits(2, "blas"):
        before = blas_threads()
        assert fit_seeing_threads(64, 32) == {1}
        assert blas_threads() == before
        assert fit_seeing_threads(512, 256, features=512) == before  # 67M multiply-adds


def test_the_largest_product_counts_batch_positions_and_kernel_entries():
    dense = mf.Sequential([mf.layers.Dense(64, input_shape=(8,)), mf.layers.Dense(3)])
    dense.build((None, 8))
    assert threads.largest_product(dense.layers, 32) == 32 * 8 * 64
    conv = mf.Sequential([mf.layers.Conv2D(4, 3, input_shape=(10, 10, 2))])
    conv.build((None, 10, 10, 2))
    assert threads.largest_product(conv.layers, 5) == 5 * 8 * 8 * (3 * 3 * 2 * 4)
    assert threads.largest_product([], 32) == 0
