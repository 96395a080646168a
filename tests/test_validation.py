"""Input at the public boundary: what is refused (clearly, before anything changes) and
what is accepted."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from support import lecture_model

import minifw as mf
from minifw.errors import NotBuiltError


class FakeDataFrame:
    """Quacks like a pandas DataFrame: minifw needs only ``to_numpy``."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def to_numpy(self):
        return self.values


def test_dataframe_like_inputs_are_accepted():
    model = lecture_model()
    X = [[60.0, 3.5], [80.0, 4.7]]
    np.testing.assert_array_equal(model.predict(FakeDataFrame(X)), model.predict(np.array(X)))
    model.fit(FakeDataFrame(X), FakeDataFrame([40.0, 60.0]), epochs=1, verbose=0)


def test_float64_data_trains_a_float32_model_batch_by_batch(rng):
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)], seed=0)
    model.compile("sgd", "mse")
    X = rng.normal(size=(10, 2))
    model.fit(X, X.sum(axis=1), epochs=1, verbose=0)
    assert model.get_weights()[0].dtype == np.float32


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: m.predict([[1.0, 2.0, 3.0]]), ValueError, r"expects X of shape \(n, 2\)"),
        (lambda m: m.evaluate([[1.0, 2.0]], [[1.0, 2.0]]), ValueError, "y has 2 columns"),
        (lambda m: m.gradients([[np.inf, 2.0]], [1.0]), ValueError, "contains NaN or infinity"),
        (lambda m: m.train_on_batch([["a", "b"]], [1.0]), TypeError, "strings"),
        (lambda m: m.set_weights([1, 2, 3]), ValueError, "expects 4 arrays"),
        (lambda m: m.compile("adam", "mse", metrics="mae"), TypeError, "must be a list"),
        (
            lambda m: m.fit([[1.0, 2.0]], [1.0], epochs=1, verbose=0, on_nonfinite="ignore"),
            ValueError,
            "`on_nonfinite` must be 'raise' or 'stop'",
        ),
        (lambda m: m.fit([[1.0, 2.0]], [1.0], shuffle="yes", verbose=0), TypeError, "`shuffle`"),
        (
            lambda m: m.fit([[1.0, 2.0]], [1.0], callbacks=mf.callbacks.EarlyStopping(), verbose=0),
            TypeError,
            "`callbacks` must be a list",
        ),
        (
            lambda m: m.fit([[1.0, 2.0]], [1.0], callbacks=["stop"], verbose=0),
            TypeError,
            "callbacks must be Callback instances",
        ),
        (
            lambda m: m.fit([[1.0, 2.0]], [1.0], validation_data=([[1.0]], [1.0]), verbose=0),
            ValueError,
            r"expects X of shape \(n, 2\)",
        ),
    ],
)
def test_refused_calls_name_the_problem_and_change_nothing(call, error, message):
    model = lecture_model()
    before = model.get_weights()
    with pytest.raises(error, match=message):
        call(model)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


def test_layers_refuse_bad_input_at_forward():
    layer = mf.layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match=r"Dense expected inputs of shape \(n, 3\), got \(3,\)"):
        layer.forward(np.ones(3))
    with pytest.raises(RuntimeError, match="is not built"):
        mf.layers.ReLU().forward(np.ones((2, 2)))
    with pytest.raises(TypeError, match="`x` must hold real numbers"):
        layer.forward([["a", "b", "c"]])
    layer.forward([[1, 2, 3]])  # lists and integers are fine
    with pytest.raises(ValueError, match=r"grad_output of shape \(1, 2\)"):
        layer.backward([1.0, 2.0])


def test_a_model_with_no_layers_or_unknown_input_cannot_be_built():
    with pytest.raises(ValueError, match="no layers"):
        mf.Sequential().build((None, 2))
    with pytest.raises(NotBuiltError, match="input shape is unknown"):
        mf.Sequential([mf.layers.Dense(1)]).get_weights()


SCRIPT = """
import numpy as np, minifw as mf
rng = np.random.default_rng(0)
X, y = rng.normal(size=(64, 4)), rng.normal(size=64)
model = mf.Sequential([mf.layers.Dense(8, activation="relu"), mf.layers.Dropout(0.3),
                       mf.layers.Dense(1)], seed=123)
model.compile("adam", "mse")
model.fit(X, y, epochs=3, batch_size=8, verbose=0)
print(np.concatenate([w.ravel() for w in model.get_weights()]).tobytes().hex())
"""


def test_two_processes_with_the_same_seed_give_bit_identical_weights():
    runs = [
        subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout and len(runs[0].stdout) > 100


SPARSE_CALLS = {
    "fit": lambda m, X: m.fit(X, np.ones(4), epochs=1, verbose=0),
    "fit batches": lambda m, X: m.fit(X, epochs=1, verbose=0),
    "predict": lambda m, X: m.predict(X),
    "evaluate": lambda m, X: m.evaluate(X, np.ones(4)),
    "train_on_batch": lambda m, X: m.train_on_batch(X, np.ones(4)),
}


@pytest.mark.parametrize("call", sorted(SPARSE_CALLS))
@pytest.mark.parametrize("kind", ["csr_matrix", "csr_array"])
def test_a_scipy_sparse_matrix_is_refused_naming_it_and_toarray(call, kind):
    import scipy.sparse

    model = lecture_model()
    before = model.get_weights()
    sparse = getattr(scipy.sparse, kind)(np.ones((4, 2)))
    with pytest.raises(TypeError, match=r"scipy.sparse .* X.toarray\(\)"):
        SPARSE_CALLS[call](model, sparse)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_values_beyond_float32_are_refused_by_a_float32_model_before_training():
    model = mf.Sequential([mf.layers.Dense(1, input_dim=2)], seed=0)
    model.compile("sgd", "mse")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"`X` holds values up to 1e\+39, too large .* float32"):
        model.fit(np.array([[1e39, 1.0], [0.0, 1.0]]), [1.0, 2.0], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`y` holds values up to 1e\+39"):
        model.fit(np.ones((2, 2)), np.array([1.0, -1e39]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="dtype='float64'"):
        model.predict(np.array([[-1e39, 1.0]]))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model64 = mf.Sequential([mf.layers.Dense(1, input_dim=2)], dtype="float64", seed=0)
    assert np.isfinite(model64.predict(np.array([[1e39, 1.0]]))).all()  # fits float64


def test_validation_data_with_the_wrong_features_is_named_as_validation_data():
    model = lecture_model()
    with pytest.raises(ValueError, match=r"in `validation_data`: .*expects X of shape \(n, 2\)"):
        model.fit([[1.0, 2.0]], [1.0], validation_data=([[1.0, 2.0, 3.0]], [1.0]), verbose=0)
    with pytest.raises(ValueError, match=r"in `validation_data`: .*NaN"):
        model.fit([[1.0, 2.0]], [1.0], validation_data=([[1.0, np.nan]], [1.0]), verbose=0)
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize(
    "loss",
    [
        mf.losses.MSELoss(),
        mf.losses.BinaryCrossEntropy(),
        mf.losses.SparseCategoricalCrossEntropy(),
    ],
    ids=repr,
)
def test_a_loss_refuses_empty_arrays_naming_them(loss):
    with pytest.raises(ValueError, match="`y_true` is empty"):
        loss(np.zeros((0, 1)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match="`y_pred` is empty"):
        loss.backward(np.zeros(1), np.zeros((1, 0)))


@pytest.mark.parametrize(
    ("loss", "y_true", "y_pred"),
    [
        (mf.losses.BinaryCrossEntropy(), [[1.0], [0.0]], [[3.0], [-2.0]]),
        (mf.losses.CategoricalCrossEntropy(), [[1.0, 0.0]], [[2.5, -1.0]]),
        (mf.losses.SparseCategoricalCrossEntropy(), [0], [[2.5, -1.0]]),
    ],
    ids=["binary", "categorical", "sparse"],
)
def test_cross_entropy_on_probabilities_refuses_logits_and_suggests_from_logits(
    loss, y_true, y_pred
):
    for call in (loss.forward, loss.backward):
        with pytest.raises(
            ValueError, match=r"expects probabilities in \[0, 1\].*from_logits=True"
        ):
            call(np.array(y_true), np.array(y_pred))
    with_logits = type(loss)(from_logits=True)
    assert np.isfinite(with_logits(np.array(y_true), np.array(y_pred)))


def channels_last_cnn(input_shape):
    model = mf.Sequential(
        [
            mf.layers.Conv2D(4, 3, input_shape=input_shape),
            mf.layers.GlobalAveragePooling2D(),
            mf.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_channels_first_images_are_refused_naming_the_transpose(rng):
    model = channels_last_cnn((16, 16, 3))
    with pytest.raises(ValueError, match=r"channels-first.*X\.transpose\(0, 2, 3, 1\)"):
        model.fit(rng.normal(size=(6, 3, 16, 16)), np.arange(6) % 2, verbose=0)
    with pytest.raises(ValueError, match=r"Reshape it, e.g. X.reshape\(len\(X\), 16, 16, 3\)"):
        model.predict(rng.normal(size=(6, 16, 48, 1)))


def test_an_input_shape_written_channels_first_warns_once(rng):
    with pytest.warns(UserWarning, match=r"looks channels-first.*X\.transpose\(0, 2, 3, 1\)"):
        model = channels_last_cnn((3, 16, 16))
        model.fit(rng.normal(size=(6, 3, 16, 16)), np.arange(6) % 2, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(rng.normal(size=(6, 3, 16, 16)), np.arange(6) % 2, verbose=0)
        channels_last_cnn((16, 16, 3)).build((None, 16, 16, 3))
        channels_last_cnn((3, 5, 5)).build((None, 3, 5, 5))  # small: could be anything


def test_dataframe_columns_reordered_or_renamed_after_fit_are_refused(rng):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(rng.normal(size=(20, 3)), columns=["iq", "gpa", "age"])
    y = rng.normal(size=20)
    model = mf.Sequential([mf.layers.Dense(1)], dtype="float64")
    model.compile("sgd", "mse")
    model.fit(frame, y, epochs=1, verbose=0)
    assert model.feature_names_in_ == ("iq", "gpa", "age")
    expected = model.predict(frame)
    np.testing.assert_array_equal(model.predict(frame.to_numpy()), expected)  # arrays pass
    with pytest.raises(ValueError, match=r"another order.*X\[model.feature_names_in_\]"):
        model.predict(frame[["gpa", "iq", "age"]])
    renamed = frame.rename(columns={"age": "years"})
    missing = r"missing: \['age'\]; columns not seen in fit: \['years'\]"
    with pytest.raises(ValueError, match=missing):
        model.evaluate(renamed, y)
    with pytest.raises(ValueError, match="another order"):
        model.fit(frame[["age", "gpa", "iq"]], y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.predict(frame[["iq", "gpa", "age"]]), expected)


def test_a_dataframe_with_an_extra_or_a_repeated_column_is_named(rng):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(rng.normal(size=(6, 2)), columns=["a", "b"])
    model = mf.Sequential([mf.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(frame, rng.normal(size=6), verbose=0)
    with pytest.raises(ValueError, match=r"`X` has columns not seen in fit: \['c'\]\. The model"):
        model.predict(frame.assign(c=1.0))
    with pytest.raises(ValueError, match="a column given twice"):
        model.predict(frame[["a", "b", "a"]])
