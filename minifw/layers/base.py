"""The Layer base class: build, forward, backward, params and grads."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

import numpy as np

from ..validation import as_numeric_array, float_dtype


class Layer:
    """One step of the network: ``forward`` maps inputs to outputs, ``backward`` maps
    ∂L/∂output to ∂L/∂input and fills ``grads`` with ∂L/∂param.

    Shapes include the batch axis first: a layer built with input shape
    ``(None, 3)`` takes arrays of shape (n, 3) for any n.

    Attributes
    ----------
    params, grads : dict[str, ndarray]
        Trainable arrays and their gradients, with identical keys and shapes
        (``{}`` for layers without weights). Both are updated in place, never
        rebound by the layer: a built ``Sequential`` rebinds them once to views
        into its flat buffers, so that an optimizer step is a few whole-buffer
        operations.
    state : dict[str, ndarray]
        Non-trainable arrays (BatchNormalization's moving statistics,
        Normalization's mean and variance): saved and restored with the
        weights, never touched by an optimizer. Also updated in place.
    needs_input_grad : bool
        When False, ``backward`` may skip ∂L/∂input and return None (set by
        ``Sequential`` on its first trainable layer, whose input is the data).
    """

    def __init__(self, *, name: str | None = None) -> None:
        if name is not None and not (isinstance(name, str) and name):
            raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self._feature_shape: tuple | None = None  # input_shape[1:], for the per-call check
        self.dtype: np.dtype | None = None
        self.needs_input_grad = True
        self._out: np.ndarray | None = None  # the last output, for the shape check in backward

    # -- building -----------------------------------------------------------------

    def build(self, input_shape: tuple, rng: np.random.Generator | None = None, dtype="float64"):
        """Create the parameters for inputs of ``input_shape`` (batch axis first).

        ``rng`` feeds the random initializers (a fresh unseeded Generator when
        omitted); ``dtype`` is float32 or float64.
        """
        input_shape = _batch_shape(input_shape, type(self).__name__)
        self.dtype = float_dtype(dtype)
        rng = np.random.default_rng() if rng is None else rng
        self.params = self._init_params(input_shape, rng, self.dtype)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.state = self._init_state(input_shape, self.dtype)
        self.input_shape = input_shape
        self.output_shape = self.compute_output_shape(input_shape)
        self._feature_shape = input_shape[1:]
        self.built = True

    def _forget_build(self) -> None:
        """Back to the unbuilt state (used when building a whole model fails halfway)."""
        self.params, self.grads, self.state = {}, {}, {}
        self.input_shape = self.output_shape = self._feature_shape = None
        self.built = False

    def _init_params(self, input_shape: tuple, rng: np.random.Generator, dtype) -> dict:
        """New parameter arrays for this input shape; layers with weights override it."""
        return {}

    def _init_state(self, input_shape: tuple, dtype) -> dict:
        """New non-trainable arrays for this input shape; none by default."""
        return {}

    @property
    def declared_input_shape(self) -> tuple | None:
        """The input shape fixed at construction (e.g. Dense's ``input_dim``), if any;
        a model whose first layer declares one can build itself."""
        return None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """Output shape for ``input_shape`` (batch axis first); same shape by default."""
        return tuple(input_shape)

    # -- computing ----------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Outputs for inputs ``x``, caching what ``backward`` needs.

        Checks the shape of ``x``, then runs ``_forward``. A new layer
        implements ``_forward`` and ``_backward`` (which may trust their
        arguments, keep their last output in ``self._out``, and ``_backward``
        may overwrite the gradient it is given), or overrides ``forward`` and
        ``backward`` themselves.
        """
        x = as_numeric_array(x, "x")
        self._check_input(x)
        return self._forward(x if x.dtype == self.dtype else x.astype(self.dtype), training)

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """∂L/∂input from ``grad_output`` = ∂L/∂output, writing ∂L/∂param into ``grads``."""
        grad_output = as_numeric_array(grad_output, "grad_output")
        self._check_grad(grad_output, self._out)
        # A copy: ``_backward`` may overwrite its argument (a model passes each one once).
        return self._backward(grad_output.astype(self.dtype))

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} implements neither forward nor _forward.")

    def _backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError(
            f"{type(self).__name__} implements neither backward nor _backward."
        )

    def steps(self) -> list[tuple[Layer, Callable, Callable]]:
        """The (owner, forward, backward) steps a model runs for this layer: one by default.

        A model checks its data once, and the shapes between layers are fixed
        when it is built, so it runs ``_forward``/``_backward`` without the
        per-call checks, unless a subclass overrides ``forward``/``backward``.
        A layer that is two steps in one (Dense with an activation) lists both,
        so that a model can fuse its last activation with the loss.
        """
        if type(self).forward is Layer.forward and type(self).backward is Layer.backward:
            return [(self, self._forward, self._backward)]
        return [(self, self.forward, self.backward)]

    def regularizers(self) -> dict:
        """``{param_key: Regularizer}``: penalties a model adds to its loss; none by default."""
        return {}

    def __call__(self, x, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        if not self.built:
            dtype = x.dtype if x.dtype.name in ("float32", "float64") else "float64"
            self.build(x.shape, dtype=dtype)
        return self.forward(x, training=training)

    def _check_input(self, x: np.ndarray) -> None:
        """Refuse inputs whose shape (after the batch axis) differs from the built one."""
        features = self._feature_shape
        if features is None:
            raise RuntimeError(
                f"{self!r} is not built: call layer.build(input_shape) or call the layer "
                "on data first."
            )
        if not isinstance(x, np.ndarray) or x.shape[1:] != features:
            expected = ("n",) + self.input_shape[1:]
            received = getattr(x, "shape", type(x).__name__)
            raise ValueError(
                f"{type(self).__name__} expected inputs of shape {_shape_text(expected)}, "
                f"got {received}."
            )

    def _check_grad(self, grad_output: np.ndarray, output: np.ndarray | None) -> None:
        """Refuse a backward call before forward, or with a gradient of the wrong shape."""
        if output is None:
            raise RuntimeError(f"{self!r}: call forward before backward.")
        if getattr(grad_output, "shape", None) != output.shape:
            raise ValueError(
                f"{type(self).__name__}.backward expected grad_output of shape {output.shape} "
                f"(the shape of its last output), got {getattr(grad_output, 'shape', grad_output)}."
            )

    # -- describing ---------------------------------------------------------------

    def get_config(self) -> dict:
        """Constructor arguments as plain JSON-able values; ``cls(**config)`` rebuilds it."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def count_params_for(self, input_shape: tuple) -> int:
        """How many entries ``build(input_shape)`` would create, without creating them."""
        return 0

    @property
    def count_params(self) -> int:
        """Trainable and non-trainable entries."""
        return sum(int(value.size) for value in (*self.params.values(), *self.state.values()))

    def __repr__(self) -> str:
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
        }
        shown = [
            f"{key}={value!r}"
            for key, value in self.get_config().items()
            if key != "name" and defaults.get(key, inspect.Parameter.empty) != value
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


def default_name(layer: Layer) -> str:
    """``Dense`` -> ``"dense"``, ``LeakyReLU`` -> ``"leaky_relu"``: the stem of auto names."""
    return re.sub(
        r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", type(layer).__name__
    ).lower()


def _batch_shape(shape: object, owner: str) -> tuple:
    """``(batch, d1, ...)`` with the batch entry replaced by None."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    ok = len(dims) >= 2 and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims[1:]
    )
    if not ok:
        raise ValueError(
            f"{owner}: input shape must be (batch, features, ...) with positive sizes, e.g. "
            f"(None, 2). Received: {shape!r}"
        )
    return (None,) + tuple(int(d) for d in dims[1:])


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
