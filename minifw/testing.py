"""Layer conformance: ``check_layer`` runs every check a layer must pass.

A layer is done when ``check_layer`` passes on it. The checks, each named in the
report:

- ``builds``: the factory gives a Layer that builds for ``input_shape``;
- ``output shape``: ``compute_output_shape`` equals the shape ``forward`` returns;
- ``gradients``: ∂L/∂input and every ∂L/∂param equal central differences
  (``minifw.gradcheck``, in float64, training mode, Dropout's masks replayed);
- ``float32`` and ``float64``: a layer built in a dtype computes in it, whatever
  the dtype of its input;
- ``config``: ``get_config`` → ``from_config`` rebuilds a layer with the same
  config, which computes the same outputs from the same weights;
- ``save and load``: a model holding the layer saves and loads with equal
  predictions;
- ``rows do not mix``: row i of the output depends on row i of the input alone
  (in training and in inference), unless the class declares ``whole_batch``
  (BatchNormalization, Dropout), which is then checked in inference only;
- ``memory layout``: a non-contiguous or Fortran-ordered input gives the outputs of
  a contiguous one (to rounding);
- ``inputs untouched``: ``forward`` and ``backward`` leave the caller's arrays as
  they were;
- ``deterministic inference``: ``training=False`` gives the same outputs twice.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .layers import deserialize, serialize
from .layers.base import Layer
from .model import Sequential
from .saving import load_model
from .teaching.gradcheck import gradcheck

__all__ = ["check_layer", "ConformanceReport"]

#: Largest gradient error counted as equal (see ``minifw.gradcheck``).
GRADIENT_TOLERANCE = 1e-6
#: Relative tolerance of outputs computed two ways, per dtype.
_RTOL = {np.dtype("float32"): 1e-5, np.dtype("float64"): 1e-12}


@dataclass
class ConformanceReport:
    """The outcome of each check, by name: None when it passed, else what was wrong."""

    layer: str
    results: dict[str, str | None] = field(default_factory=dict)

    @property
    def failures(self) -> dict[str, str]:
        return {name: problem for name, problem in self.results.items() if problem is not None}

    def __str__(self) -> str:
        lines = [f"check_layer({self.layer}):"]
        for name, problem in self.results.items():
            outcome = f"FAIL {name}: {problem}" if problem else f"ok   {name}"
            lines.append(f"  {outcome}")
        return "\n".join(lines)


def check_layer(
    layer_factory: Callable[[], Layer] | Layer,
    input_shape: tuple[int, ...],
    *,
    dtype: str = "float64",
    rng: np.random.Generator | None = None,
) -> ConformanceReport:
    """Run every check of the module docstring on the layer ``layer_factory()`` makes
    (or on copies of a layer given as it is), for inputs of ``input_shape`` (concrete,
    with the batch axis: ``(5, 4)``; at least 2 rows). Raises AssertionError naming
    each failed check; returns the report when all pass.

    Examples
    --------
    >>> import minifw as mf
    >>> print(mf.testing.check_layer(lambda: mf.layers.Dense(3, activation="tanh"), (4, 2)))
    ... # doctest: +ELLIPSIS
    check_layer(Dense):
      ok   builds
      ok   output shape
      ok   gradients
    ...
    """
    make = layer_factory if callable(layer_factory) and not isinstance(layer_factory, Layer) else (
        lambda: deepcopy(layer_factory)
    )
    rng = np.random.default_rng(0) if rng is None else rng
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) < 2 or shape[0] < 2 or min(shape) < 1:
        raise ValueError(
            f"check_layer: `input_shape` must be concrete with the batch axis and at least 2 "
            f"rows, e.g. (5, 4). Received: {input_shape!r}"
        )
    x = make().example_input(shape, rng)
    report = ConformanceReport(layer="?")
    layer = _run(report, "builds", lambda: _builds(make, shape, dtype))
    if layer is None:
        raise AssertionError(str(report))
    report.layer = type(layer).__name__
    checks = {
        "output shape": lambda: _output_shape(make, x),
        "gradients": lambda: _gradients(make, x),
        "float32": lambda: _dtype(make, x, "float32"),
        "float64": lambda: _dtype(make, x, "float64"),
        "config": lambda: _config(make, x),
        "save and load": lambda: _save_and_load(make, x),
        "rows do not mix": lambda: _rows(make, x),
        "memory layout": lambda: _layout(make, x),
        "inputs untouched": lambda: _untouched(make, x, rng),
        "deterministic inference": lambda: _deterministic(make, x),
    }
    for name, check in checks.items():
        _run(report, name, check)
    if report.failures:
        raise AssertionError(str(report))
    return report


def _run(report: ConformanceReport, name: str, check: Callable):
    """Record ``check()``'s problem (its AssertionError's or any error's text) under ``name``."""
    try:
        result = check()
    except AssertionError as problem:
        report.results[name] = str(problem) or "failed"
        return None
    except Exception as error:  # a crash is a failed check too
        report.results[name] = f"{type(error).__name__}: {error}"
        return None
    report.results[name] = None
    return result


def _built(make, shape, dtype="float64", seed=0) -> Layer:
    layer = make()
    layer.build((None, *shape[1:]), np.random.default_rng(seed), dtype)
    return layer


def _builds(make, shape, dtype) -> Layer:
    layer = make()
    assert isinstance(layer, Layer), f"the factory gave {type(layer).__name__}, not a Layer"
    layer.build((None, *shape[1:]), np.random.default_rng(0), dtype)
    return layer


def _output_shape(make, x) -> None:
    layer = _built(make, x.shape)
    for training in (False, True):
        out = layer.forward(x, training=training)
        declared = layer.compute_output_shape((len(x), *x.shape[1:]))
        assert tuple(out.shape) == tuple(declared), (
            f"forward gave {out.shape}, compute_output_shape {declared} (training={training})"
        )


def _gradients(make, x) -> None:
    layer = _built(make, x.shape)
    _move_statistics(layer, x)
    errors = gradcheck(layer, x)
    wrong = {name: error for name, error in errors.items() if error > GRADIENT_TOLERANCE}
    assert not wrong, "analytic and central-difference gradients differ: " + ", ".join(
        f"∂L/∂{name} (error {error:.2g})" for name, error in wrong.items()
    )


def _dtype(make, x, dtype) -> None:
    layer = _built(make, x.shape, dtype)
    for given in (np.float32, np.float64):
        for training in (False, True):
            out = layer.forward(x.astype(given), training=training)
            assert out.dtype == np.dtype(dtype), (
                f"built in {dtype}, given {np.dtype(given).name}: the output is {out.dtype}"
            )
            grad = layer.backward(np.ones_like(out))
            assert grad.dtype == np.dtype(dtype), (
                f"built in {dtype}: backward returned {grad.dtype}"
            )


def _config(make, x) -> None:
    layer = _built(make, x.shape)
    _move_statistics(layer, x)
    config = serialize(layer)
    again = deserialize(config)
    assert type(again) is type(layer), f"from_config built a {type(again).__name__}"
    assert serialize(again) == config, (
        f"get_config → from_config → get_config changed: {config} became {serialize(again)}"
    )
    again.build((None, *x.shape[1:]), np.random.default_rng(1), "float64")
    again.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        again.forward(x), layer.forward(x), rtol=1e-12, atol=1e-14,
        err_msg="the rebuilt layer computes other outputs from the same weights",
    )


def _save_and_load(make, x) -> None:
    model = Sequential([make()], dtype="float64", seed=0)
    model.build((None, *x.shape[1:]))
    expected = model.predict(x)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layer.minifw"
        model.save(path)
        loaded = load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x), expected, rtol=1e-12, atol=1e-14,
        err_msg="a model holding the layer predicts otherwise after save and load",
    )


def _rows(make, x) -> None:
    layer = _built(make, x.shape)
    modes = (False,) if type(layer).whole_batch else (False, True)
    for training in modes:
        whole = layer.forward(x, training=training)
        for i in range(len(x)):
            alone = layer.forward(x[i : i + 1], training=training)
            np.testing.assert_allclose(
                alone[0], whole[i], rtol=1e-10, atol=1e-12,
                err_msg=f"row {i}'s output depends on other rows (training={training}); a "
                "layer that looks at the whole batch declares whole_batch = True",
            )


def _layout(make, x) -> None:
    layer = _built(make, x.shape)
    expected = layer.forward(np.ascontiguousarray(x))
    wide = np.repeat(x, 2, axis=-1)[..., ::2]  # the same values, every other entry
    for name, variant in (("Fortran-ordered", np.asfortranarray(x)), ("strided", wide)):
        np.testing.assert_allclose(
            layer.forward(variant), expected, rtol=1e-12, atol=1e-14,
            err_msg=f"a {name} input gives other outputs",
        )


def _untouched(make, x, rng) -> None:
    layer = _built(make, x.shape)
    given = x.copy()
    out = layer.forward(given, training=True)
    assert np.array_equal(given, x), "forward changed the caller's input array"
    grad_output = rng.normal(size=out.shape)
    kept = grad_output.copy()
    layer.backward(grad_output)
    assert np.array_equal(grad_output, kept), "backward changed the caller's grad_output array"


def _deterministic(make, x) -> None:
    layer = _built(make, x.shape)
    first = layer.forward(x, training=False).copy()
    second = layer.forward(x, training=False)
    assert np.array_equal(first, second), "training=False gave different outputs twice"


def _move_statistics(layer: Layer, x: np.ndarray) -> None:
    """Moving statistics (and any state) away from their starting values, so that the
    checks see them used: one training pass."""
    if layer.state:
        layer.forward(x, training=True)
