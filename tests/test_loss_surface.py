"""loss_surface: the exact loss on a grid of two weights, and the path a run took."""

import numpy as np
import pytest

import minifw as mf
from minifw.teaching import Recorder, loss_surface
from minifw.teaching.weights import weight_positions

L = mf.layers


def loss_with(model, X, y, values: dict) -> float:
    """The model's own loss with the named weights set (then put back)."""
    params = model.parameters.params
    saved = params.copy()
    positions = weight_positions(model)
    for name, value in values.items():
        params[positions[name]] = value
    try:
        return model.evaluate(X, y, return_dict=True)["loss"]
    finally:
        params[...] = saved


MODELS = {
    "lecture": (
        lambda: [L.Dense(2, input_dim=2, kernel_initializer="ones"), L.Linear(),
                 L.Dense(1, kernel_initializer="ones")],
        "mse", "salary",
    ),
    "softmax classifier": (
        lambda: [L.Dense(4, input_dim=3, activation="tanh"), L.Dropout(0.3),
                 L.Dense(3, activation="softmax")],
        "sparse_categorical_crossentropy", "classes",
    ),
    "weight penalty": (
        lambda: [L.Dense(3, input_dim=3, activation="relu", kernel_regularizer="l2"),
                 L.Dense(1)],
        "mae", "regression",
    ),
}  # fmt: skip


def data(kind):
    if kind == "salary":
        return mf.datasets.salary()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    return X, (rng.integers(0, 3, 30) if kind == "classes" else rng.normal(size=30))


@pytest.mark.parametrize("case", sorted(MODELS))
def test_every_grid_value_is_the_models_loss_at_those_weights(case):
    layers, loss, kind = MODELS[case]
    model = mf.Sequential(layers(), dtype="float64", seed=3)
    model.compile("sgd", loss)
    X, y = data(kind)
    before = model.get_weights()
    names = ("w^1_21", "b_21")
    surface = loss_surface(model, X, y, weights=names, span=0.5, resolution=7)
    assert surface.losses.shape == (7, 7)
    np.testing.assert_allclose(surface.first, surface.center[0] + np.linspace(-0.5, 0.5, 7))
    for a, b in [(0, 0), (3, 3), (6, 1), (2, 5)]:
        expected = loss_with(model, X, y, dict(zip(names, (surface.first[a], surface.second[b]))))
        assert surface.losses[a, b] == pytest.approx(expected, rel=1e-12)
    for got, want in zip(model.get_weights(), before):  # left as it was
        np.testing.assert_array_equal(got, want)


def test_the_lectures_path_over_1000_epochs_is_drawn_on_its_surface():
    pytest.importorskip("matplotlib")
    X, y = mf.datasets.salary()
    model = mf.Sequential(MODELS["lecture"][0](), dtype="float64")
    model.compile(mf.optimizers.SGD(1e-5), "mse")
    recorder = Recorder()
    model.fit(X, y, epochs=1000, batch_size=1, shuffle=False, verbose=0, callbacks=[recorder])
    surface = loss_surface(model, X, y)
    assert surface.weights == ("w^1_11", "w^2_11")
    figure = surface.plot(trajectory=recorder.trajectory)
    path = figure.axes[0].lines[0]
    assert len(path.get_xdata()) == 4000 and path.get_xdata()[0] == 1.0


def test_unknown_or_repeated_weights_are_refused():
    X, y = mf.datasets.salary()
    model = mf.Sequential(MODELS["lecture"][0](), dtype="float64")
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"no weight 'w\^3_11'.*w\^1_11"):
        loss_surface(model, X, y, weights=("w^3_11", "w^1_11"))
    with pytest.raises(ValueError, match="two different"):
        loss_surface(model, X, y, weights=("w^1_11", "w^1_11"))
