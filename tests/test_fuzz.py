"""Property-based checks of the public entry points with hypothesis.

Every call either works or raises one of the documented error types, and when
it raises, neither the model's weights nor the caller's arrays have changed.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minifw as mf
from minifw.errors import ModelFileError, NonFiniteError

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DOCUMENTED = (ValueError, TypeError, NonFiniteError)

dtypes = st.sampled_from(
    [np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_, np.complex64]
)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)


def arrays(dtype_strategy=dtypes):
    return dtype_strategy.flatmap(
        lambda dtype: hnp.arrays(
            dtype,
            shapes,
            elements=None
            if np.dtype(dtype).kind in "bc"
            else hnp.from_dtype(np.dtype(dtype), allow_nan=True, allow_infinity=True)
            if np.dtype(dtype).kind == "f"
            else None,
        )
    )


def small_model(dtype: str) -> mf.Sequential:
    model = mf.Sequential(
        [mf.layers.Dense(3, input_dim=2, activation="tanh"), mf.layers.Dense(1)],
        dtype=dtype,
        seed=0,
    )
    model.compile(mf.optimizers.SGD(learning_rate=0.01), "mse")
    return model


def assert_unchanged_by(error: Exception, before: list, model: mf.Sequential) -> None:
    """A refusal changes nothing. A non-finite step stops training with the weights as
    they were before that step: unchanged when it is the first step, else as the steps
    before it left them (finite)."""
    after = model.get_weights()
    if isinstance(error, NonFiniteError) and re.search(r"batch (?!1;)\d+;", str(error)):
        assert all(np.isfinite(w).all() for w in after)
        return
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


CALLS = {
    "fit": lambda m, X, y: m.fit(X, y, epochs=1, batch_size=2, verbose=0),
    "train_on_batch": lambda m, X, y: m.train_on_batch(X, y),
    "gradients": lambda m, X, y: m.gradients(X, y),
    "evaluate": lambda m, X, y: m.evaluate(X, y),
    "predict": lambda m, X, y: m.predict(X),
}


@SETTINGS
@given(
    call=st.sampled_from(sorted(CALLS)),
    dtype=st.sampled_from(["float32", "float64"]),
    X=arrays(),
    y=arrays(),
)
def test_any_array_either_works_or_is_refused_without_changing_anything(call, dtype, X, y):
    model = small_model(dtype)
    before = model.get_weights()
    X_copy, y_copy = X.copy(), y.copy()
    try:
        with np.errstate(all="ignore"):
            CALLS[call](model, X, y)
    except DOCUMENTED as error:
        assert_unchanged_by(error, before, model)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


@SETTINGS
@given(
    call=st.sampled_from(sorted(CALLS)),
    X=hnp.arrays(
        np.float64, st.tuples(st.integers(1, 6), st.just(2)), elements=st.floats(-1e6, 1e6)
    ),
)
def test_valid_data_of_any_values_is_accepted(call, X):
    model = small_model("float64")
    y = X.sum(axis=1)
    with np.errstate(all="ignore"):
        try:
            CALLS[call](model, X, y)
        except NonFiniteError:
            pass  # a huge step may diverge: refused before the update, as documented


@pytest.fixture(scope="module")
def model_file_bytes(tmp_path_factory) -> bytes:
    model = small_model("float32")
    model.fit(np.ones((4, 2)), np.ones(4), epochs=1, verbose=0)  # with optimizer state
    path = tmp_path_factory.mktemp("saved") / "model.minifw"
    model.save(path)
    return path.read_bytes()


@SETTINGS
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_raise_model_file_error(tmp_path, data):
    path = tmp_path / "fuzzed.minifw"
    path.write_bytes(data)
    with pytest.raises(ModelFileError):
        mf.load_model(path)


@SETTINGS
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["drop", "replace", "add"]),
            st.integers(0, 20),
            st.binary(max_size=256),
            st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_zip_edits_either_load_or_raise_model_file_error(tmp_path, model_file_bytes, edits):
    with zipfile.ZipFile(io.BytesIO(model_file_bytes)) as archive:
        members = [(name, archive.read(name)) for name in archive.namelist()]
    for action, index, payload, name in edits:
        if action == "drop" and members:
            members.pop(index % len(members))
        elif action == "replace" and members:
            members[index % len(members)] = (members[index % len(members)][0], payload)
        elif action == "add":
            members.append((name or "extra", payload))
    path = tmp_path / "edited.minifw"
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write
        for member, content in members:
            archive.writestr(member, content)
    try:
        mf.load_model(path)
    except ModelFileError:
        pass


# -- images, the teaching tools and the scikit-learn estimators ----------------------

image_shapes = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    st.tuples(st.integers(0, 4), st.sampled_from([4, 1]), st.sampled_from([4, 1]), st.just(1)),
)


def small_cnn() -> mf.Sequential:
    model = mf.Sequential(
        [
            mf.layers.Conv2D(2, 2, padding="same", activation="relu", input_shape=(4, 4, 1)),
            mf.layers.AveragePooling2D(3, strides=2, padding="same"),
            mf.layers.Conv2D(2, 2),
            mf.layers.GlobalMaxPooling2D(),
            mf.layers.Dense(1),
        ],
        dtype="float64",
        seed=0,
    )
    model.compile("sgd", "mse")
    return model


@SETTINGS
@given(
    call=st.sampled_from(sorted(CALLS)),
    X=dtypes.flatmap(lambda dtype: hnp.arrays(dtype, image_shapes)),
    y=arrays(),
)
def test_a_cnn_given_any_array_works_or_refuses_without_changing_anything(call, X, y):
    model = small_cnn()
    before = model.get_weights()
    X_copy = X.copy()
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            CALLS[call](model, X, y)
    except DOCUMENTED as error:
        assert_unchanged_by(error, before, model)
    np.testing.assert_array_equal(X, X_copy)


@SETTINGS
@given(x=arrays(), y=arrays(), rate=st.one_of(st.none(), st.floats(allow_nan=True)))
def test_explain_of_any_row_works_or_refuses_without_changing_the_model(x, y, rate):
    model = small_model("float64")
    before = model.get_weights()
    try:
        with np.errstate(all="ignore"):
            step = mf.explain(model, x, y, learning_rate=rate)
            str(step), step.to_html(), step.to_markdown()
    except DOCUMENTED:
        pass
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["Classifier", "Regressor"]),
    X=arrays(),
    y=arrays(),
)
def test_an_estimator_refit_on_any_array_works_or_keeps_its_fitted_network(kind, X, y):
    sklearn = pytest.importorskip("minifw.sklearn")
    rng = np.random.default_rng(0)
    X_good, y_good = rng.normal(size=(12, 2)), rng.integers(0, 2, 12)
    estimator = getattr(sklearn, kind)(epochs=1, random_state=0).fit(X_good, y_good)
    model, expected = estimator.model_, estimator.predict(X_good)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X, y)
    except (ValueError, TypeError, NonFiniteError):
        assert estimator.model_ is model
        np.testing.assert_array_equal(estimator.predict(X_good), expected)
