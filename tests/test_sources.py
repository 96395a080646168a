"""sources.py: batches from arrays and from iterables (generators, data larger than memory)."""

from __future__ import annotations

import numpy as np
import pytest
from support import model_for, small_regression


def test_a_generator_fed_fit_equals_the_array_fit_on_the_same_batches(rng):
    X, y = small_regression(rng, n=20)
    from_arrays, from_batches = model_for(rng), model_for(rng)
    from_arrays.fit(X, y, epochs=3, batch_size=8, shuffle=False, verbose=0)

    def batches():
        while True:
            for start in range(0, 20, 8):
                yield X[start : start + 8], y[start : start + 8]

    history = from_batches.fit(batches(), epochs=3, steps_per_epoch=3, verbose=0)
    for a, b in zip(from_arrays.get_weights(), from_batches.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(history.history["loss"]) == 3
    listed = [(X[s : s + 8], y[s : s + 8]) for s in range(0, 20, 8)]
    assert from_arrays.evaluate(iter(listed)) == pytest.approx(from_arrays.evaluate(X, y))
    np.testing.assert_allclose(from_arrays.predict(iter(listed)), from_arrays.predict(X))


def test_a_finite_generator_that_runs_out_stops_training_with_a_warning(rng):
    X, y = small_regression(rng, n=8)
    model = model_for(rng)
    with pytest.warns(RuntimeWarning, match="ran out of data"):
        history = model.fit(iter([(X, y)]), epochs=3, steps_per_epoch=1, verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.raises(ValueError, match="not a tuple"):
        model.fit(iter([X]), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="X must be an iterable of"):
        model.fit(X, verbose=0)
