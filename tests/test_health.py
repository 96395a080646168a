"""A recorded run's health: saturated and dead units, and the update ratio per layer."""

import numpy as np
import pytest

import minifw as mf
from minifw.teaching import Recorder

L = mf.layers
RNG = np.random.default_rng(0)
X = RNG.normal(size=(128, 8))
Y = np.sin(X[:, 0]) + 0.1 * X[:, 1]


def recorded(layers, stats=True, learning_rate=0.01):
    model = mf.Sequential(layers, dtype="float64", seed=0)
    model.compile(mf.optimizers.SGD(learning_rate), "mse")
    recorder = Recorder(stats=stats)
    model.fit(X, Y, epochs=2, batch_size=32, verbose=0, callbacks=[recorder])
    return model, recorder.trajectory


def test_a_saturating_tanh_net_a_dead_relu_net_and_a_healthy_one():
    _, healthy = recorded([L.Dense(16, activation="tanh"), L.Dense(1)])
    _, saturating = recorded(
        [L.Dense(16, activation="tanh", kernel_initializer=mf.initializers.RandomNormal(0, 50.0)),
         L.Dense(1)]
    )  # fmt: skip
    _, dead = recorded(
        [L.Dense(16, activation="relu", bias_initializer=mf.initializers.Constant(-30.0)),
         L.Dense(1)]
    )  # fmt: skip
    good, bad, dying = healthy.health(), saturating.health(), dead.health()
    assert good.saturated["dense_1"].max() < 0.2
    assert bad.saturated["dense_1"].min() > 0.3 and bad.saturated["dense_1"].mean() > 0.5
    assert np.all(dying.dead["dense_1"] == 1.0)
    assert np.all(dying.update_ratio["dense_1"] == 0.0)  # no gradient reaches its weights
    assert 1e-4 < np.median(good.update_ratio["dense_1"]) < 1e-1
    assert np.median(bad.update_ratio["dense_1"]) < np.median(good.update_ratio["dense_1"]) / 10


def test_the_update_ratio_is_the_norm_of_the_change_over_the_norm_before():
    model, run = recorded([L.Dense(4, activation="sigmoid"), L.Dense(1)])
    step = run.step(5)
    W, b = model.layers[0].params["W"], model.layers[0].params["b"]
    parts = [s for s, slot in zip(model.parameters.slices,
                                  [s for s in model.parameters.slots if s.trainable])
             if slot.layer is model.layers[0]]  # fmt: skip
    assert len(parts) == 2 and W.size + b.size == sum(p.stop - p.start for p in parts)
    before = np.concatenate([step.params[p] for p in parts])
    after = np.concatenate([step.after[p] for p in parts])
    expected = np.linalg.norm(after - before) / np.linalg.norm(before)
    assert run.health().update_ratio["dense_1"][5] == pytest.approx(expected, rel=1e-12)


def test_kept_stats_equal_the_ones_computed_later_and_the_table_shows_itself():
    pytest.importorskip("matplotlib")
    layers = lambda: [L.Dense(8, activation="relu"), L.Dense(4, activation="tanh"), L.Dense(1)]  # noqa: E731
    _, kept = recorded(layers(), stats=True)
    _, later = recorded(layers(), stats=False)
    a, b = kept.health(), later.health()
    for kind in ("saturated", "dead", "update_ratio"):
        for name in getattr(a, kind):
            np.testing.assert_allclose(getattr(a, kind)[name], getattr(b, kind)[name], rtol=1e-12)
    assert "dense_1 dead" in str(a) and "dense_2 saturated" in str(a)
    assert "<table>" in a._repr_html_() and "dense_3 ‖Δw‖/‖w‖" in a._repr_html_()
    figure = a.plot()
    assert len(figure.axes[0].lines) == 2 and len(figure.axes[1].lines) == 4  # 3 layers + 1e-3
