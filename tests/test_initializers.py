"""Initializers: values, distributions, seeding, names."""

from __future__ import annotations

import numpy as np
import pytest

from minifw import initializers


@pytest.mark.parametrize(("name", "value"), [("zeros", 0.0), ("ones", 1.0)])
def test_constant_initializers_fill_every_entry(name, value, rng):
    array = initializers.get(name)((3, 2), rng, "float32")
    assert array.dtype == np.float32 and array.shape == (3, 2) and (array == value).all()
    assert (initializers.Constant(0.25)((2,), rng, "float64") == 0.25).all()


@pytest.mark.parametrize(
    ("name", "limit"),
    [("glorot_uniform", np.sqrt(6 / (400 + 200))), ("he_uniform", np.sqrt(6 / 400))],
)
def test_uniform_variance_scaling_stays_within_its_limit_and_fills_it(name, limit, rng):
    array = initializers.get(name)((400, 200), rng, "float64")
    assert np.abs(array).max() <= limit
    assert np.abs(array).max() > 0.99 * limit
    assert array.var() == pytest.approx(limit**2 / 3, rel=0.02)


@pytest.mark.parametrize(
    ("name", "variance"),
    [("glorot_normal", 2 / (400 + 200)), ("he_normal", 2 / 400)],
)
def test_truncated_normals_have_the_documented_variance_and_cut_at_two_sigma(name, variance, rng):
    array = initializers.get(name)((400, 200), rng, "float64")
    assert array.var() == pytest.approx(variance, rel=0.03)
    sigma = np.sqrt(variance) / 0.87962566103423978
    assert np.abs(array).max() <= 2 * sigma


def test_random_normal_and_uniform_use_their_arguments(rng):
    normal = initializers.RandomNormal(mean=1.0, stddev=0.5)((200, 200), rng, "float64")
    assert normal.mean() == pytest.approx(1.0, abs=0.01)
    assert normal.std() == pytest.approx(0.5, rel=0.02)
    uniform = initializers.RandomUniform(-0.25, 0.5)((200, 200), rng, "float64")
    assert uniform.min() >= -0.25 and uniform.max() < 0.5


def test_the_same_generator_seed_gives_the_same_values():
    draw = initializers.get("glorot_uniform")
    first = draw((5, 4), np.random.default_rng(7), "float32")
    again = draw((5, 4), np.random.default_rng(7), "float32")
    np.testing.assert_array_equal(first, again)


def test_unknown_names_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="Unknown initializer 'glorot'. Expected one of:"):
        initializers.get("glorot")
    with pytest.raises(TypeError, match="initializer name"):
        initializers.get(3)
    with pytest.raises(ValueError, match="`stddev` must be a positive finite number"):
        initializers.RandomNormal(stddev=0)
    with pytest.raises(ValueError, match="`minval` must be less than `maxval`"):
        initializers.RandomUniform(1.0, 1.0)
    with pytest.raises(ValueError, match="`value` must be a finite number"):
        initializers.Constant(float("nan"))


@pytest.mark.parametrize(
    "initializer",
    [
        initializers.Ones(),
        initializers.Constant(0.5),
        initializers.HeNormal(),
        initializers.RandomUniform(-1.0, 2.0),
        initializers.VarianceScaling(2.0, "fan_out", "normal"),
    ],
    ids=repr,
)
def test_serialize_round_trips(initializer, rng):
    rebuilt = initializers.get(initializers.serialize(initializer))
    assert type(rebuilt) is type(initializer)
    assert rebuilt.get_config() == initializer.get_config()
