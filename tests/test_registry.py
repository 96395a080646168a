"""One catalogue per kind: a class of one's own is one class and a decorator, and it trains,
saves, loads and resumes like a built-in; save refuses what load could not rebuild."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf
from minifw.registry import Catalogue, snake_case


@mf.optimizers.register
class Lion(mf.optimizers.Optimizer):
    """Lion (Chen et al. 2023): c = β₁ m + (1 − β₁) g; w ← w − η sign(c); m ← β₂ m + (1 − β₂) g."""

    def __init__(self, learning_rate=1e-4, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2 = beta_1, beta_2

    def init_state(self, params):
        return {"m": np.zeros_like(params)}

    def update(self, params, grads, learning_rate):
        m = self.state["m"]
        direction = np.sign(self.beta_1 * m + (1 - self.beta_1) * grads)
        m *= self.beta_2
        m += (1 - self.beta_2) * grads
        return direction, learning_rate

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


@mf.losses.register("log_cosh")
class LogCosh(mf.losses.Loss):
    """L = mean log cosh(ŷ − y);  ∂L/∂ŷ = tanh(ŷ − y) / (n·k)."""

    regression = True

    def value(self, y_true, y_pred):
        return float(np.mean(np.logaddexp(y_pred - y_true, y_true - y_pred) - np.log(2)))

    def gradient(self, y_true, y_pred):
        return np.tanh(y_pred - y_true) / y_pred.size


@mf.layers.register
class Mish(mf.layers.Activation):
    """o = net · tanh(softplus(net))."""

    def activate(self, x):
        return x * np.tanh(np.logaddexp(0, x))

    def derivative(self, x, out):
        softplus = np.logaddexp(0, x)
        tanh = np.tanh(softplus)
        sigmoid = 1 / (1 + np.exp(-x))
        return tanh + x * (1 - tanh * tanh) * sigmoid


@mf.initializers.register
class Halves(mf.initializers.Initializer):
    """Every weight ½ (plus a seeded jitter of size ``jitter``)."""

    def __init__(self, jitter=0.0):
        self.jitter = jitter

    def __call__(self, shape, rng=None, dtype="float64"):
        rng = np.random.default_rng() if rng is None else rng
        return (0.5 + self.jitter * rng.standard_normal(shape)).astype(dtype)

    def get_config(self):
        return {"jitter": self.jitter}


@mf.regularizers.register
class Smoothness(mf.regularizers.Regularizer):
    """strength · Σ (w_{i+1} − w_i)² along the first axis."""

    def __init__(self, strength=0.01):
        self.strength = strength

    def penalty(self, w):
        return self.strength * float(np.sum(np.diff(w, axis=0) ** 2))

    def gradient(self, w):
        d = np.diff(w, axis=0)
        grad = np.zeros_like(w)
        grad[1:] += 2 * self.strength * d
        grad[:-1] -= 2 * self.strength * d
        return grad

    def get_config(self):
        return {"strength": self.strength}


@mf.schedules.register
class Halving(mf.schedules.LearningRateSchedule):
    """η_t = η₀ / 2^(t // every)."""

    def __init__(self, initial_learning_rate=0.01, every=3):
        self.initial_learning_rate, self.every = initial_learning_rate, every

    def __call__(self, step):
        return self.initial_learning_rate / 2 ** (step // self.every)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "every": self.every}


@mf.metrics.register
def max_error(y_true, y_pred):
    """max |y − ŷ|."""
    return float(np.max(np.abs(y_true - y_pred)))


def custom_model(seed=0):
    model = mf.Sequential(
        [
            mf.layers.Dense(
                5,
                kernel_initializer=Halves(0.3),
                kernel_regularizer=Smoothness(0.05),
                input_dim=3,
            ),
            Mish(),
            mf.layers.Dense(1, kernel_initializer="halves"),
        ],
        dtype="float64",
        seed=seed,
    )
    model.compile(Lion(Halving(0.01, every=2)), "log_cosh", metrics=["max_error", "mae"])
    return model


def test_classes_of_ones_own_train_save_load_and_resume_bit_for_bit(tmp_path, rng):
    X, y = rng.normal(size=(24, 3)), rng.normal(size=24)
    straight = custom_model()
    straight.fit(X, y, epochs=4, batch_size=6, verbose=0)

    resumed = custom_model()
    first = resumed.fit(X, y, epochs=2, batch_size=6, verbose=0)
    assert set(first.history) == {"loss", "max_error", "mae"}
    resumed.save(tmp_path / "own.minifw")
    loaded = mf.load_model(tmp_path / "own.minifw")
    assert isinstance(loaded.optimizer, Lion) and isinstance(loaded.loss, LogCosh)
    assert isinstance(loaded.layers[1], Mish) and loaded.metric_names == ["max_error", "mae"]
    assert isinstance(loaded.layers[0].kernel_regularizer, Smoothness)
    loaded.fit(X, y, epochs=4, initial_epoch=2, batch_size=6, verbose=0)
    for a, b in zip(straight.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_registered_class_is_known_by_its_snake_case_name_or_its_given_names():
    assert mf.optimizers.get("lion").__class__ is Lion
    assert isinstance(mf.losses.get("LOG_COSH"), LogCosh)
    assert isinstance(mf.layers.Activation("mish"), Mish)
    assert mf.metrics.get("max_error") is max_error
    assert [snake_case(n) for n in ("Lion", "LogCosh", "Conv2D", "MSELoss")] == [
        "lion",
        "log_cosh",
        "conv2d",
        "mse_loss",
    ]


class Unregistered(mf.optimizers.SGD):
    """An optimizer nobody registered."""


class UnregisteredLoss(mf.losses.MSELoss):
    """A loss nobody registered."""


class Plain(mf.layers.Activation):
    """An activation nobody registered."""

    def activate(self, x):
        return x

    def derivative(self, x, out):
        return np.ones_like(x)


class Doubled(mf.initializers.Initializer):
    """An initializer nobody registered."""

    def __call__(self, shape, rng=None, dtype="float64"):
        return np.full(shape, 2.0, dtype)


@pytest.mark.parametrize(
    ("make", "name", "decorator"),
    [
        (lambda: (mf.layers.Dense(1), Unregistered(0.1), "mse"), "Unregistered", "optimizers"),
        (lambda: (mf.layers.Dense(1), "sgd", UnregisteredLoss()), "UnregisteredLoss", "losses"),
        (lambda: (Plain(), "sgd", "mse"), "Plain", "layers"),
        (lambda: (mf.layers.Dense(1, activation=Plain()), "sgd", "mse"), "Plain", "layers"),
        (
            lambda: (mf.layers.Dense(1, kernel_initializer=Doubled()), "sgd", "mse"),
            "Doubled",
            "initializers",
        ),
    ],
    ids=["optimizer", "loss", "layer", "activation-inside-dense", "initializer"],
)
def test_save_refuses_a_class_load_could_not_rebuild_before_writing(
    make, name, decorator, tmp_path
):
    layer, optimizer, loss = make()
    model = mf.Sequential([mf.layers.Dense(2, input_dim=3), layer])
    model.compile(optimizer, loss)
    existing = tmp_path / "existing.minifw"
    existing.write_bytes(b"an older model")
    for path in (tmp_path / "new.minifw", existing):
        with pytest.raises(TypeError, match=rf"{name}.*@mf\.{decorator}\.register.*Nothing was"):
            model.save(path)
    assert not (tmp_path / "new.minifw").exists()
    assert existing.read_bytes() == b"an older model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.minifw"]


def test_custom_objects_at_load_build_a_class_the_file_names(tmp_path, rng):
    """Keras's spelling: a class registered in another session is given by hand."""
    catalogue = mf.optimizers.OPTIMIZERS
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)], seed=0)
    model.compile(Lion(0.01), "mse")
    model.fit(rng.normal(size=(8, 2)), rng.normal(size=8), verbose=0)
    model.save(tmp_path / "lion.minifw")
    del catalogue.classes["Lion"]  # as in a new process that did not import the class
    try:
        with pytest.raises(mf.errors.ModelFileError, match="Unknown optimizer type 'Lion'.*"
                           r"@mf\.optimizers\.register"):
            mf.load_model(tmp_path / "lion.minifw")
        loaded = mf.load_model(tmp_path / "lion.minifw", custom_objects={"Lion": Lion})
        assert isinstance(loaded.optimizer, Lion) and loaded.optimizer.iterations == 1
        with pytest.raises(mf.errors.ModelFileError, match="Unknown optimizer type 'Lion'"):
            mf.load_model(tmp_path / "lion.minifw")  # the scope ended with the call
    finally:
        catalogue.classes["Lion"] = Lion


def test_custom_objects_must_map_names_to_classes(tmp_path, rng):
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)])
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.minifw")
    with pytest.raises(TypeError, match="custom_objects` must be a dict"):
        mf.load_model(tmp_path / "m.minifw", custom_objects=[Lion])


def test_a_custom_object_cannot_stand_in_for_another_kind(tmp_path):
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)])
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.minifw")
    loaded = mf.load_model(tmp_path / "m.minifw", custom_objects={"SGD": LogCosh})
    assert type(loaded.optimizer) is mf.optimizers.SGD  # a loss is no optimizer: not used


def test_the_catalogue_refuses_names_that_are_not_strings_and_lists_the_valid_ones():
    shapes = Catalogue("shape", decorator="shapes.register")
    with pytest.raises(TypeError, match="names must be non-empty strings"):
        shapes.register(3)
    with pytest.raises(ValueError, match="Unknown shape 'circle'. Expected one of: "):
        shapes.get("circle")


def test_every_kind_exports_its_register_decorator():
    for module in (
        mf.layers,
        mf.losses,
        mf.optimizers,
        mf.initializers,
        mf.regularizers,
        mf.schedules,
        mf.metrics,
    ):
        assert "register" in module.__all__ and callable(module.register)


def test_a_name_another_class_holds_is_refused_and_a_redefinition_replaces_itself():
    with pytest.raises(ValueError, match="'mse' is already the name of minifw.losses.MSELoss"):

        @mf.losses.register("mse")
        class Squares(mf.losses.MSELoss):
            """Another loss under a built-in's name."""

    with pytest.raises(ValueError, match="a class named Dense is already registered"):

        @mf.layers.register("my_dense")
        class Dense(mf.layers.Dense):
            """Another layer under a built-in's class name."""

    def define():
        @mf.metrics.register
        def twice_mae(y_true, y_pred):
            return 2 * float(np.mean(np.abs(y_true - y_pred)))

        return twice_mae

    first, again = define(), define()  # a notebook cell run twice
    assert first is not again and mf.metrics.get("twice_mae") is again
