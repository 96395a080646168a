"""data.py: validation splits, sample and class weights."""

from __future__ import annotations

import numpy as np
import pytest
from support import three_classes

import minifw as mf


def test_class_weight_keys_that_match_no_class_are_refused(rng):
    X, labels = three_classes(rng)
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile("adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    with pytest.raises(ValueError, match=r"not among the labels of y: \[7\].*0, 1, 2"):
        model.fit(X, labels, class_weight={0: 1.0, 7: 2.0}, epochs=1, verbose=0)
    model.fit(X, labels, class_weight={0: 1.0, 2: 2.0}, epochs=1, verbose=0)


def test_a_validation_split_of_classes_never_trained_on_warns(rng):
    X = rng.normal(size=(30, 4))
    labels = np.repeat([0, 1, 2], 10)  # sorted by class, as iris is
    model = mf.Sequential([mf.layers.Dense(3, input_dim=4)], seed=0)
    model.compile("adam", mf.losses.SparseCategoricalCrossEntropy(from_logits=True))
    with pytest.warns(UserWarning, match=r"hold classes \(2\) that the training rows lack"):
        model.fit(X, labels, validation_split=0.34, epochs=1, verbose=0)


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
