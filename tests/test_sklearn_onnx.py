"""Whole pipelines to ONNX: skl2onnx converts a Pipeline ending in a minifw estimator, and
onnxruntime gives predict and predict_proba back."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")
skl2onnx = pytest.importorskip("skl2onnx", reason="skl2onnx is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from minifw.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def frame_of(rng, dtype, n=120):
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, n).astype(dtype),
            "income": rng.normal(50, 20, n).astype(dtype),
            "city": rng.choice(["paris", "oslo", "rome"], n),
        }
    )


def pipeline(estimator):
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["age", "income"]), ("cat", OneHotEncoder(), ["city"])]
    )
    return make_pipeline(columns, estimator)


def run(onx, frame):
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {}
    for given in session.get_inputs():
        column = frame[[given.name]].to_numpy()
        kind = {"tensor(string)": object, "tensor(double)": np.float64}.get(given.type, np.float32)
        feeds[given.name] = column.astype(kind)
    return session.run(None, feeds)


def fitted(estimator, frame, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pipeline(estimator).fit(frame, y)


@pytest.mark.parametrize("names", [["no", "yes"], ["low", "mid", "high"], [3, 7, 11]])
def test_a_float32_classifier_pipeline_gives_predict_and_predict_proba(names, rng):
    frame = frame_of(rng, "float32")
    y = np.asarray(names, dtype=object)[rng.integers(0, len(names), len(frame))]
    if isinstance(names[0], int):
        y = y.astype(np.int64)
    model = fitted(MLPClassifier((8,), max_iter=30, dtype="float32", random_state=0), frame, y)
    label, probabilities = run(skl2onnx.to_onnx(model, frame[:1], target_opset=17), frame)
    assert label.tolist() == model.predict(frame).tolist()
    expected = model.predict_proba(frame)
    for row, want in zip(probabilities, expected):  # skl2onnx's ZipMap: {class: p}
        np.testing.assert_allclose([row[c] for c in model.classes_], want, atol=1e-5)


def test_a_float64_classifier_pipeline_equals_to_1e_9_without_the_zipmap(rng):
    frame = frame_of(rng, "float64")
    y = np.where(frame.age > 40, "senior", "junior")
    model = fitted(MLPClassifier((8,), max_iter=30, random_state=0), frame, y)
    options = {MLPClassifier: {"zipmap": False}}
    label, probabilities = run(
        skl2onnx.to_onnx(model, frame[:1], options=options, target_opset=17), frame
    )
    assert label.tolist() == model.predict(frame).tolist()
    np.testing.assert_allclose(probabilities, model.predict_proba(frame), rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_regressor_pipeline_gives_predict(dtype, rng):
    frame = frame_of(rng, dtype)
    y = frame.age.to_numpy(np.float64) * 2 + rng.normal(size=len(frame))
    regressor = MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, dtype=dtype, random_state=0)
    model = fitted(regressor, frame, y)
    (out,) = run(skl2onnx.to_onnx(model, frame[:1], target_opset=17), frame)
    tolerance = 1e-9 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(out.ravel(), model.predict(frame), rtol=tolerance, atol=tolerance)


def test_a_multilabel_classifier_is_refused_by_name(rng):
    X = rng.normal(size=(30, 3))
    y = (X[:, :2] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(NotImplementedError, match="multilabel"):
        skl2onnx.to_onnx(model, X[:1], target_opset=17)


def test_the_recipe_in_docs_export_md_runs_as_written():
    import re
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "export.md").read_text(encoding="utf-8")
    recipe = re.findall(r"```python\n(.*?)```", page, re.S)[-1]
    scope: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(recipe, scope)
    assert scope["label"].tolist() == scope["pipeline"].predict(scope["frame"]).tolist()
    expected = scope["pipeline"].predict_proba(scope["frame"])
    classes = scope["pipeline"].classes_
    for row, want in zip(scope["probabilities"], expected):
        np.testing.assert_allclose([row[c] for c in classes], want, atol=1e-5)
