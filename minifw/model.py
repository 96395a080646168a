"""Sequential: a stack of layers trained by backpropagation.

One training step on a batch (X, Y), the lecture's algorithm in matrix form:

    forward    O⁰ = X,  Oˡ = layerˡ(Oˡ⁻¹),  Ŷ = Oᴸ
    loss       L = loss(Y, Ŷ)
    backward   G = ∂L/∂Ŷ,  then G ← layerˡ.backward(G) for l = L … 1,
               each layer writing its ∂L/∂w into ``grads``
    update     w ← optimizer(w, ∂L/∂w)

The model holds the layers and the choices of ``compile``; the arithmetic is
elsewhere, each piece in one place: the parameter vectors in
``minifw.parameters``, the steps in ``minifw.engine``, the training step and
the loops in ``minifw.training``, files in ``minifw.saving``. Those use the
model through its public seams: ``parameters``, ``plan``, ``prepare`` and
``training_state``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from copy import deepcopy

import numpy as np
from numpy.typing import ArrayLike

from . import export, jit, losses, optimizers, saving, training
from . import layers as layers_module
from . import metrics as metrics_module
from .callbacks import Callback, History
from .engine import Plan, targets_out_of_reach
from .errors import NotBuiltError, NotCompiledError
from .jit import engine as jit_engine
from .layers.base import Layer, default_name
from .parameters import ParameterStore, claim, refuse_if_owned
from .registry import MODELS
from .summary import summary_table
from .validation import (
    as_features,
    as_targets,
    check_column_names,
    check_fits_dtype,
    check_input_shape,
    column_names,
    fits_shape,
    float_dtype,
    positive_int,
    warn_if_channels_first,
)

__all__ = ["Sequential"]


@MODELS.register()
class Sequential:
    """A linear stack of layers, with Keras's ``compile``/``fit``/``predict`` API.

    Parameters
    ----------
    layers : list of Layer, optional
        Added in order, as by ``add``.
    dtype : "float32" or "float64"
        Precision of parameters and computation (float32 by default, as Keras
        and PyTorch; the lecture's exact numbers use float64).
    seed : int, optional
        Seeds initialization and shuffling; the same seed gives bit-identical
        runs. minifw never touches NumPy's global random state.

    Examples
    --------
    >>> import minifw as mf
    >>> model = mf.Sequential([mf.layers.Dense(1, input_dim=2, kernel_initializer="ones")],
    ...                       dtype="float64")
    >>> model.predict([[1.0, 2.0]])
    array([[3.]])
    """

    def __init__(
        self,
        layers: Sequence[Layer] | None = None,
        *,
        dtype: str = "float32",
        seed: int | None = None,
        name: str = "sequential",
    ) -> None:
        self.dtype = float_dtype(dtype)
        if seed is not None:
            seed = positive_int(seed, "seed", "Sequential", allow_zero=True)
        self.seed, self.name = seed, name
        init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
        self._init_seed = init_seed
        #: The generator that orders fit's rows each epoch (part of the training state).
        self.shuffle_rng = np.random.default_rng(shuffle_seed)
        self.layers: list[Layer] = []
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.metrics: list = []
        self._metric_specs: list = []
        self.history: History | None = None
        self.distribute = None  # a DataParallel, set by compile
        self.jit_compile, self.steps_per_execution = False, 1  # the engine, set by compile
        #: The DataFrame column names of the first fit (as scikit-learn's), or None.
        self.feature_names_in_: tuple[str, ...] | None = None
        self.stop_training = False
        self._parameters: ParameterStore | None = None
        self._plan: Plan | None = None
        for layer in layers or []:
            self.add(layer)

    # -- structure ----------------------------------------------------------------

    def add(self, layer: Layer) -> None:
        """Append a layer; it gets a unique name such as ``dense_2`` if it has none.

        A layer belongs to one model: one that another model holds is refused.
        """
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add expects a Layer instance (e.g. mf.layers.Dense(4)). "
                f"Received: {layer!r} of type {type(layer).__name__}."
            )
        if self.built:
            raise RuntimeError("Cannot add layers to a built model: create a new Sequential.")
        if any(layer is existing for existing in self.layers):
            raise ValueError(f"{layer!r} is already in this model; create a new layer instead.")
        refuse_if_owned(layer, self)
        name = layer.name
        if name is None:
            stem = default_name(layer)
            name = f"{stem}_{sum(default_name(other) == stem for other in self.layers) + 1}"
        if any(existing.name == name for existing in self.layers):
            raise ValueError(f"Layer names must be unique; {name!r} is already taken.")
        claim(layer, self)
        layer.name = name
        self.layers.append(layer)

    @property
    def built(self) -> bool:
        return self._parameters is not None

    def build(self, input_shape: Sequence[int | None] | None = None) -> None:
        """Create every layer's parameters for inputs of ``input_shape``, e.g. ``(None, 2)``.

        Called implicitly by ``fit``/``predict`` (from the data) and by any call that
        needs weights when the first layer declares its input (``input_dim``).
        """
        if input_shape is None:
            input_shape = self.layers[0].declared_input_shape if self.layers else None
            if input_shape is None:
                raise NotBuiltError(
                    "The model's input shape is unknown: call model.build((None, features)), "
                    "give the first layer input_dim=..., or call fit/predict on data."
                )
        if not self.layers:
            raise ValueError("Cannot build a Sequential with no layers: add one first.")
        if self.built:
            if not fits_shape(tuple(input_shape), self.input_shape):
                raise ValueError(
                    f"The model is built for inputs of shape {self.input_shape}; "
                    f"it cannot be rebuilt for {tuple(input_shape)}."
                )
            return
        warn_if_channels_first(tuple(input_shape))
        rng = np.random.default_rng(self._init_seed)
        shape = input_shape
        try:
            for layer in self.layers:
                layer.build(shape, rng, self.dtype)
                shape = layer.output_shape
        except Exception:
            for layer in self.layers:
                layer.unbuild()
            raise
        self._parameters = ParameterStore(self.layers, self.dtype)
        self._plan = None
        if self.loss is not None:
            self.metrics = self._resolve_metrics(self._metric_specs, self.loss)

    def _ensure_built(self) -> None:
        if not self.built:
            self.build()

    @property
    def parameters(self) -> ParameterStore:
        """The flat parameter, gradient and state vectors (building the model if it can).

        After a layer's ``trainable`` flag changed, a new store is made (values kept), as
        Keras's recompile does; training then refuses an optimizer whose state no longer
        fits (``check_optimizer_fits``).
        """
        self._ensure_current()
        return self._parameters

    def _ensure_current(self) -> None:
        """Built, with a store that matches the layers' ``trainable`` flags."""
        self._ensure_built()
        if self._parameters.trainable != tuple(layer.trainable for layer in self.layers):
            self._refreeze()

    def _refreeze(self) -> None:
        self._parameters = ParameterStore(self.layers, self.dtype)
        self._plan = None

    def check_optimizer_fits(self) -> None:
        """Raise ValueError when a layer's ``trainable`` flag changed after training began:
        the optimizer's state fits the old trainable parameters (compile again). Predicting,
        weights and saving work meanwhile."""
        trainable = self.parameters.params.size
        optimizer = self.optimizer
        if optimizer is not None and optimizer.iterations:
            if any(value.size != trainable for value in optimizer.state.values()):
                raise ValueError(
                    "A layer's `trainable` flag changed after training began, and the "
                    "optimizer's state fits the old trainable parameters. Compile the model "
                    "again with a new optimizer, e.g. model.compile('adam', loss)."
                )

    @property
    def input_shape(self) -> tuple:
        self._ensure_built()
        return self.layers[0].input_shape

    @property
    def output_shape(self) -> tuple:
        self._ensure_built()
        return self.layers[-1].output_shape

    def count_params(self) -> int:
        """Trainable and non-trainable entries, as Keras counts them."""
        return self.parameters.size

    # -- compiling ----------------------------------------------------------------

    def compile(
        self,
        optimizer: str | optimizers.Optimizer,
        loss: str | losses.Loss,
        metrics: Sequence | None = None,
        *,
        jit_compile: bool | str = False,
        steps_per_execution: int | str = 1,
        distribute=None,
    ) -> None:
        """Choose the optimizer, the loss and the metrics to report, and the engine.

        Each accepts an instance or a name (``"sgd"``, ``"mse"``, ``"mae"``). An
        optimizer given by name starts with fresh state; an instance keeps its own.
        ``jit_compile=True`` trains through the compiled engine (``minifw.jit``, numba:
        ``pip install minifw[fast]``), running ``steps_per_execution`` steps (an int, or
        ``"epoch"``) per compiled call; a model it cannot compile is refused here, naming
        the layer, loss or optimizer. ``"auto"`` uses it when numba is installed and the
        model is supported, and the NumPy engine otherwise.
        ``distribute=DataParallel()`` (``minifw.distributed``) trains on every MPI rank.
        Nothing changes when compile refuses.
        """
        optimizer = optimizers.get(optimizer)
        loss = losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence):
            raise TypeError(f"`metrics` must be a list, e.g. ['mae']. Received: {metrics!r}")
        resolved = self._resolve_metrics(list(metrics), loss)  # refuses unknown names
        compiled = self._engine_choice(
            jit_compile, steps_per_execution, loss, optimizer, distribute
        )
        self.metrics = resolved
        self.optimizer, self.loss, self._metric_specs = optimizer, loss, list(metrics)
        self.jit_compile, self.steps_per_execution = compiled, steps_per_execution
        self.distribute = distribute
        self._plan = None

    def _engine_choice(self, jit_compile, steps_per_execution, loss, optimizer, distribute) -> bool:
        """Whether fit trains through the compiled engine; refuses what it cannot compile."""
        if jit_compile not in (True, False, "auto"):
            raise ValueError(
                f"`jit_compile` must be True, False or 'auto'. Received: {jit_compile!r}"
            )
        if steps_per_execution != "epoch":
            positive_int(steps_per_execution, "steps_per_execution", "compile")
        if jit_compile is False:
            return False
        why = jit_engine.refusal(self.layers, loss, optimizer)
        if why is None and distribute is not None:
            why = "data-parallel training (distribute=) is not compiled yet"
        if jit_compile == "auto":
            return why is None and jit.available()
        jit.require()
        if why is not None:
            raise ValueError(jit_engine.refusal_message(why))
        return True

    def _resolve_metrics(self, specs: list, loss: losses.Loss) -> list:
        """(name, function) pairs; ``"accuracy"`` depends on the loss and, once built, outputs."""
        outputs = self.output_shape[-1] if self.built else None
        resolved = [metrics_module.get(spec, loss=loss, outputs=outputs) for spec in specs]
        return [(metrics_module.name_of(spec, f), f) for spec, f in zip(specs, resolved)]

    @property
    def metric_names(self) -> list:
        """The metrics as given to ``compile`` (names or functions)."""
        return list(self._metric_specs)

    def _require_compiled(self, caller: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise NotCompiledError(f"Call model.compile(optimizer, loss) before model.{caller}().")

    @property
    def plan(self) -> Plan:
        """The forward and backward steps for the current layers and loss (``minifw.engine``)."""
        self._ensure_current()  # the plan binds the built arrays
        if self._plan is None:
            self._plan = Plan.compile(self.layers, self.loss)
        return self._plan

    # -- data at the boundary -----------------------------------------------------

    def prepare(self, X: ArrayLike, y: ArrayLike | None = None, *, fitting: bool = False):
        """Checked inputs (and targets shaped like the predictions, (n, outputs) in the
        model dtype); builds the model from X on first use. Nothing changes on error.

        X keeps a float dtype of its own (float64 data for a float32 model is cast
        batch by batch); other data is converted once. A DataFrame's columns must be
        those of the first fit, in order (``feature_names_in_``, kept when ``fitting``).
        """
        check_column_names(self.feature_names_in_, X)
        names = column_names(X) if fitting else None
        X = as_features(X)
        if y is not None:
            y = as_targets(y, len(X))
        if not self.built:
            declared = self.layers[0].declared_input_shape if self.layers else None
            self.build(declared or (None,) + X.shape[1:])
        check_input_shape(X, self.input_shape)
        check_fits_dtype(X, self.dtype, "X")
        self.layers[0].check_values(X)  # e.g. Embedding's ids, all of them, before any step
        if X.dtype.name not in ("float32", "float64"):  # bool/int data: convert once
            X = X.astype(self.dtype)
        if y is None:
            return X
        if self.loss is None:
            raise NotCompiledError("Call model.compile(optimizer, loss) before passing targets.")
        check_fits_dtype(y, self.dtype, "y")
        if len(self.output_shape) == 3:  # a sequence of outputs (return_sequences=True)
            steps = self.output_shape[1] or X.shape[1]
            Y = self.loss.sequence_targets(y, steps, self.output_shape[2], self.dtype)
        else:
            Y = self.loss.targets(y, self.output_shape[1], self.dtype)
        if names is not None and self.feature_names_in_ is None:
            self.feature_names_in_ = names
        return X, Y

    # -- training -----------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike | Iterable | None = None,
        y: ArrayLike | None = None,
        *,
        x: ArrayLike | Iterable | None = None,
        epochs: int = 1,
        batch_size: int | None = 32,
        shuffle: bool = True,
        validation_data: tuple | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] | None = None,
        verbose: int | str = 1,
        initial_epoch: int = 0,
        sample_weight: ArrayLike | None = None,
        class_weight: dict | None = None,
        on_nonfinite: str = "raise",
        steps_per_epoch: int | None = None,
    ) -> History:
        """Train for ``epochs`` passes over (X, y) in minibatches; returns a ``History``.

        ``batch_size=1, shuffle=False`` is the lecture's per-row SGD. Each epoch's
        ``loss`` is the mean of its batch losses, each taken before its update and
        weighted by its batch size (or its sum of sample weights).
        ``validation_split`` takes the last rows, before shuffling. ``verbose``: 0
        silent, 1 progress bar, 2 one line per epoch, ``"auto"`` 1 on a terminal
        and 2 otherwise. ``sample_weight`` (one per row) and ``class_weight``
        ({class: weight}, multiplied into it) make each batch's loss
        Σ w_i ℓ_i / Σ w_i. A NaN or infinite loss or gradient raises
        ``NonFiniteError`` before the update that would spread it, or with
        ``on_nonfinite="stop"`` (or a ``TerminateOnNaN`` callback) ends training
        with a warning; either way the weights are the last finite ones. Ctrl-C
        takes effect between two steps. Calling ``fit`` again continues from the
        current weights and optimizer state.

        Data larger than memory: give ``X`` as an iterable of ``(X_batch, y_batch)``
        (or ``(X_batch, y_batch, w_batch)``) and no ``y``; each batch is checked as
        it arrives. With ``steps_per_epoch`` an epoch is that many batches drawn
        from one iterator kept across epochs (for endless generators); without it,
        each epoch iterates the source afresh.
        """
        self._require_compiled("fit")
        X = _inputs(X, x, "fit")
        options = training.FitOptions.checked(
            epochs=epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            validation_data=validation_data,
            validation_split=validation_split,
            callbacks=callbacks,
            verbose=verbose,
            initial_epoch=initial_epoch,
            sample_weight=sample_weight,
            class_weight=class_weight,
            on_nonfinite=on_nonfinite,
            steps_per_epoch=steps_per_epoch,
        )
        return training.fit(self, X, y, options)

    def train_on_batch(self, X: ArrayLike, y: ArrayLike) -> float:
        """One update on the whole of (X, y) as a single batch; returns the loss before it."""
        self._require_compiled("train_on_batch")
        if y is None:
            raise ValueError(
                "train_on_batch needs targets: model.train_on_batch(X, y). Received y=None."
            )
        X, Y = self.prepare(X, y)
        self.check_optimizer_fits()
        targets_out_of_reach(self.plan.output_layer, self.loss, Y)
        step = training.TrainStep(self.plan, self.parameters, self.optimizer)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, _ = step(X.astype(self.dtype, copy=False), Y)
        return loss

    def gradients(self, X: ArrayLike, y: ArrayLike) -> tuple[float, list[np.ndarray]]:
        """``(loss, grads)`` for (X, y) as one batch, in training mode, without changing the model.

        ``grads`` are copies, in the order of ``get_weights()``: ∂L/∂W¹, ∂L/∂b¹, ...;
        non-trainable arrays (moving statistics) get zeros. The loss includes
        weight penalties. Moving statistics touched by the pass are restored.
        """
        if self.loss is None:
            raise NotCompiledError("Call model.compile(optimizer, loss) before model.gradients().")
        X, Y = self.prepare(X, y)
        if self.plan.mismatch is not None:
            raise ValueError(self.plan.mismatch)
        saved = self.parameters.snapshot()
        loss, _ = self.plan.loss_and_gradients(X.astype(self.dtype, copy=False), Y)
        self.parameters.restore(saved)
        return loss, self.parameters.gradients()

    # -- inference ----------------------------------------------------------------

    def predict(
        self,
        X: ArrayLike | Iterable | None = None,
        batch_size: int | None = None,
        verbose: int | str = 0,
        *,
        x: ArrayLike | Iterable | None = None,
    ) -> np.ndarray:
        """Outputs Ŷ of shape (n, outputs), computed in chunks of ``batch_size`` rows.

        ``X`` may also be an iterable of batches (or of ``(X_batch, y_batch)``).
        ``verbose`` is accepted for Keras's sake; predict prints nothing.
        """
        training.verbosity(verbose, "predict")
        return training.predict(self, _inputs(X, x, "predict"), batch_size)

    def __call__(self, X: ArrayLike, training: bool = False) -> np.ndarray:
        """``model(X)``: the outputs for X, as ``predict`` (inference mode)."""
        if training:
            raise ValueError(
                "model(X, training=True) is not supported: fit and train_on_batch run the "
                "training mode; model(X) and predict run inference."
            )
        return self.predict(X)

    def evaluate(
        self,
        X: ArrayLike | Iterable | None = None,
        y: ArrayLike | None = None,
        batch_size: int | None = None,
        verbose: int | str = 0,
        return_dict: bool = False,
        *,
        x: ArrayLike | Iterable | None = None,
    ) -> float | list[float] | dict[str, float]:
        """The loss on (X, y); with compiled metrics ``[loss, metric, ...]`` in compile's order
        (Keras's ``loss, acc = model.evaluate(X, y)``), or ``{"loss": ..., name: ...}`` with
        ``return_dict=True``. ``X`` may also be an iterable of ``(X_batch, y_batch)``.

        ``verbose`` 1 or 2 prints the result on one line.
        """
        self._require_compiled("evaluate")
        verbose = training.verbosity(verbose, "evaluate")
        logs = training.evaluate(self, _inputs(X, x, "evaluate"), y, batch_size)
        if verbose:
            print(" - ".join(f"{key}: {value:.4g}" for key, value in logs.items()), flush=True)
        if return_dict:
            return logs
        return list(logs.values()) if self.metrics else logs["loss"]

    # -- weights ------------------------------------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every array: [W¹, b¹, W², b², ...] in layer order (Keras order),
        each layer's trainable parameters first, then its non-trainable state."""
        return self.parameters.get_weights()

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Replace every parameter; all arrays are checked before any is written."""
        self.parameters.set_weights(weights)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name`` (e.g. ``"dense_1"``), or at position ``index``."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: give either `name` or `index`.")
        if index is not None:
            if not isinstance(index, int) or not -len(self.layers) <= index < len(self.layers):
                raise ValueError(
                    f"get_layer: index {index!r} is out of range for {len(self.layers)} layers."
                )
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = ", ".join(repr(layer.name) for layer in self.layers)
        raise ValueError(f"No layer named {name!r}. The layers are: {names}.")

    @property
    def weight_names(self) -> list[str]:
        """``"layer_name/param"`` for each array of ``get_weights()``, e.g. ``"dense_1/W"``."""
        return self.parameters.names

    def training_state(self) -> dict:
        """Everything beyond the weights that makes resumed training bit-identical: the
        shuffling and layer generators' states, the optimizer's step count and state."""
        optimizer = self.optimizer
        return {
            "shuffle_rng": self.shuffle_rng.bit_generator.state,
            "layer_rngs": {
                layer.name: layer.rng.bit_generator.state
                for layer in self.layers
                if layer.rng is not None
            },
            "optimizer_iterations": 0 if optimizer is None else optimizer.iterations,
            "optimizer_state": {} if optimizer is None else dict(optimizer.state),
        }

    def restore_training_state(self, state: dict) -> None:
        """Set what ``training_state`` returned (any part may be missing)."""
        if "shuffle_rng" in state:
            self.shuffle_rng.bit_generator.state = state["shuffle_rng"]
        rngs = state.get("layer_rngs", {})
        for layer in self.layers:
            if layer.name in rngs:
                layer.rng.bit_generator.state = rngs[layer.name]
        if self.optimizer is not None and "optimizer_state" in state:
            self.optimizer.iterations = state.get("optimizer_iterations", 0)
            self.optimizer.state = dict(state["optimizer_state"])

    # -- describing ---------------------------------------------------------------

    def summary(self) -> str:
        """Print and return a table of layers, output shapes and parameter counts."""
        text = summary_table(self)
        print(text)
        return text

    @property
    def is_chief(self) -> bool:
        """False on every MPI rank but 0 of a data-parallel model: those print nothing and
        write no file."""
        return self.distribute is None or self.distribute.is_chief

    def save(self, path: str | os.PathLike) -> None:
        """Write the whole model to exactly ``path`` (one zip file, no pickle), atomically:
        config, weights, compile settings and training state (see ``minifw.saving``).
        In data-parallel training only rank 0 writes."""
        if self.is_chief:
            saving.save_model(self, path)

    def save_weights(self, path: str | os.PathLike) -> None:
        """Write only the arrays of ``get_weights()`` to ``path``, atomically (rank 0 only)."""
        if self.is_chief:
            saving.save_weights(self, path)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Set the weights from a ``save_weights`` (or ``save``) file; all checked first."""
        saving.load_weights(self, path)

    def export(self, path: str | os.PathLike, format: str = "onnx", opset: int | None = None):
        """Write the model for other runtimes: ``format="onnx"`` writes an ONNX file that
        onnxruntime runs, with ``predict``'s outputs (see ``minifw.export.onnx``; needs
        ``pip install 'minifw[onnx]'``). Atomic; nothing is written on any error."""
        export.export_model(self, path, format, opset)

    def copy(self, dtype: str | None = None) -> Sequential:
        """An independent deep copy (weights, optimizer state, everything), optionally in
        another ``dtype``: ``model.copy(dtype="float64")`` for exact checks of a float32 model."""
        clone = deepcopy(self)
        if dtype is not None:
            clone.dtype = float_dtype(dtype)
            for layer in clone.layers:
                for part in (layer, getattr(layer, "activation", None)):
                    if part is not None:
                        part.dtype = clone.dtype
            clone.__setstate__(clone.__dict__)  # the arrays again, in the new dtype
        return clone

    def __setstate__(self, state: dict) -> None:
        """A copied or unpickled model owns its layers and binds them to vectors of its own
        (pickling keeps each array, not that they were views of one vector)."""
        self.__dict__.update(state)
        for layer in self.layers:
            claim(layer, self)
        if self._parameters is not None:
            self._parameters = ParameterStore(self.layers, self.dtype)
            self._plan = None

    def get_config(self) -> dict:
        """Plain JSON-able description: ``Sequential.from_config(config)`` rebuilds the model."""
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "input_shape": list(self.input_shape[1:]) if self.built else None,
            "feature_names": None
            if self.feature_names_in_ is None
            else list(self.feature_names_in_),
            "layers": [layers_module.serialize(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict, *, build: bool = True) -> Sequential:
        """A new, uncompiled model from ``get_config()`` output, built if the config
        has an input shape (and ``build`` is True)."""
        model = cls(
            [layers_module.deserialize(layer) for layer in config["layers"]],
            dtype=config["dtype"],
            seed=config["seed"],
            name=config["name"],
        )
        names = config.get("feature_names")
        if names is not None:
            model.feature_names_in_ = tuple(str(name) for name in names)
        if build and config.get("input_shape") is not None:
            model.build((None, *config["input_shape"]))
        return model

    def __repr__(self) -> str:
        return f"Sequential([{', '.join(map(repr, self.layers))}], dtype={self.dtype.name!r})"


def _inputs(X, x, caller: str):
    """The inputs, given as ``X`` (positionally) or as Keras's keyword ``x=``; exactly one."""
    if X is None and x is None:
        raise TypeError(f"{caller} needs the inputs: model.{caller}(X, ...) or {caller}(x=X, ...).")
    if X is not None and x is not None:
        raise TypeError(f"{caller}: give the inputs once, as X or as x=, not both.")
    return X if x is None else x
