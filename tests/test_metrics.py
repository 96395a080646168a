"""Metrics: values against hand computation, and how "accuracy" picks its kind."""

from __future__ import annotations

import numpy as np
import pytest
from support import three_classes, unchanged

import minifw as mf
from minifw import metrics


def test_regression_metrics():
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.0], [2.0], [4.0], [2.0]])
    assert metrics.mse(y, p) == (0 + 0 + 1 + 4) / 4
    assert metrics.mae(y, p) == (0 + 0 + 1 + 2) / 4
    assert metrics.rmse(y, p) == pytest.approx(np.sqrt(5 / 4))
    assert metrics.r2(y, p) == pytest.approx(1 - 5 / 5)  # Σ(y − ȳ)² = 2.25 + 0.25 + 0.25 + 2.25
    assert metrics.r2(y, y) == 1.0
    assert metrics.r2(np.ones((3, 1)), np.ones((3, 1))) == 1.0
    assert metrics.r2(np.ones((3, 1)), np.zeros((3, 1))) == 0.0


def test_classification_metrics():
    probabilities = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    labels = np.array([1, 1, 0])
    onehot = np.eye(3)[labels]
    assert metrics.sparse_categorical_accuracy(labels, probabilities) == pytest.approx(1 / 3)
    assert metrics.categorical_accuracy(onehot, probabilities) == pytest.approx(1 / 3)
    assert metrics.top_k_accuracy(labels, probabilities, k=2) == pytest.approx(2 / 3)
    assert metrics.top_k_accuracy(onehot, probabilities, k=3) == 1.0
    assert metrics.binary_accuracy(np.array([[1.0], [0.0]]), np.array([[0.9], [0.6]])) == 0.5


@pytest.mark.parametrize(
    ("loss", "outputs", "expected"),
    [
        ("binary_crossentropy", 1, metrics.binary_accuracy),
        ("sparse_categorical_crossentropy", 3, metrics.sparse_categorical_accuracy),
        ("categorical_crossentropy", 3, metrics.categorical_accuracy),
        ("mse", 1, metrics.binary_accuracy),
    ],
)
def test_accuracy_picks_its_kind_from_the_loss_and_outputs(loss, outputs, expected):
    model = mf.Sequential([mf.layers.Dense(outputs, input_dim=2)])
    model.compile("sgd", loss, metrics=["accuracy"])
    model.build()  # the number of outputs is known once built
    assert model.metrics == [("accuracy", expected)]


def test_metrics_in_fit_and_evaluate_are_computed_on_all_rows(rng):
    X = rng.normal(size=(40, 2))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    model = mf.Sequential([mf.layers.Dense(3, activation="softmax")], dtype="float64", seed=0)
    model.compile(
        mf.optimizers.SGD(0.5),
        "sparse_categorical_crossentropy",
        metrics=["accuracy", "top_k_accuracy", metrics.sparse_categorical_accuracy],
    )
    history = model.fit(X, labels, epochs=5, batch_size=7, verbose=0)
    assert set(history.history) == {
        "loss",
        "accuracy",
        "top_k_accuracy",
        "sparse_categorical_accuracy",
    }
    assert history.history["top_k_accuracy"] == [1.0] * 5  # 3 classes, k = 5
    result = model.evaluate(X, labels, return_dict=True)
    predicted = model.predict(X).argmax(axis=1)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == labels))


def test_unknown_metric_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown metric 'f2'. Expected one of: .*'mae'"):
        metrics.get("f2")

def test_binary_accuracy_compares_with_labels_and_refuses_other_values():
    assert mf.metrics.binary_accuracy(np.array([[1.0], [0.0]]), np.array([[0.9], [0.2]])) == 1.0
    with pytest.raises(ValueError, match="needs labels 0 and 1; the targets hold 1, 2"):
        mf.metrics.binary_accuracy(np.array([[1.0], [2.0]]), np.array([[0.9], [0.9]]))


def test_accuracy_of_mse_on_three_labels_is_refused_before_training(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(1, input_dim=4)], seed=0)
    model.compile("sgd", "mse", metrics=["accuracy"])
    before = model.get_weights()
    with pytest.raises(ValueError, match="metric 'accuracy' cannot be computed.*labels 0 and 1"):
        model.fit(X, labels, epochs=1, verbose=0)
    assert unchanged(model, before)


def test_a_metric_that_cannot_take_the_labels_fails_before_the_first_update(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile(
        "adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True), metrics=["mae"]
    )
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"metric 'mae' cannot be computed on these targets"):
        model.fit(X, labels, epochs=1, verbose=0)
    assert unchanged(model, before) and model.optimizer.iterations == 0


def test_precision_recall_f1_and_auc_binary_by_hand():
    y = np.array([[1], [1], [1], [0], [0]])
    p = np.array([[0.9], [0.8], [0.2], [0.7], [0.1]])  # TP 2, FN 1, FP 1, TN 1
    assert mf.metrics.precision(y, p) == pytest.approx(2 / 3)
    assert mf.metrics.recall(y, p) == pytest.approx(2 / 3)
    assert mf.metrics.f1(y, p) == pytest.approx(2 / 3)
    # positives score 0.9, 0.8, 0.2; negatives 0.7, 0.1: 5 of the 6 pairs ordered right
    assert mf.metrics.auc(y, p) == pytest.approx(5 / 6)


def test_precision_recall_f1_and_auc_macro_by_hand():
    labels = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.3, 0.6, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.2, 0.7],
            [0.6, 0.2, 0.2],
        ]
    )  # predicted 0, 1, 1, 1, 2, 0
    # per class: precision 1/2, 2/3, 1; recall 1/2, 1, 1/2
    assert mf.metrics.precision(labels, scores) == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert mf.metrics.recall(labels, scores) == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    f1s = [2 * p * r / (p + r) for p, r in [(1 / 2, 1 / 2), (2 / 3, 1), (1, 1 / 2)]]
    assert mf.metrics.f1(labels, scores) == pytest.approx(np.mean(f1s))
    assert mf.metrics.f1(np.eye(3)[labels], scores) == pytest.approx(np.mean(f1s))  # one-hot
    assert 0.5 < mf.metrics.auc(labels, scores) <= 1.0


def test_the_new_metrics_agree_with_scikit_learn(rng):
    sk = pytest.importorskip("sklearn.metrics")
    labels = rng.integers(0, 3, size=60)
    scores = rng.dirichlet(np.ones(3), size=60)
    predicted = scores.argmax(axis=1)
    for ours, theirs in [
        (mf.metrics.precision, sk.precision_score),
        (mf.metrics.recall, sk.recall_score),
        (mf.metrics.f1, sk.f1_score),
    ]:
        assert ours(labels, scores) == pytest.approx(
            theirs(labels, predicted, average="macro", zero_division=0)
        )
    assert mf.metrics.auc(labels, scores) == pytest.approx(
        sk.roc_auc_score(labels, scores, multi_class="ovr", average="macro")
    )


def test_metrics_by_name_in_compile(rng):
    X, labels = three_classes(rng, n=60)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile(
        "adam",
        mf.losses.SparseCategoricalCrossEntropy(from_logits=True),
        metrics=["precision", "recall", "f1", "auc"],
    )
    history = model.fit(X, labels, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "precision", "recall", "f1", "auc"}


class RowsByLabel(mf.losses.SparseCategoricalCrossEntropy):
    """A classification loss of one's own: its accuracy and labels come from its class."""

    accuracy = "top_k_accuracy"

    def class_labels(self, Y):
        return Y


def test_accuracy_and_class_labels_are_what_the_loss_declares(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, activation="softmax")], seed=0)
    model.compile("sgd", RowsByLabel(), metrics=["accuracy"])
    model.build((None, 4))
    assert model.metrics[0][1] is mf.metrics.top_k_accuracy
    with pytest.raises(ValueError, match=r"not among the labels of y: \[9\]"):
        model.fit(X, labels, class_weight={9: 2.0}, verbose=0)
    assert mf.losses.MSELoss().class_labels(labels[:, None]) is None
