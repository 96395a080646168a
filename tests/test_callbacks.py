"""Callbacks and the fit options a Keras user expects, asserted on values."""

from __future__ import annotations

import csv
import signal

import numpy as np
import pytest
from support import model_for, small_regression

import minifw as mf
from minifw.callbacks import (
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)


def feed(callback, model, values, key="val_loss"):
    """Drive a callback through epochs whose monitored value is ``values[e]``."""
    callback.model, callback.params = model, {"epochs": len(values)}
    callback.on_train_begin()
    stopped_at = None
    for epoch, value in enumerate(values):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        callback.on_epoch_end(epoch, {key: value})
        if model.stop_training and stopped_at is None:
            stopped_at = epoch
            break
    return stopped_at


def test_early_stopping_stops_after_patience_epochs_without_improvement(rng):
    model = model_for(rng)
    model.stop_training = False
    stop = EarlyStopping(patience=2)
    assert feed(stop, model, [5.0, 4.0, 3.0, 3.5, 3.2, 1.0]) == 4  # best at epoch 2
    assert stop.best == 3.0 and stop.best_epoch == 2 and stop.stopped_epoch == 4


def test_early_stopping_restores_the_best_weights(rng):
    model = model_for(rng)
    model.stop_training = False
    stop = EarlyStopping(patience=1, restore_best_weights=True, min_delta=0.1)
    feed(stop, model, [5.0, 2.0, 1.95, 3.0])  # 1.95 is not 0.1 better than 2.0
    assert all((w == 1.0).all() for w in model.get_weights())  # the weights of epoch 1


def test_early_stopping_modes_and_start_epoch(rng):
    model = model_for(rng)
    model.stop_training = False
    assert (
        feed(
            EarlyStopping(monitor="val_accuracy", patience=1),
            model,
            [0.5, 0.6, 0.55],
            key="val_accuracy",
        )
        == 2
    )
    model.stop_training = False
    assert feed(EarlyStopping(patience=0, start_from_epoch=3), model, [1.0, 2.0, 3.0, 4.0]) is None


def test_early_stopping_ends_a_real_fit_with_validation(rng):
    X, y = small_regression(rng, n=30)
    model = model_for(rng, lr=2.5)  # too large: the validation loss soon gets worse
    history = model.fit(
        X,
        y,
        epochs=50,
        batch_size=30,
        validation_data=(X, y),
        verbose=0,
        callbacks=[EarlyStopping(patience=3)],
    )
    assert len(history.history["loss"]) < 50


def test_reduce_lr_on_plateau_divides_the_rate_when_the_monitor_stalls(rng):
    model = model_for(rng, lr=0.1)
    callback = ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.02, min_delta=0.0)
    callback.model = model
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate([1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]):
        logs = {"val_loss": value}
        callback.on_epoch_end(epoch, logs)
        rates.append(model.optimizer.learning_rate)
    assert rates == [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02]


def test_learning_rate_scheduler_sets_each_epochs_rate(rng):
    X, y = small_regression(rng)
    model = model_for(rng)
    history = model.fit(
        X,
        y,
        epochs=3,
        verbose=0,
        callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))],
    )
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_terminate_on_nan_stops_without_exception_and_keeps_finite_weights(salary):
    X, y = salary
    for kwargs in ({"callbacks": [TerminateOnNaN()]}, {"on_nonfinite": "stop"}):
        model = mf.Sequential(
            [
                mf.layers.Dense(2, input_dim=2, kernel_initializer="ones"),
                mf.layers.Dense(1, kernel_initializer="ones"),
            ],
            dtype="float64",
        )
        model.compile(mf.optimizers.SGD(1.0), "mse")
        with pytest.warns(RuntimeWarning, match="became .* Training stopped"):
            history = model.fit(X, y, epochs=50, batch_size=1, shuffle=False, verbose=0, **kwargs)
        assert len(history.history.get("loss", [])) < 50
        assert all(np.isfinite(w).all() for w in model.get_weights())


def test_model_checkpoint_keeps_only_improving_models(rng, tmp_path):
    model = model_for(rng)
    checkpoint = ModelCheckpoint(tmp_path / "best.minifw", save_best_only=True)
    checkpoint.model = model
    saved_epochs = []
    for epoch, value in enumerate([3.0, 2.0, 2.5, 1.0, 1.5]):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        before = (tmp_path / "best.minifw").read_bytes() if saved_epochs else None
        checkpoint.on_epoch_end(epoch, {"val_loss": value})
        if (tmp_path / "best.minifw").read_bytes() != before:
            saved_epochs.append(epoch)
    assert saved_epochs == [0, 1, 3]
    assert (mf.load_model(tmp_path / "best.minifw").get_weights()[0] == 3.0).all()
    every = ModelCheckpoint(tmp_path / "epoch-{epoch:02d}-{loss:.1f}")
    every.model = model
    every.on_epoch_end(4, {"loss": 0.25})
    assert (tmp_path / "epoch-05-0.2").exists()


def test_csv_logger_and_lambda_callback(rng, tmp_path):
    X, y = small_regression(rng)
    seen = []
    lam = LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append((epoch, logs["loss"])),
        on_train_batch_end=lambda batch, logs: seen.append(batch),
    )
    model = model_for(rng)
    history = model.fit(
        X,
        y,
        epochs=2,
        batch_size=16,
        verbose=0,
        validation_split=0.25,
        callbacks=[CSVLogger(tmp_path / "log.csv"), lam],
    )
    with open(tmp_path / "log.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert float(rows[1]["val_loss"]) == pytest.approx(history.history["val_loss"][1])
    assert seen == [0, 1, (0, history.history["loss"][0]), 0, 1, (1, history.history["loss"][1])]
    with pytest.raises(TypeError, match="unknown hooks"):
        LambdaCallback(on_epoch_finish=print)


# -- weights ---------------------------------------------------------------------------


def test_sample_weights_of_ones_equal_no_weights(rng):
    X, y = small_regression(rng)
    a, b = model_for(rng), model_for(rng)
    plain = a.fit(X, y, epochs=2, batch_size=8, verbose=0)
    weighted = b.fit(X, y, epochs=2, batch_size=8, verbose=0, sample_weight=np.ones(len(X)))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12)
    np.testing.assert_allclose(weighted.history["loss"], plain.history["loss"], rtol=1e-12)


def test_integer_sample_weights_equal_repeated_rows(rng):
    X, y = small_regression(rng, n=6)
    counts = np.array([1, 3, 0, 2, 1, 1])
    weighted, repeated = model_for(rng), model_for(rng)
    by_weight = weighted.fit(
        X, y, epochs=3, batch_size=100, shuffle=False, verbose=0, sample_weight=counts
    )
    by_rows = repeated.fit(
        np.repeat(X, counts, axis=0),
        np.repeat(y, counts, axis=0),
        epochs=3,
        batch_size=100,
        shuffle=False,
        verbose=0,
    )
    for a, b in zip(weighted.get_weights(), repeated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    np.testing.assert_allclose(by_weight.history["loss"], by_rows.history["loss"], rtol=1e-10)


def test_class_weight_matches_the_equivalent_sample_weights(rng):
    X = rng.normal(size=(30, 3))
    labels = rng.integers(0, 3, size=30)
    class_weight = {0: 1.0, 1: 2.5, 2: 0.5}
    runs, losses = [], []
    for kwargs in (
        {"class_weight": class_weight},
        {"sample_weight": np.array([class_weight[c] for c in labels])},
        {"sample_weight": np.ones(30)},
    ):
        model = mf.Sequential(
            [mf.layers.Dense(3, input_dim=3, activation="softmax")], dtype="float64", seed=0
        )
        model.compile("sgd", "sparse_categorical_crossentropy")
        history = model.fit(X, labels, epochs=2, batch_size=8, verbose=0, **kwargs)
        runs.append(model.get_weights())
        losses.append(history.history["loss"])
    for a, b in zip(*runs[:2]):
        np.testing.assert_array_equal(a, b)
    assert losses[0] == losses[1] and losses[0] != pytest.approx(losses[2], rel=1e-3)


def test_bad_weights_are_refused(rng):
    X, y = small_regression(rng, n=4)
    model = model_for(rng)
    with pytest.raises(ValueError, match=r"one weight per sample, shape \(4,\)"):
        model.fit(X, y, sample_weight=[1, 2], verbose=0)
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        model.fit(X, y, sample_weight=[-1, 1, 1, 1], verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` contains NaN"):
        model.fit(X, y, sample_weight=[np.nan, 1, 1, 1], verbose=0)
    assert model.optimizer.iterations == 0


# -- data from generators ---------------------------------------------------------------


# -- interrupts ---------------------------------------------------------------------------


class InterruptAfter(mf.callbacks.Callback):
    def __init__(self, steps, by_signal=False):
        super().__init__()
        self.steps, self.by_signal, self.count = steps, by_signal, 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1
        if self.count == self.steps:
            if self.by_signal:
                signal.raise_signal(signal.SIGINT)  # as Ctrl-C would
            else:
                raise KeyboardInterrupt


@pytest.mark.parametrize("by_signal", [False, True], ids=["raised", "ctrl-c signal"])
def test_an_interrupted_fit_leaves_the_weights_of_the_last_completed_step(rng, by_signal):
    X, y = small_regression(rng, n=32)
    interrupted, reference = model_for(rng), model_for(rng)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(
            X,
            y,
            epochs=5,
            batch_size=8,
            shuffle=False,
            verbose=0,
            callbacks=[InterruptAfter(6, by_signal)],
        )
    reference.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)  # 4 steps
    reference.fit(X[:16], y[:16], epochs=1, batch_size=8, shuffle=False, verbose=0)  # 2 more
    for a, b in zip(interrupted.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(interrupted.history.history["loss"]) == 1  # the completed epoch is kept
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- curves ---------------------------------------------------------------------------------


def test_history_plot_draws_training_and_validation_curves(rng, tmp_path):
    pytest.importorskip("matplotlib")
    X, y = small_regression(rng)
    model = model_for(rng)
    model.compile(mf.optimizers.SGD(0.05), "mse", metrics=["mae"])
    history = model.fit(X, y, epochs=3, validation_split=0.25, verbose=0)
    import matplotlib

    backend = matplotlib.get_backend()
    panels = history.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    labels = [[line.get_label() for line in panel.get_lines()] for panel in panels]
    assert labels == [["loss", "val_loss"], ["mae", "val_mae"]]  # one panel per quantity
    assert [panel.get_title() for panel in panels] == ["loss", "mae"]
    assert matplotlib.get_backend() == backend  # saving leaves the user's backend alone


def test_history_plot_without_matplotlib_says_how_to_install_it(no_matplotlib):
    with pytest.raises(ImportError, match=r"pip install 'minifw\[plot\]'"):
        mf.callbacks.History().plot()

def test_learning_rate_scheduler_takes_one_or_two_argument_schedules(rng):
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    for schedule in (lambda epoch: 0.1 / (epoch + 1), lambda epoch, lr: 0.1 / (epoch + 1)):
        model = mf.Sequential([mf.layers.Dense(1, input_dim=2)], seed=0)
        model.compile("sgd", "mse")
        callback = mf.callbacks.LearningRateScheduler(schedule, verbose=0)
        history = model.fit(X, y, epochs=3, callbacks=[callback], verbose=0)
        assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_callbacks_accept_verbose_and_say_what_they_do(rng, tmp_path, capsys):
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)], seed=0)
    model.compile(mf.optimizers.SGD(1e-9), "mse")
    callbacks = [
        mf.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1.0, verbose=1),
        mf.callbacks.ModelCheckpoint(tmp_path / "m.minifw", monitor="loss", verbose=1),
        mf.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=1.0, verbose=1),
    ]
    model.fit(X, y, epochs=5, callbacks=callbacks, verbose=0)
    out = capsys.readouterr().out
    assert "early stopping" in out and "saving model to" in out and "ReduceLROnPlateau" in out


def test_importing_minifw_imports_no_notebook_progress_bar():
    import subprocess
    import sys

    code = "import sys, minifw; print('tqdm.autonotebook' in sys.modules, 'tqdm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"] and not out.stderr
