"""``minifw.utils``: to_categorical as Keras's, refusing what is not a label."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import minifw as mf


@pytest.mark.parametrize("labels", [[0, np.inf], [0, np.nan], [1, -np.inf]])
def test_to_categorical_refuses_non_finite_labels_naming_them(labels):
    with pytest.raises(ValueError, match="contains NaN or infinity"):
        mf.utils.to_categorical(labels)


def test_to_categorical_uses_memory_in_proportion_to_its_result():
    tracemalloc.start()
    try:
        one_hot = mf.utils.to_categorical([0, 3, 19999, 7, 3], num_classes=20_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert one_hot.shape == (5, 20_000) and one_hot.sum() == 5 and one_hot[2, 19999] == 1
    assert peak < 3 * one_hot.nbytes  # the identity matrix alone would be 1.5 GiB


def test_to_categorical_keeps_the_dtype_asked_for():
    one_hot = mf.utils.to_categorical([2, 0], dtype="int8")
    assert one_hot.dtype == np.int8 and one_hot.tolist() == [[0, 0, 1], [1, 0, 0]]


def test_to_categorical_refuses_a_label_no_one_hot_row_could_hold():
    with pytest.raises(ValueError, match="label 1e\\+300 would need a one-hot row"):
        mf.utils.to_categorical([1e300])
