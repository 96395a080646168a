"""A Keras user's first hour: results that look fine and are not become clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import minifw as mf


def three_classes(rng, n=30):
    X = rng.normal(size=(n, 4))
    labels = np.argmax(X[:, :3], axis=1)
    return X, labels


def unchanged(model, before) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


@pytest.mark.parametrize(
    ("last", "loss", "message"),
    [
        # the README's batched example without from_logits: a linear last layer
        (mf.layers.Dense(3), "sparse_categorical_crossentropy", r"outputs raw scores \(logits\)"),
        (mf.layers.Dense(3, activation="relu"), "categorical_crossentropy", "from_logits=True"),
        (mf.layers.Dense(1, activation="sigmoid"), "sparse_categorical_crossentropy", "1 output"),
        (mf.layers.Dense(3, activation="softmax"), "binary_crossentropy", "activation='sigmoid'"),
        (mf.layers.Dense(3, activation="sigmoid"), "categorical_crossentropy", "'softmax'"),
        (mf.layers.Dense(1, activation="tanh"), "binary_crossentropy", "raw scores"),
    ],
    ids=["linear+scce", "relu+cce", "sigmoid1+scce", "softmax+bce", "sigmoid+cce", "tanh+bce"],
)
def test_an_output_the_loss_cannot_mean_is_refused_before_training(last, loss, message, rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(8, input_dim=4, activation="relu"), last], seed=0)
    model.compile("adam", loss)
    before = model.get_weights()
    y = np.eye(3)[labels] if loss == "categorical_crossentropy" else labels
    if loss == "binary_crossentropy":
        y = (labels == 0).astype(float).reshape(-1, 1) * np.ones((1, last.units))
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, epochs=1, verbose=0)
    assert unchanged(model, before)


def test_a_softmax_output_with_a_logits_loss_warns_of_the_double_softmax(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4, activation="softmax")], seed=0)
    model.compile("adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    with pytest.warns(UserWarning, match="applies the activation a second time"):
        model.fit(X, labels, epochs=1, verbose=0)


def test_matching_outputs_and_losses_train_without_a_word(rng, recwarn):
    X, labels = three_classes(rng)
    for last, loss in [
        (mf.layers.Dense(3), mf.losses.SparseCategoricalCrossEntropy(from_logits=True)),
        (mf.layers.Dense(3, activation="softmax"), "sparse_categorical_crossentropy"),
        (mf.layers.Dense(1, activation="sigmoid"), "binary_crossentropy"),
    ]:
        model = mf.Sequential([mf.layers.Dense(4, input_dim=4), last], seed=0)
        model.compile("adam", loss, metrics=["accuracy"])
        y = (labels == 0).astype(float) if last.units == 1 else labels
        model.fit(X, y, epochs=2, verbose=0)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


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


def test_class_weight_keys_that_match_no_class_are_refused(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile("adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    with pytest.raises(ValueError, match=r"not among the labels of y: \[7\].*0, 1, 2"):
        model.fit(X, labels, class_weight={0: 1.0, 7: 2.0}, epochs=1, verbose=0)
    model.fit(X, labels, class_weight={0: 1.0, 2: 2.0}, epochs=1, verbose=0)


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


# -- Keras habits that work --------------------------------------------------------


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


def test_a_layer_gets_and_sets_its_own_weights_in_the_models_vectors():
    model = mf.Sequential([mf.layers.Dense(2, input_dim=3), mf.layers.Dense(1)], seed=0)
    model.build()
    dense = model.get_layer("dense_1")
    W, b = dense.get_weights()
    dense.set_weights([np.ones_like(W), np.full_like(b, 0.5)])
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((3, 2)))
    assert model.get_weights()[1].tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match=r"weight 0 must be a finite array of shape \(3, 2\)"):
        dense.set_weights([np.ones((2, 2)), b])
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((3, 2)))  # unchanged


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


# -- what Keras users expect to find -------------------------------------------------


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


def test_to_categorical_and_balanced_class_weights(rng):
    assert mf.utils.to_categorical([0, 2]).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert mf.utils.to_categorical([[1]], num_classes=3).tolist() == [[0, 1, 0]]
    with pytest.raises(ValueError, match="does not fit num_classes=2"):
        mf.utils.to_categorical([2], num_classes=2)
    with pytest.raises(ValueError, match="non-negative integer"):
        mf.utils.to_categorical([0.5])
    from minifw.data import sample_weights

    labels = np.array([0, 0, 0, 1])
    weights = sample_weights(mf.losses.SparseCategoricalCrossEntropy(), labels, None, "balanced")
    assert weights.tolist() == [4 / 6, 4 / 6, 4 / 6, 2.0]  # n / (classes · count)


def test_a_validation_split_of_classes_never_trained_on_warns(rng):
    X = rng.normal(size=(30, 4))
    labels = np.repeat([0, 1, 2], 10)  # sorted by class, as iris is
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile("adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    with pytest.warns(UserWarning, match=r"hold classes \(2\) that the training rows lack"):
        model.fit(X, labels, validation_split=0.34, epochs=1, verbose=0)


def test_summary_prints_once_and_returns_the_table_with_a_short_repr(capsys):
    model = mf.Sequential([mf.layers.Dense(2, input_dim=3)])
    table = model.summary()
    assert capsys.readouterr().out.strip() == table
    assert repr(table) == '<summary of "sequential" (float32)>'


def test_importing_minifw_imports_no_notebook_progress_bar():
    import subprocess
    import sys

    code = "import sys, minifw; print('tqdm.autonotebook' in sys.modules, 'tqdm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"] and not out.stderr


def test_a_mismatched_output_still_predicts_it_only_cannot_train(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    assert model.predict(X).shape == (30, 3)
    for call in (
        lambda: model.fit(X, labels, epochs=1, verbose=0),
        lambda: model.train_on_batch(X, labels),
        lambda: model.gradients(X, labels),
    ):
        with pytest.raises(ValueError, match="outputs raw scores"):
            call()
    assert model.optimizer.iterations == 0
