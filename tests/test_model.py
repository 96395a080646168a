"""Sequential: building, training, inference, weights, and refusing bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from support import lecture_model, model_for, small_regression, three_classes

import minifw as mf
from minifw.errors import NonFiniteError, NotBuiltError, NotCompiledError


def regression_model(seed: int = 0, dtype: str = "float64", features: int = 3) -> mf.Sequential:
    model = mf.Sequential(
        [
            mf.layers.Dense(8, activation="tanh"),
            mf.layers.Dense(4, activation="relu"),
            mf.layers.Dense(1),
        ],
        dtype=dtype,
        seed=seed,
    )
    model.compile(mf.optimizers.SGD(learning_rate=0.05), "mse")
    return model


# -- building and describing ------------------------------------------------------


def test_a_model_builds_from_input_dim_or_from_the_first_data(rng):
    declared = lecture_model()
    assert declared.count_params() == 9  # built on first need, from input_dim
    from_data = regression_model()
    assert not from_data.built
    from_data.predict(rng.normal(size=(2, 3)))
    assert from_data.input_shape == (None, 3) and from_data.output_shape == (None, 1)


def test_an_unbuilt_model_without_input_dim_says_how_to_build_it():
    model = regression_model()
    with pytest.raises(NotBuiltError, match=r"model.build\(\(None, features\)\)"):
        model.get_weights()
    model.build((None, 5))
    assert [w.shape for w in model.get_weights()] == [(5, 8), (8,), (8, 4), (4,), (4, 1), (1,)]


def test_layers_get_unique_default_names_in_keras_style():
    model = mf.Sequential(
        [mf.layers.Dense(2, input_dim=2), mf.layers.ReLU(), mf.layers.Dense(1), mf.layers.Dense(1)]
    )
    assert [layer.name for layer in model.layers] == ["dense_1", "relu_1", "dense_2", "dense_3"]
    assert model.weight_names[:2] == ["dense_1/W", "dense_1/b"]


def test_adding_the_wrong_things_is_refused():
    model = lecture_model()
    with pytest.raises(TypeError, match="expects a Layer instance"):
        model.add("dense")
    dense = mf.layers.Dense(1)
    other = mf.Sequential([dense])
    with pytest.raises(ValueError, match="already in this model"):
        other.add(dense)
    model.build()
    with pytest.raises(RuntimeError, match="Cannot add layers to a built model"):
        model.add(mf.layers.Dense(1))


def test_summary_lists_layers_shapes_and_parameter_counts(capsys):
    text = lecture_model().summary()
    assert capsys.readouterr().out.strip() == text
    assert "dense_1 (Dense)" in text and "(None, 2)" in text
    assert "Total params: 9" in text and "Trainable params: 9" in text


# -- training ---------------------------------------------------------------------


def test_fit_returns_history_with_loss_per_epoch_that_goes_down(rng):
    X, y = small_regression(rng, n=64)
    model = regression_model()
    history = model.fit(X, y, epochs=20, batch_size=8, verbose=0)
    assert history is model.history and history.epoch == list(range(20))
    losses = history.history["loss"]
    assert len(losses) == 20 and losses[-1] < 0.5 * losses[0]


def test_the_last_partial_batch_is_used_not_dropped(rng):
    X, y = small_regression(rng, n=10)
    model = regression_model()
    model.fit(X, y, epochs=3, batch_size=4, verbose=0)
    assert model.optimizer.iterations == 3 * 3  # batches of 4, 4 and 2


def test_fit_with_one_batch_equals_train_on_batch(rng):
    X, y = small_regression(rng, n=12)
    a, b = regression_model(), regression_model()
    a.fit(X, y, epochs=1, batch_size=12, shuffle=False, verbose=0)
    b.train_on_batch(X, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_fit_again_continues_from_the_current_weights(rng):
    X, y = small_regression(rng)
    once, twice = regression_model(seed=3), regression_model(seed=3)
    once.fit(X, y, epochs=4, batch_size=8, verbose=0)
    twice.fit(X, y, epochs=2, batch_size=8, verbose=0)
    twice.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(once.get_weights(), twice.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_y_as_a_vector_and_as_one_column_train_identically(rng):
    X, y = small_regression(rng)
    a, b = regression_model(), regression_model()
    a.fit(X, y[:, 0], epochs=2, batch_size=8, verbose=0)
    b.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_two_runs_with_the_same_seed_are_bit_identical(rng):
    X, y = small_regression(rng)
    runs = []
    for _ in range(2):
        model = regression_model(seed=42, dtype="float32")
        model.fit(X, y, epochs=3, batch_size=5, shuffle=True, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    other = regression_model(seed=43, dtype="float32")
    other.build((None, 3))
    assert not np.array_equal(other.get_weights()[0], runs[0][0])


def test_fit_does_not_touch_numpys_global_random_state(rng):
    X, y = small_regression(rng)
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    regression_model(seed=None).fit(X, y, epochs=2, batch_size=4, verbose=0)
    assert np.random.random() == expected


def test_float32_and_float64_agree_within_float32_round_off(rng):
    """Documented tolerance: after 5 epochs, weights agree to 1e-4 relative.

    float32 carries about 7 digits (eps ≈ 1.2e-7); 5 epochs of SGD amplify round-off a little.
    """
    X, y = small_regression(rng)
    single, double = regression_model(dtype="float32"), regression_model(dtype="float64")
    for model in (single, double):
        model.fit(X, y, epochs=5, batch_size=8, verbose=0)
    for a, b in zip(single.get_weights(), double.get_weights()):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert single.predict(X).dtype == np.float32


def test_validation_data_and_split_report_val_loss(rng):
    X, y = small_regression(rng, n=40)
    model = regression_model()
    history = model.fit(X, y, epochs=2, batch_size=8, validation_data=(X[:5], y[:5]), verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(X[:5], y[:5]))
    split = regression_model()
    history = split.fit(X, y, epochs=1, batch_size=8, validation_split=0.25, verbose=0)
    assert split.optimizer.iterations == 4  # 30 training rows in batches of 8
    assert history.history["val_loss"][0] == pytest.approx(split.evaluate(X[30:], y[30:]))


def test_verbose_2_prints_one_line_per_epoch_and_verbose_0_prints_nothing(rng, capsys):
    X, y = small_regression(rng)
    regression_model().fit(X, y, epochs=3, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Epoch 1/3") and "loss:" in lines[0]
    regression_model().fit(X, y, epochs=3, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_verbose_1_shows_a_progress_bar_on_a_terminal(rng, capsys, monkeypatch):
    X, y = small_regression(rng)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    regression_model().fit(X, y, epochs=1, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1:" in out and "/4 [" in out  # the bar, then the epoch's full line
    assert out.splitlines()[-1].split("\r")[-1].startswith("Epoch 1/1 - ")


def test_verbose_1_writes_one_full_line_per_epoch_into_a_file(rng, capsys):
    X, y = small_regression(rng)
    model = regression_model()
    model.compile("sgd", "mse", metrics=["mae", "rmse", "r2"])
    model.fit(X, y, epochs=2, batch_size=8, validation_split=0.25, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "\r" not in "".join(lines)
    assert lines[1].startswith("Epoch 2/2") and "val_r2" in lines[1]  # nothing cut off


def test_a_callback_sees_every_batch_and_can_stop_training(rng):
    class StopAfterFive(mf.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_train_batch_end(self, batch, logs=None):
            self.batches.append((batch, logs["loss"]))
            if len(self.batches) == 5:
                self.model.stop_training = True

    X, y = small_regression(rng, n=16)
    model = regression_model()
    callback = StopAfterFive()
    history = model.fit(X, y, epochs=10, batch_size=4, callbacks=[callback], verbose=0)
    assert [b for b, _ in callback.batches] == [0, 1, 2, 3, 0]
    assert model.optimizer.iterations == 5 and len(history.history["loss"]) == 2


def test_evaluate_returns_the_loss_or_a_list_with_metrics_or_a_dict(rng):
    X, y = small_regression(rng)
    model = regression_model()
    model.fit(X, y, epochs=1, verbose=0)
    y_pred = model.predict(X)
    assert model.evaluate(X, y) == pytest.approx(np.mean((y_pred - y) ** 2), rel=1e-12)
    model.compile(mf.optimizers.SGD(learning_rate=0.05), "mse", metrics=["mae"])
    loss, mae = model.evaluate(X, y, batch_size=7)  # Keras's list, in compile's order
    assert mae == pytest.approx(np.mean(np.abs(y_pred - y)), rel=1e-12)
    result = model.evaluate(X, y, batch_size=7, return_dict=True)
    assert result == {"loss": loss, "mae": mae}
    history = model.fit(X, y, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "mae"}


def test_predict_in_chunks_equals_predict_at_once(rng):
    X, _ = small_regression(rng, n=50)
    model = regression_model()
    # Another chunk size may make BLAS pick another kernel and summation order: the two
    # agree to float64 round-off over a few products of width ≤ 8, not bit for bit.
    np.testing.assert_allclose(
        model.predict(X, batch_size=7), model.predict(X), rtol=1e-13, atol=1e-14
    )


def test_accepted_inputs_lists_ints_bools_fortran_and_read_only(rng):
    model = lecture_model()
    expected = model.predict(np.array([[1.0, 0.0], [2.0, 1.0]]))
    read_only = np.array([[1.0, 0.0], [2.0, 1.0]])
    read_only.flags.writeable = False
    for X in (
        [[1, 0], [2, 1]],
        np.array([[1, 0], [2, 1]], dtype=np.int8),
        np.array([[True, False], [2, 1]], dtype=object),
        np.asfortranarray([[1.0, 0.0], [2.0, 1.0]]),
        read_only,
    ):
        np.testing.assert_array_equal(model.predict(X), expected)
    model.fit(read_only, [1, 2], epochs=1, batch_size=1, verbose=0)


def test_the_callers_arrays_are_never_modified(rng):
    X, y = small_regression(rng)
    X32 = X.astype(np.float32)
    copies = X.copy(), y.copy(), X32.copy()
    model = regression_model(dtype="float32")
    model.fit(X, y, epochs=2, batch_size=4, verbose=0)
    model.fit(X32, y, epochs=1, batch_size=4, verbose=0)
    model.predict(X)
    for original, copy in zip((X, y, X32), copies):
        np.testing.assert_array_equal(original, copy)


# -- weights ----------------------------------------------------------------------


def test_get_weights_returns_copies_in_keras_order():
    model = lecture_model()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 2), (2,), (2, 1), (1,)]
    weights[0][...] = 5.0
    assert (model.get_weights()[0] == 1.0).all()


def test_set_weights_round_trips_and_checks_count_and_shapes_before_writing():
    model = lecture_model()
    new = [np.full((2, 2), 0.5), np.zeros(2), np.full((2, 1), 2.0), np.ones(1)]
    model.set_weights(new)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), new))
    with pytest.raises(ValueError, match="expects 4 arrays .* got 3"):
        model.set_weights(new[:3])
    bad = [np.zeros((2, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1)]
    with pytest.raises(
        ValueError, match=r"weight 2 \(dense_2/W\) must have shape \(2, 1\), got \(1, 2\)"
    ):
        model.set_weights(bad)
    with pytest.raises(ValueError, match="contains NaN"):
        model.set_weights([np.zeros((2, 2)), np.zeros(2), np.full((2, 1), np.nan), np.zeros(1)])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), new))


def test_copy_is_independent_and_can_change_dtype(rng):
    X, y = small_regression(rng)
    model = regression_model(dtype="float32")
    model.fit(X, y, epochs=1, verbose=0)
    double = model.copy(dtype="float64")
    assert double.dtype == np.float64 and double.get_weights()[0].dtype == np.float64
    for a, b in zip(model.get_weights(), double.get_weights()):
        np.testing.assert_array_equal(a, b)
    double.fit(X, y, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], double.get_weights()[0])
    assert not np.shares_memory(model.parameters.params, double.parameters.params)


# -- refusing bad input, before anything changes ----------------------------------


def assert_unchanged(model: mf.Sequential, before: list[np.ndarray]) -> None:
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


BAD_FIT_INPUTS = [
    (np.ones((4, 3)), np.ones(4), ValueError, r"expects X of shape \(n, 2\), got \(4, 3\)"),
    (np.ones((4, 2)), np.ones(3), ValueError, "same number of samples. Received 4 and 3"),
    (np.ones(4), np.ones(4), ValueError, r"2-D array .*X.reshape\(-1, 1\) if it holds one feature"),
    (5.0, 1.0, ValueError, r"Received shape \(\): wrap it"),
    (
        np.ones((4, 2, 1)),
        np.ones(4),
        ValueError,
        r"expects a 2-D array X of shape \(n, 2\); received a 3-D array of shape \(4, 2, 1\)",
    ),
    (np.ones((0, 2)), np.ones(0), ValueError, "0 samples"),
    (np.ones((4, 0)), np.ones(4), ValueError, "0 features"),
    ([[1, "a"], [2, 3]], [1, 2], TypeError, "real numbers .* strings"),
    (np.ones((2, 2), dtype=complex), [1, 2], TypeError, "complex"),
    (
        np.array([[1.0, np.nan], [2, 3]]),
        [1, 2],
        ValueError,
        r"`X` contains NaN or infinity \(first at row 0\)",
    ),
    (
        np.ones((2, 2)),
        [1.0, np.inf],
        ValueError,
        r"`y` contains NaN or infinity \(first at row 1\)",
    ),
    (np.ones((2, 2)), np.ones((2, 2)), ValueError, r"y has 2 columns .* model has 1 output"),
    ([[1, 2], [3]], [1, 2], ValueError, "rectangular array of numbers"),
    (np.array([[1, None], [2, 3]], dtype=object), [1, 2], ValueError, "`X` contains NaN"),
    (np.array([[1, "x"], [2, 3]], dtype=object), [1, 2], TypeError, "not a number"),
]


@pytest.mark.parametrize(("X", "y", "error", "message"), BAD_FIT_INPUTS)
def test_bad_data_is_refused_with_a_clear_message_before_any_update(X, y, error, message):
    model = lecture_model()
    before = model.get_weights()
    with pytest.raises(error, match=message):
        model.fit(X, y, epochs=1, batch_size=1, verbose=0)
    with pytest.raises(error, match=message):
        model.train_on_batch(X, y)
    assert_unchanged(model, before)


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("epochs", -1, "`epochs` must be a non-negative integer"),
        ("epochs", 1.5, "`epochs` must be a non-negative integer"),
        ("batch_size", 0, "`batch_size` must be a positive integer"),
        ("batch_size", "32", "`batch_size` must be a positive integer"),
        ("verbose", 3, "`verbose` must be 0, 1, 2 or 'auto'"),
        ("validation_split", 1.0, "`validation_split` must be between 0 and 1"),
        ("validation_split", 0.9, "leaves 0 for training and 4 for validation"),
        ("validation_data", [np.ones((2, 2))], "`validation_data` must be a tuple"),
    ],
)
def test_bad_fit_arguments_are_refused_before_any_update(argument, value, message, salary):
    model = lecture_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(*salary, **{"verbose": 0, argument: value})
    assert_unchanged(model, before)


def test_calls_in_the_wrong_order_raise_runtime_errors(salary):
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)])
    with pytest.raises(NotCompiledError, match=r"compile\(optimizer, loss\) before model.fit\(\)"):
        model.fit(*salary)
    with pytest.raises(NotCompiledError, match="before model.evaluate"):
        model.evaluate(*salary)
    with pytest.raises(NotCompiledError, match="before model.gradients"):
        model.gradients(*salary)
    assert isinstance(NotCompiledError("x"), RuntimeError)
    with pytest.raises(NotBuiltError):
        mf.Sequential([mf.layers.Dense(1)]).summary()


def test_predict_refuses_a_different_feature_count_than_the_model_was_built_for(rng):
    model = regression_model()
    model.predict(rng.normal(size=(2, 3)))
    with pytest.raises(ValueError, match=r"expects X of shape \(n, 3\), got \(2, 4\)"):
        model.predict(rng.normal(size=(2, 4)))


def test_unknown_names_in_compile_are_refused_and_nothing_is_set():
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)])
    with pytest.raises(ValueError, match="Unknown optimizer 'sgdd'"):
        model.compile("sgdd", "mse")
    with pytest.raises(ValueError, match="Unknown loss 'mes'"):
        model.compile("sgd", "mes")
    with pytest.raises(ValueError, match="Unknown metric 'acc_uracy'"):
        model.compile("sgd", "mse", metrics=["acc_uracy"])
    assert model.optimizer is None and model.loss is None


@pytest.mark.parametrize(
    ("argument", "value"), [("dtype", "float16"), ("dtype", "int32"), ("seed", -1), ("seed", 1.5)]
)
def test_sequential_refuses_bad_dtype_and_seed(argument, value):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        mf.Sequential(**{argument: value})


def test_a_diverging_run_stops_with_nonfinite_error_and_keeps_the_last_finite_weights(salary):
    model = lecture_model(learning_rate=1.0)  # far too large for raw IQ values
    X, y = salary
    with pytest.raises(NonFiniteError, match=r"in epoch \d+, batch \d+.*learning rate") as error:
        model.fit(X, y, epochs=50, batch_size=1, shuffle=False, verbose=0)
    assert isinstance(error.value, FloatingPointError)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_keras_spellings_are_accepted(rng):
    model = mf.Sequential([mf.layers.Dense(4, input_shape=(3,)), mf.layers.Dense(1)], seed=0)
    assert model.input_shape == (None, 3)
    model.compile("adam", "mse")
    X, y = small_regression(rng, n=8)
    model.fit(X, y, batch_size=None, verbose=False)  # Keras's defaults: 32 rows, silent
    assert model.optimizer.iterations == 1
    assert mf.layers.Dense(2, input_shape=(3, 4)).declared_input_shape == (None, 3, 4)  # steps
    with pytest.raises(ValueError, match=r"`input_shape` must be \(features,\)"):
        mf.layers.Dense(2, input_shape=(3, 4, 1))


# -- mistakes a user makes, each refused or made right ------------------------------


def test_train_on_batch_without_targets_says_y_is_required(rng):
    model = mf.Sequential([mf.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="train_on_batch needs targets"):
        model.train_on_batch(rng.normal(size=(4, 2)), None)


def frozen_after_training(rng):
    model = mf.Sequential(
        [mf.layers.Dense(4, activation="tanh"), mf.layers.Dense(1)], dtype="float64", seed=0
    )
    model.compile("adam", "mse")
    X, y = rng.normal(size=(16, 3)), rng.normal(size=16)
    model.fit(X, y, epochs=2, batch_size=4, verbose=0)
    return model, X, y


def test_freezing_a_trained_layer_keeps_predict_weights_and_save_working(rng, tmp_path):
    model, X, y = frozen_after_training(rng)
    expected, weights = model.predict(X), model.get_weights()
    model.layers[0].trainable = False
    np.testing.assert_array_equal(model.predict(X), expected)
    for a, b in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)
    model.evaluate(X, y)
    with pytest.warns(UserWarning, match="optimizer's state .* is not saved"):
        model.save(tmp_path / "frozen.minifw")
    loaded = mf.load_model(tmp_path / "frozen.minifw")
    assert loaded.layers[0].trainable is False and loaded.optimizer.iterations == 0
    np.testing.assert_array_equal(loaded.predict(X), expected)
    loaded.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Compile the model again"):
        model.fit(X, y, epochs=1, verbose=0)  # only training needs the new compile
    with pytest.raises(ValueError, match="Compile the model again"):
        model.train_on_batch(X, y)
    model.compile("adam", "mse")
    model.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], weights[0])


@pytest.mark.parametrize("hook", ["on_train_batch_end", "on_epoch_end"])
def test_freezing_a_layer_from_a_callback_mid_fit_is_refused_at_once(hook, rng):
    model, X, y = frozen_after_training(rng)

    class Freeze(mf.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if hook == "on_train_batch_end" and batch == 1:
                self.model.layers[0].trainable = False

        def on_epoch_end(self, epoch, logs=None):
            if hook == "on_epoch_end":
                self.model.layers[0].trainable = False

    with pytest.raises(RuntimeError, match="trainable` flag of dense_1 changed during training"):
        model.fit(X, y, epochs=3, batch_size=4, verbose=0, callbacks=[Freeze()])
    model.predict(X)


@pytest.mark.parametrize("where", ["validation_data", "validation_split"])
def test_a_metric_the_validation_targets_cannot_take_fails_before_the_first_update(where, rng):
    X, y = rng.normal(size=(40, 3)), np.tile([0.0, 1.0], 20)
    y[-8:] = 1.0  # the last rows: one class only
    model = mf.Sequential([mf.layers.Dense(1, activation="sigmoid")], seed=0)
    model.compile("adam", "binary_crossentropy", metrics=["auc"])
    model.build((None, 3))
    before = model.get_weights()
    options = (
        {"validation_data": (X[-8:], y[-8:])} if where == "validation_data"
        else {"validation_split": 0.2}
    )
    with pytest.raises(ValueError, match="'auc' cannot be computed on these targets"):
        model.fit(X, y, epochs=1, verbose=0, **options)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_predicts_default_chunk_keeps_the_widest_activation_within_its_budget():
    from minifw.training.inference import INFERENCE_BYTES, INFERENCE_ROWS, inference_rows

    dense = mf.Sequential([mf.layers.Dense(8, input_dim=3)])
    assert inference_rows(dense) == INFERENCE_ROWS
    cnn = mf.Sequential(
        [mf.layers.Conv2D(32, 3, input_shape=(28, 28, 1)), mf.layers.Flatten(), mf.layers.Dense(2)]
    )
    widest = 26 * 26 * 32 * 4  # the convolution's output row, float32
    assert inference_rows(cnn) == INFERENCE_BYTES // widest == 96
    assert inference_rows(cnn, 500) == 500

def frozen_first_layer(optimizer="sgd"):
    model = mf.Sequential(
        [mf.layers.Dense(4, input_dim=3, activation="tanh"), mf.layers.Dense(1)],
        dtype="float64",
        seed=0,
    )
    model.layers[0].trainable = False
    model.compile(optimizer, "mse")
    return model


@pytest.mark.parametrize(
    "optimizer",
    [
        mf.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.1),
        mf.optimizers.AdamW(0.01, weight_decay=0.1),
    ],
    ids=["sgd+decay", "adamw"],
)
def test_a_frozen_layer_keeps_its_weights_while_the_others_train(optimizer, rng, capsys):
    model = frozen_first_layer(optimizer)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=16)
    before = model.get_weights()
    model.fit(X, y, epochs=3, batch_size=4, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])  # W¹ frozen, decay included
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[2], before[2])  # W² trains
    text = model.summary()
    assert "Trainable params: 5" in text and "Non-trainable params: 16" in text
    _, grads = model.gradients(X, y)
    assert not grads[0].any() and grads[2].any()


def test_unfreezing_needs_a_fresh_optimizer_once_training_began(rng):
    model = frozen_first_layer("adam")
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    model.fit(X, y, epochs=1, verbose=0)
    model.layers[0].trainable = True
    with pytest.raises(ValueError, match="trainable` flag changed after training began"):
        model.fit(X, y, epochs=1, verbose=0)
    model.compile("adam", "mse")
    before = model.get_weights()
    model.fit(X, y, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], before[0])


def test_a_frozen_layer_is_saved_and_loaded_frozen(tmp_path, rng):
    model = frozen_first_layer("adam")
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "frozen.minifw")
    loaded = mf.load_model(tmp_path / "frozen.minifw")
    assert loaded.layers[0].trainable is False and loaded.layers[1].trainable is True
    before = loaded.get_weights()
    loaded.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(loaded.get_weights()[0], before[0])


def test_keras_spellings_of_losses_layers_and_calls(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential(
        [mf.layers.Dense(8, input_dim=4), mf.layers.Activation("relu"), mf.layers.Dense(3)],
        seed=0,
    )
    assert isinstance(model.layers[1], mf.layers.ReLU)
    model.compile(
        "adam", mf.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    model.fit(X, labels, epochs=2, verbose=0)
    loss, accuracy = model.evaluate(X, labels, verbose=0)
    assert model.evaluate(X, labels, return_dict=True) == {"loss": loss, "accuracy": accuracy}
    np.testing.assert_array_equal(model(X), model.predict(X, verbose=0))
    assert model.get_layer("dense_2") is model.layers[2] and model.get_layer(index=-1).units == 3
    with pytest.raises(ValueError, match="No layer named 'dense_9'. The layers are: 'dense_1'"):
        model.get_layer("dense_9")
    for keras, ours in [
        (mf.losses.MeanSquaredError, mf.losses.MSELoss),
        (mf.losses.BinaryCrossentropy, mf.losses.BinaryCrossEntropy),
        (mf.losses.CategoricalCrossentropy, mf.losses.CategoricalCrossEntropy),
        (mf.losses.Huber, mf.losses.HuberLoss),
    ]:
        assert keras is ours
    with pytest.raises(ValueError, match="Unknown activation 'rellu'"):
        mf.layers.Activation("rellu")


def test_summary_prints_once_and_returns_the_table_with_a_short_repr(capsys):
    model = mf.Sequential([mf.layers.Dense(2, input_dim=3)])
    table = model.summary()
    assert capsys.readouterr().out.strip() == table
    assert repr(table) == '<summary of "sequential" (float32)>'


def test_keras_keywords_x_and_y_name_the_data_of_fit_evaluate_and_predict(rng):
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    by_keyword, by_position = model_for(rng), model_for(rng)
    by_keyword.fit(x=X, y=y, epochs=2, batch_size=4, verbose=0)
    by_position.fit(X, y, epochs=2, batch_size=4, verbose=0)
    for a, b in zip(by_keyword.get_weights(), by_position.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert by_keyword.evaluate(x=X, y=y) == by_keyword.evaluate(X, y)
    np.testing.assert_array_equal(by_keyword.predict(x=X), by_keyword.predict(X))
    with pytest.raises(TypeError, match="give the inputs once"):
        by_keyword.fit(X, y, x=X, verbose=0)
    with pytest.raises(TypeError, match=r"fit needs the inputs"):
        by_keyword.fit(y=y, verbose=0)


def test_a_class_given_instead_of_an_instance_is_named_with_the_fix():
    model = mf.Sequential([mf.layers.Dense(1)])
    with pytest.raises(TypeError, match=r"Expected an optimizer name .* the class Adam itself: "
                       r"give an instance, e.g. Adam\(\)"):
        model.compile(mf.optimizers.Adam, "mse")
