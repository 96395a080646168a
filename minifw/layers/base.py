"""The Layer contract: parameter shapes, output shape, forward, backward and config.

A layer is written once, as its arithmetic:

- ``param_shapes(input_shape)`` / ``state_shapes(input_shape)``: the trainable
  and non-trainable arrays it needs, by name, and ``initial_value`` for each;
- ``compute_output_shape(input_shape)``;
- ``forward(x, training)``: the outputs, caching what ``backward`` needs;
- ``backward(grad_output)``: ∂L/∂input, writing ∂L/∂param into ``grads``;
- ``get_config()``: the constructor arguments.

Called by a user, ``forward`` and ``backward`` first check their argument (a
number array of the built shape) and ``backward`` works on a copy; the base
class adds those checks to every subclass's methods. A model, which checked
its data once at its own boundary, runs the very same methods without them
(``steps()``), so ``backward`` may overwrite the gradient it is given.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..registry import Catalogue
from ..validation import as_numeric_array, fits_shape, float_dtype


class BatchContext:
    """What a step may need to know of the whole batch beyond the rows it is given: plan
    state, passed to the steps of whole-batch layers (``Layer.whole_batch``) when a plan
    is compiled. The default is a batch that is all here; data-parallel training gives
    one whose batch is spread over processes.
    """

    #: Where these rows sit in the whole batch, ``(total, start)``; None: all rows are here.
    part: tuple[int, int] | None = None
    #: The gradient vector is summed over processes after the backward pass: a layer that
    #: writes only part of its gradient (Embedding's rows) must clear the rest each step.
    summed_gradients = False

    def mean(self, array: np.ndarray, axes) -> np.ndarray:
        """The mean over ``axes`` of the whole batch, dims kept (here: of these rows)."""
        return array.mean(axis=axes, keepdims=True)


#: The batch as one process sees it alone.
LOCAL = BatchContext()


@dataclass(frozen=True)
class Weight:
    """One array a layer owns, described once: its shape, how it starts, its penalty,
    and whether an optimizer trains it (False: non-trainable state, such as moving
    statistics)."""

    shape: tuple[int, ...]
    #: ``initializer(shape, rng, dtype)``; None: the layer's ``initial_value``.
    initializer: Callable | None = None
    #: A ``minifw.regularizers.Regularizer`` whose penalty the model adds to its loss.
    regularizer: object | None = None
    trainable: bool = True


@dataclass(frozen=True)
class Step:
    """One forward/backward step a model runs for a layer (a Dense layer with an
    activation is two steps, so that a model can fuse the last one with its loss).

    ``parameter_backward``, when given, fills the parameter gradients without
    computing ∂L/∂input: what a model runs for its first trainable step, whose
    input is the data.
    """

    layer: Layer
    forward: Callable[[np.ndarray, bool], np.ndarray]
    backward: Callable[[np.ndarray], np.ndarray]
    parameter_backward: Callable[[np.ndarray], None] | None = None


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
        rebound by the layer: a model holds them as views into its flat
        vectors (``minifw.parameters``), so that an optimizer step is a few
        whole-vector operations.
    state : dict[str, ndarray]
        Non-trainable arrays (BatchNormalization's moving statistics,
        Normalization's mean and variance): saved and restored with the
        weights, never touched by an optimizer. Also updated in place.
    rng : numpy.random.Generator or None
        The layer's own random generator (Dropout's masks), seeded when it is
        built; part of a model's training state.

    whole_batch : bool
        In training, the output of a row depends on the whole batch (BatchNormalization's
        statistics, Dropout's masks drawn for the batch): the layer's steps take the
        plan's ``BatchContext``, and its rows are not checked for independence.

    Masks (Keras's: which steps of a sequence are padding, an (n, T) array of booleans):

    keeps_mask : bool
        The output keeps the input's mask: a layer that works on each step alone (Dense,
        activations, Dropout). Past any other layer a mask ends, unless the layer makes one.
    makes_mask : bool
        The layer sets ``output_mask`` in its forward pass: Embedding with
        ``mask_zero`` (the ids that are not 0), a recurrent layer returning sequences
        (its input's mask, in its outputs' order).
    mask_from : Layer or None
        The layer whose ``output_mask`` is this layer's input's mask, linked by
        ``connect_masks`` when a model lays out its plan; a recurrent layer reads it.

    Facts a model's checks read from the class of its last layer:

    output_kind : "raw", "probabilities", "distribution" or None
        What the outputs mean: raw scores (logits, values), probabilities in
        (0, 1) each, or rows that sum to 1; None (the default) is not judged.
    output_range : (low, high)
        The closed interval every output lies in, ±inf where unbounded: a
        regression target outside it cannot be reached.
    """

    whole_batch = False
    #: False for a layer whose inputs are ids (Embedding): no ∂L/∂input is checked.
    differentiable_input = True
    output_kind: str | None = None
    output_range: tuple[float, float] = (-np.inf, np.inf)
    #: The layer takes sequences of any length: a shape's time axis (axis 1 of (n, T, k),
    #: or of Embedding's ids (n, T)) may be None (``input_shape=(None, features)``).
    any_length = False
    keeps_mask = False
    makes_mask = False
    mask_from: Layer | None = None
    output_mask: np.ndarray | None = None

    def __init__(self, *, name: str | None = None, input_shape: tuple | None = None) -> None:
        if name is not None and not (isinstance(name, str) and name):
            raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
        self.name = name
        #: The input shape without the batch axis given at construction (Keras's
        #: ``input_shape=``), so that a model whose first layer it is can build itself.
        self.declared = declared_shape(
            input_shape, type(self).__name__, self.any_length, not self.differentiable_input
        )
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self.dtype: np.dtype | None = None
        self.rng: np.random.Generator | None = None
        #: False freezes ``params``: a model keeps them out of its optimizer's updates
        #: (they count as non-trainable, as in Keras); they still take part in backward.
        self.trainable = True
        self._described: dict[str, Weight] = {}  # the weights as built
        #: The shape of the last output of a public ``forward``, for the check of ``backward``
        #: (recorded by the checks, not by the layer).
        self._last_output_shape: tuple | None = None

    def __init_subclass__(cls, **kwargs) -> None:
        """Give the ``forward``/``backward`` a subclass writes the checks of a public call."""
        super().__init_subclass__(**kwargs)
        for name, add_checks in (("forward", _checked_forward), ("backward", _checked_backward)):
            method = cls.__dict__.get(name)
            if method is not None and not hasattr(method, "__wrapped__"):
                setattr(cls, name, add_checks(method))

    # -- building -----------------------------------------------------------------

    def weights(self, input_shape: tuple) -> dict[str, Weight]:
        """Every array the layer owns for inputs of ``input_shape``, by name, each described
        once (``Weight``). By default from ``param_shapes`` (trainable) and
        ``state_shapes`` (not), started by ``initial_value``: the short way for a layer
        without initializers or penalties of its own."""
        return {
            **{key: Weight(shape) for key, shape in self.param_shapes(input_shape).items()},
            **{
                key: Weight(shape, trainable=False)
                for key, shape in self.state_shapes(input_shape).items()
            },
        }

    def param_shapes(self, input_shape: tuple) -> dict[str, tuple[int, ...]]:
        """The trainable arrays for inputs of ``input_shape``, by name; none by default."""
        return {}

    def state_shapes(self, input_shape: tuple) -> dict[str, tuple[int, ...]]:
        """The non-trainable arrays for inputs of ``input_shape``, by name; none by default."""
        return {}

    def initial_value(
        self, key: str, shape: tuple[int, ...], rng: np.random.Generator, dtype: np.dtype
    ) -> np.ndarray:
        """The starting value of the array ``key``: zeros unless a layer says otherwise."""
        return np.zeros(shape, dtype=dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """Output shape for ``input_shape`` (batch axis first); same shape by default."""
        return tuple(input_shape)

    def check_values(self, x: np.ndarray) -> None:
        """Refuse input values the layer cannot take, naming one (Embedding: ids that are
        not whole or out of range). A model calls it on its first layer with all of its
        data before anything runs; none by default."""

    def example_input(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        """Inputs of ``shape`` for a test of the layer (``minifw.testing.check_layer``):
        standard normal values, unless the layer takes something else (ids)."""
        return rng.normal(size=shape)

    @property
    def declared_input_shape(self) -> tuple | None:
        """The input shape fixed at construction (``input_shape=``, Dense's ``input_dim``),
        with the batch axis as None, if any; a model whose first layer declares one can
        build itself."""
        return None if self.declared is None else (None, *self.declared)

    def build(self, input_shape: tuple, rng: np.random.Generator | None = None, dtype="float64"):
        """Create the arrays for inputs of ``input_shape`` (batch axis first).

        ``rng`` feeds the random initializers (a fresh unseeded Generator when
        omitted); ``dtype`` is float32 or float64.
        """
        input_shape = _batch_shape(
            input_shape, type(self).__name__, self.any_length, not self.differentiable_input
        )
        dtype = float_dtype(dtype)
        rng = np.random.default_rng() if rng is None else rng
        described = self.weights(input_shape)
        params, state = {}, {}
        for key, weight in described.items():
            start = (
                self.initial_value(key, weight.shape, rng, dtype)
                if weight.initializer is None
                else weight.initializer(weight.shape, rng, dtype)
            )
            (params if weight.trainable else state)[key] = start
        self._described = described
        self.output_shape = self.compute_output_shape(input_shape)
        self.params, self.state, self.dtype = params, state, dtype
        self.grads = {key: np.zeros_like(value) for key, value in params.items()}
        self.input_shape = input_shape
        self.built = True

    def unbuild(self) -> None:
        """Back to the unbuilt state (when building a whole model fails halfway)."""
        self.params, self.grads, self.state, self._described = {}, {}, {}, {}
        self.input_shape = self.output_shape = self.dtype = None
        self.built = False

    def count_params_for(self, input_shape: tuple) -> int:
        """How many entries ``build(input_shape)`` would create, without creating them."""
        return sum(math.prod(weight.shape) for weight in self.weights(input_shape).values())

    @property
    def count_params(self) -> int:
        """Trainable and non-trainable entries."""
        return sum(int(value.size) for value in (*self.params.values(), *self.state.values()))

    # -- computing ----------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Outputs for inputs ``x``, caching what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward.")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """∂L/∂input from ``grad_output`` = ∂L/∂output, writing ∂L/∂param into ``grads``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement backward.")

    def steps(self, context: BatchContext = LOCAL) -> list[Step]:
        """The steps a model runs for this layer: its own forward and backward, without
        the checks of a public call (the model checked its data once). ``context`` is
        the whole batch's, for whole-batch layers; others need none."""
        return [Step(self, self._unchecked("forward"), self._unchecked("backward"))]

    def _unchecked(self, name: str) -> Callable:
        """The method ``name`` as the layer wrote it, bound to this layer."""
        method = getattr(type(self), name)
        return types.MethodType(getattr(method, "__wrapped__", method), self)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of this layer's arrays: its parameters, then its state (Keras's order)."""
        return [value.copy() for value in (*self.params.values(), *self.state.values())]

    def set_weights(self, weights: list) -> None:
        """Replace this layer's arrays (as ``get_weights`` orders them), in place; all are
        checked (count, shape, finite) before any is written."""
        targets = [*self.params.values(), *self.state.values()]
        if isinstance(weights, np.ndarray) or len(weights) != len(targets):
            raise ValueError(
                f"{type(self).__name__}.set_weights expects a list of {len(targets)} arrays, "
                f"as get_weights() returns them."
            )
        checked = []
        for index, (target, value) in enumerate(zip(targets, weights)):
            array = as_numeric_array(value, f"weight {index}")
            if array.shape != target.shape or not np.isfinite(array).all():
                raise ValueError(
                    f"{type(self).__name__}.set_weights: weight {index} must be a finite "
                    f"array of shape {target.shape}, got shape {array.shape}."
                )
            checked.append(array)
        for target, array in zip(targets, checked):
            target[...] = array

    def regularizers(self) -> dict:
        """``{param_key: Regularizer}``: the penalties a model adds to its loss, from the
        weights' descriptions."""
        described = self._described
        return {key: w.regularizer for key, w in described.items() if w.regularizer is not None}

    def __call__(self, x, training: bool = False) -> np.ndarray:
        """``forward``, building the layer from ``x`` on first use."""
        x = as_numeric_array(x, "x")
        if not self.built:
            dtype = x.dtype if x.dtype.name in ("float32", "float64") else "float64"
            self.build(x.shape, dtype=dtype)
        return self.forward(x, training=training)

    def _check_input(self, x: np.ndarray) -> None:
        """Refuse inputs whose shape (after the batch axis) differs from the built one."""
        if not self.built:
            raise RuntimeError(
                f"{self!r} is not built: call layer.build(input_shape) or call the layer "
                "on data first."
            )
        if not fits_shape(x.shape, self.input_shape):
            expected = ("n",) + self.input_shape[1:]
            raise ValueError(
                f"{type(self).__name__} expected inputs of shape {_shape_text(expected)}, "
                f"got {x.shape}."
            )

    def _check_grad(self, grad_output: np.ndarray) -> None:
        """Refuse a backward call before forward, or with a gradient of the wrong shape."""
        expected = self._last_output_shape
        if expected is None:
            raise RuntimeError(f"{self!r}: call forward before backward.")
        if grad_output.shape != expected:
            raise ValueError(
                f"{type(self).__name__}.backward expected grad_output of shape "
                f"{expected} (the shape of its last output), got {grad_output.shape}."
            )

    # -- describing ---------------------------------------------------------------

    def get_config(self) -> dict:
        """Constructor arguments as plain JSON-able values (and ``trainable`` when False);
        ``from_config`` rebuilds the layer."""
        config = {"name": self.name}
        if self.declared is not None:
            config["input_shape"] = list(self.declared)
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        config = dict(config)
        trainable = config.pop("trainable", True)
        if not isinstance(trainable, bool):
            raise ValueError(f"`trainable` must be True or False. Received: {trainable!r}")
        layer = cls(**config)
        layer.trainable = trainable
        return layer

    def __repr__(self) -> str:
        parameters = inspect.signature(type(self).__init__).parameters
        config = self.get_config()
        in_order = [key for key in parameters if key in config] + [
            key for key in config if key not in parameters
        ]  # as the constructor call is written
        shown = [
            f"{key}={config[key]!r}"
            for key in in_order
            if key not in ("name", "trainable")
            and getattr(parameters.get(key), "default", inspect.Parameter.empty) != config[key]
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


def connect_masks(layers: Sequence[Layer]) -> None:
    """Point each layer's ``mask_from`` at the nearest layer before it that makes a mask,
    through layers that keep masks (Keras's mask propagation); None past any other."""
    source = None
    for layer in layers:
        layer.mask_from = source
        if layer.makes_mask:
            source = layer
        elif not layer.keeps_mask:
            source = None


def _checked_forward(forward: Callable) -> Callable:
    @functools.wraps(forward)
    def checked(self: Layer, x, training: bool = False) -> np.ndarray:
        x = as_numeric_array(x, "x")
        self._check_input(x)
        out = forward(self, x if x.dtype == self.dtype else x.astype(self.dtype), training)
        self._last_output_shape = out.shape
        return out

    return checked


def _checked_backward(backward: Callable) -> Callable:
    @functools.wraps(backward)
    def checked(self: Layer, grad_output) -> np.ndarray:
        grad_output = as_numeric_array(grad_output, "grad_output")
        self._check_grad(grad_output)
        # A copy: ``backward`` may overwrite its argument (a model passes each one once).
        return backward(self, grad_output.astype(self.dtype))

    return checked


def default_name(layer: Layer) -> str:
    """``Dense`` -> ``"dense"``, ``LeakyReLU`` -> ``"leaky_relu"``: the stem of auto names."""
    return re.sub(
        r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", type(layer).__name__
    ).lower()


def _size(d: object) -> bool:
    return isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0


def _sample_dims(dims: tuple, any_length: bool, ids: bool = False) -> tuple | None:
    """``dims`` (one sample's) as ints, the time axis (the first of a sequence (T, k), or
    of ids (T,)) left None when ``any_length`` allows it; None if they are not sizes."""
    if not dims:
        return None
    first = dims[0] is None and any_length and len(dims) == (1 if ids else 2)
    if not (first or _size(dims[0])) or not all(_size(d) for d in dims[1:]):
        return None
    return (None if first else int(dims[0]), *(int(d) for d in dims[1:]))


def _batch_shape(shape: object, owner: str, any_length: bool = False, ids: bool = False) -> tuple:
    """``(batch, d1, ...)`` with the batch entry replaced by None (and d1, a sequence's
    length, None when given so to a layer that takes any length)."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    sample = _sample_dims(dims[1:], any_length, ids) if len(dims) >= 2 else None
    if sample is None and len(dims) == 3 and dims[1] is None and _size(dims[2]):
        raise ValueError(
            f"{owner} needs inputs of a fixed shape; got {tuple(dims)}, sequences of any "
            "length. Give the model a fixed length (input_shape=(T, features)), or end the "
            "recurrent layers with return_sequences=False."
        )
    if sample is None:
        raise ValueError(
            f"{owner}: input shape must be (batch, features, ...) with positive sizes, e.g. "
            f"(None, 2). Received: {shape!r}"
        )
    return (None, *sample)


def declared_shape(
    input_shape: object, owner: str, any_length: bool = False, ids: bool = False
) -> tuple[int | None, ...] | None:
    """``input_shape`` (without the batch axis) as positive ints, or None; a sequence's
    length may be None for a layer that takes any length (``Layer.any_length``)."""
    if input_shape is None:
        return None
    dims = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    sample = _sample_dims(dims, any_length, ids)
    if sample is None:
        raise ValueError(
            f"{owner}: `input_shape` must be the shape of one sample, positive integers "
            f"without the batch axis, e.g. (8,) or (28, 28, 1)"
            + (", or (None, features) for sequences of any length" if any_length else "")
            + f". Received: {input_shape!r}"
        )
    return sample



def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


#: Every layer class a model file may name, added by ``@register`` where it is defined.
LAYERS = Catalogue("layer", Layer, decorator="mf.layers.register")
register = LAYERS.register
