"""Sequential: a stack of layers trained by backpropagation.

One training step on a batch (X, Y), the lecture's algorithm in matrix form:

    forward    O⁰ = X,  Oˡ = layerˡ(Oˡ⁻¹),  Ŷ = Oᴸ
    loss       L = loss(Y, Ŷ)
    backward   G = ∂L/∂Ŷ,  then G ← layerˡ.backward(G) for l = L … 1,
               each layer writing its ∂L/∂w into ``grads``
    update     w ← optimizer(w, ∂L/∂w)

(``minifw.engine`` runs it; ``minifw.training`` loops it over epochs.)

Every trainable parameter of a built model lives in one flat vector, every
gradient in another and every non-trainable array (moving statistics) in a
third; each layer's ``params``/``grads``/``state`` entries are views into them,
so the optimizer updates the whole model with a few whole-vector operations.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from copy import deepcopy

import numpy as np
from numpy.typing import ArrayLike

from . import layers as layers_module
from . import losses, optimizers, saving, training
from . import metrics as metrics_module
from .callbacks import Callback, CallbackList, EpochLogger, History, ProgressBar, TerminateOnNaN
from .data import (
    batch_rows,
    batch_source,
    n_batches,
    sample_weights,
    validation_split_index,
)
from .engine import Plan
from .errors import NonFiniteError, NotBuiltError, NotCompiledError
from .layers.base import Layer, default_name
from .validation import (
    as_features,
    as_numeric_array,
    as_targets,
    check_fits_dtype,
    float_dtype,
    positive_int,
    refuse_sparse,
)

__all__ = ["Sequential"]


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
        self.seed = seed
        self.name = name
        init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)
        self._init_seed = init_seed
        self._shuffle_rng = np.random.default_rng(shuffle_seed)
        self.layers: list[Layer] = []
        self.built = False
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.metrics: list = []
        self._metric_specs: list = []
        self.history: History | None = None
        self.stop_training = False
        self._interrupted = False  # Ctrl-C during fit, acted on between two steps
        self._compiled_plan: Plan | None = None
        for layer in layers or []:
            self.add(layer)

    # -- structure ----------------------------------------------------------------

    def add(self, layer: Layer) -> None:
        """Append a layer; it gets a unique name such as ``dense_2`` if it has none."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add expects a Layer instance (e.g. mf.layers.Dense(4)). "
                f"Received: {layer!r} of type {type(layer).__name__}."
            )
        if self.built:
            raise RuntimeError("Cannot add layers to a built model: create a new Sequential.")
        if any(layer is existing for existing in self.layers):
            raise ValueError(f"{layer!r} is already in this model; create a new layer instead.")
        if layer.name is None:
            stem = default_name(layer)
            count = sum(default_name(existing) == stem for existing in self.layers)
            layer.name = f"{stem}_{count + 1}"
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Layer names must be unique; {layer.name!r} is already taken.")
        self.layers.append(layer)

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
            if tuple(input_shape[1:]) != self.input_shape[1:]:
                raise ValueError(
                    f"The model is built for inputs of shape {self.input_shape}; "
                    f"it cannot be rebuilt for {tuple(input_shape)}."
                )
            return
        rng = np.random.default_rng(self._init_seed)
        shape = input_shape
        try:
            for layer in self.layers:
                layer.build(shape, rng, self.dtype)
                shape = layer.output_shape
        except Exception:
            for layer in self.layers:
                layer._forget_build()
            raise
        self._bind_flat_buffers()
        self.built = True
        if self.loss is not None:
            self.metrics = self._resolve_metrics(self._metric_specs, self.loss)

    def _bind_flat_buffers(self) -> None:
        """Move every array into the flat vectors (views per layer, values kept).

        ``_slots`` lists (layer, kind, key) in ``get_weights`` order: each layer's
        params, then its state (Keras's order, e.g. gamma, beta, moving_mean, ...).
        """
        self._slots = [
            (layer, kind, key)
            for layer in self.layers
            for kind in ("params", "state")
            for key in getattr(layer, kind)
        ]
        trainable = [(layer, key) for layer, kind, key in self._slots if kind == "params"]
        self._params, self._slices = self._flatten(trainable, "params")
        self._grads, _ = self._flatten(trainable, "grads")
        state = [(layer, key) for layer, kind, key in self._slots if kind == "state"]
        self._state, _ = self._flatten(state, "state")
        self._compiled_plan = None

    def _flatten(self, entries, kind: str) -> tuple[np.ndarray, list[slice]]:
        """One vector holding ``getattr(layer, kind)[key]`` for each entry, rebound as views."""
        arrays = [getattr(layer, kind)[key] for layer, key in entries]
        vector = np.empty(sum(array.size for array in arrays), dtype=self.dtype)
        slices, offset = [], 0
        for (layer, key), array in zip(entries, arrays):
            part = slice(offset, offset + array.size)
            vector[part] = array.ravel()
            getattr(layer, kind)[key] = vector[part].reshape(array.shape)
            slices.append(part)
            offset += array.size
        return vector, slices

    def _ensure_built(self) -> None:
        if not self.built:
            self.build()

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
        self._ensure_built()
        return int(self._params.size + self._state.size)

    # -- compiling ----------------------------------------------------------------

    def compile(
        self,
        optimizer: str | optimizers.Optimizer,
        loss: str | losses.Loss,
        metrics: Sequence | None = None,
    ) -> None:
        """Choose the optimizer, the loss and the metrics to report.

        Each accepts an instance or a name (``"sgd"``, ``"mse"``, ``"mae"``). An
        optimizer given by name starts with fresh state; an instance keeps its own.
        """
        optimizer = optimizers.get(optimizer)
        loss = losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence):
            raise TypeError(f"`metrics` must be a list, e.g. ['mae']. Received: {metrics!r}")
        self.metrics = self._resolve_metrics(list(metrics), loss)  # refuses unknown names
        self.optimizer, self.loss, self._metric_specs = optimizer, loss, list(metrics)
        self._compiled_plan = None

    def _resolve_metrics(self, specs: list, loss: losses.Loss) -> list:
        """(name, function) pairs; ``"accuracy"`` depends on the loss and, once built, outputs."""
        outputs = self.output_shape[1] if self.built else None
        resolved = [metrics_module.get(spec, loss=loss, outputs=outputs) for spec in specs]
        return [(metrics_module.name_of(spec, f), f) for spec, f in zip(specs, resolved)]

    def _require_compiled(self, caller: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise NotCompiledError(f"Call model.compile(optimizer, loss) before model.{caller}().")

    @property
    def _plan(self) -> Plan:
        """The training step for the current layers and loss (see ``minifw.engine``)."""
        if self._compiled_plan is None:
            self._compiled_plan = Plan.compile(self.layers, self.loss)
        return self._compiled_plan

    # -- data at the boundary -----------------------------------------------------

    def _features(self, X: ArrayLike) -> np.ndarray:
        """Validated inputs; builds the model from their shape on first use."""
        return self._conform(as_features(X))

    def _conform(self, X: np.ndarray) -> np.ndarray:
        """Checked inputs against the model's input shape (building it on first use)."""
        if not self.built:
            declared = self.layers[0].declared_input_shape if self.layers else None
            self.build(declared or (None,) + X.shape[1:])
        expected = ("n",) + self.input_shape[1:]
        if X.ndim != len(expected):
            raise ValueError(
                f"The model expects a {len(expected)}-D array X of shape "
                f"({', '.join(map(str, expected))}); received a {X.ndim}-D array of shape "
                f"{X.shape}."
                + (
                    " Flatten it, e.g. X.reshape(len(X), -1), or put a Flatten layer first."
                    if len(expected) == 2 and math.prod(X.shape[1:]) == expected[1]
                    else ""
                )
            )
        if X.shape[1:] != self.input_shape[1:]:
            raise ValueError(
                f"The model expects X of shape ({', '.join(map(str, expected))}), "
                f"got {X.shape}."
                + (
                    " Reshape it, e.g. X.reshape(len(X), -1)."
                    if math.prod(X.shape[1:]) == math.prod(self.input_shape[1:])
                    else ""
                )
            )
        check_fits_dtype(X, self.dtype, "X")
        if X.dtype.name not in ("float32", "float64"):  # bool/int data: convert once
            X = X.astype(self.dtype)
        return X

    def _data(self, X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Validated (X, Y), Y shaped like the predictions; nothing changes on error."""
        X = as_features(X)
        y = as_targets(y, len(X))
        X = self._conform(X)
        check_fits_dtype(y, self.dtype, "y")
        return X, self.loss.targets(y, self.output_shape[1], self.dtype)

    def _batch(self, X: np.ndarray, rows) -> np.ndarray:
        """Rows of X in the model dtype (float64 data is cast batch by batch)."""
        batch = X[rows]
        return batch if batch.dtype == self.dtype else batch.astype(self.dtype)

    # -- computing ----------------------------------------------------------------

    def _train_step(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epoch: int | None = None,
        batch: int | None = None,
        weights: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """One optimizer step on a batch; refuses to apply a non-finite update."""
        loss, outputs = self._plan.loss_and_gradients(x, y, weights)
        grads = self._grads
        # one check for both: a NaN or inf in either makes the sum non-finite
        if not math.isfinite(loss + grads.dot(grads)):
            where = (
                "in train_on_batch" if epoch is None else f"in epoch {epoch + 1}, batch {batch + 1}"
            )
            what = (
                f"The loss became {loss}"
                if not math.isfinite(loss)
                else "The gradient became infinite or NaN (or too large to square)"
            )
            raise NonFiniteError(
                f"{what} {where}; the weights were left as they were before this step. "
                "Lower the learning rate, standardize the inputs, or clip gradients "
                "(clipnorm=...)."
            )
        self.optimizer._apply(self._params, grads, self._slices)
        return loss, outputs

    # -- training -----------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike | Iterable,
        y: ArrayLike | None = None,
        *,
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
        epochs = positive_int(epochs, "epochs", "fit", allow_zero=True)
        batch_size = positive_int(32 if batch_size is None else batch_size, "batch_size", "fit")
        initial_epoch = positive_int(initial_epoch, "initial_epoch", "fit", allow_zero=True)
        verbose = _verbosity(verbose)
        if not isinstance(shuffle, bool):
            raise TypeError(f"fit: `shuffle` must be True or False. Received: {shuffle!r}")
        if on_nonfinite not in ("raise", "stop"):
            raise ValueError(
                f"fit: `on_nonfinite` must be 'raise' or 'stop'. Received: {on_nonfinite!r}"
            )
        if steps_per_epoch is not None:
            steps_per_epoch = positive_int(steps_per_epoch, "steps_per_epoch", "fit")
        streaming = y is None
        if streaming:
            if sample_weight is not None or class_weight is not None or validation_split:
                raise ValueError(
                    "fit: with batches from an iterable, give weights inside the batches "
                    "(X_batch, y_batch, w_batch); validation_split needs arrays."
                )
            source, X, Y, weights = batch_source(X), None, None, None
        else:
            X, Y = self._data(X, y)
            weights = sample_weights(self.loss, Y, sample_weight, class_weight)
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: `validation_data` must be a tuple (X_val, y_val).")
            try:
                validation = self._data(*validation_data)
            except (ValueError, TypeError) as error:
                raise type(error)(f"fit: in `validation_data`: {error}") from None
        elif validation_split:
            split_at = validation_split_index(len(X), validation_split)
            validation = (X[split_at:], Y[split_at:])
            X, Y = X[:split_at], Y[:split_at]
            weights = None if weights is None else weights[:split_at]
        if isinstance(callbacks, Callback) or not isinstance(callbacks, (Sequence, type(None))):
            raise TypeError(
                f"fit: `callbacks` must be a list of Callback instances, e.g. "
                f"[EarlyStopping()]. Received: {callbacks!r}"
            )
        callbacks = list(callbacks or [])
        stop_on_nonfinite = on_nonfinite == "stop" or any(
            isinstance(callback, TerminateOnNaN) for callback in callbacks
        )
        full_batch = getattr(self.optimizer, "full_batch", False)
        if full_batch and streaming:
            raise ValueError("fit: L-BFGS trains on the whole data set: give arrays X and y.")
        if streaming:
            steps = steps_per_epoch or (len(source) if hasattr(source, "__len__") else None)
        else:
            steps = 1 if full_batch else n_batches(len(X), batch_size)
        history = History()
        progress = {1: [ProgressBar()], 2: [EpochLogger()]}.get(verbose, [])
        params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        callback_list = CallbackList([*callbacks, history, *progress], self, params)

        self.history = history
        self.stop_training = self._interrupted = False
        loop = dict(
            epochs=range(initial_epoch, epochs),
            weights=weights,
            validation=validation,
            callbacks=callback_list,
        )
        callback_list.on_train_begin()
        try:
            # Overflow shows up as a non-finite loss, reported by NonFiniteError, not warnings.
            with (
                training.interrupts_between_steps(self),
                np.errstate(over="ignore", invalid="ignore"),
            ):
                if streaming:
                    del loop["weights"]
                    training.fit_batch_source(self, source, steps_per_epoch, **loop)
                elif full_batch:
                    training.fit_full_batch(self, X, Y, **loop)
                else:
                    training.fit_minibatches(
                        self, X, Y, batch_size=batch_size, shuffle=shuffle, **loop
                    )
        except NonFiniteError as error:
            if not stop_on_nonfinite:
                raise
            warnings.warn(f"{error} Training stopped.", RuntimeWarning, stacklevel=2)
        finally:
            callback_list.on_train_end()
        if self._interrupted:
            raise KeyboardInterrupt
        return history

    def train_on_batch(self, X: ArrayLike, y: ArrayLike) -> float:
        """One update on the whole of (X, y) as a single batch; returns the loss before it."""
        self._require_compiled("train_on_batch")
        X, Y = self._data(X, y)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, _ = self._train_step(self._batch(X, slice(None)), Y)
        return loss

    def gradients(self, X: ArrayLike, y: ArrayLike) -> tuple[float, list[np.ndarray]]:
        """``(loss, grads)`` for (X, y) as one batch, in training mode, without changing the model.

        ``grads`` are copies, in the order of ``get_weights()``: ∂L/∂W¹, ∂L/∂b¹, ...;
        non-trainable arrays (moving statistics) get zeros. The loss includes
        weight penalties. Moving statistics touched by the pass are restored.
        """
        if self.loss is None:
            raise NotCompiledError("Call model.compile(optimizer, loss) before model.gradients().")
        X, Y = self._data(X, y)
        state = self._state.copy()
        loss, _ = self._plan.loss_and_gradients(self._batch(X, slice(None)), Y)
        self._state[...] = state
        return loss, [
            layer.grads[key].copy() if kind == "params" else np.zeros_like(layer.state[key])
            for layer, kind, key in self._slots
        ]

    # -- inference ----------------------------------------------------------------

    def predict(self, X: ArrayLike | Iterable, batch_size: int | None = None) -> np.ndarray:
        """Outputs Ŷ of shape (n, outputs), computed in chunks of ``batch_size`` rows.

        ``X`` may also be an iterable of batches (or of ``(X_batch, y_batch)``).
        """
        if _is_batch_source(X):
            parts = [
                self.predict(item[0] if isinstance(item, tuple) else item, batch_size)
                for item in batch_source(X)
            ]
            if not parts:
                raise ValueError("predict: the batch source gave no batches.")
            return np.concatenate(parts)
        X = self._features(X)
        rows = _inference_rows(batch_size, "predict")
        out = np.empty((len(X),) + self.output_shape[1:], dtype=self.dtype)
        for part in batch_rows(len(X), rows):
            x = self._batch(X, part)
            for layer in self.layers:
                x = layer.forward(x, False)
            out[part] = x
        return out

    def evaluate(
        self, X: ArrayLike | Iterable, y: ArrayLike | None = None, batch_size: int | None = None
    ) -> float | dict[str, float]:
        """The loss on (X, y), or ``{"loss": ..., metric: ...}`` when metrics were compiled.

        ``X`` may also be an iterable of ``(X_batch, y_batch)`` with no ``y``.
        """
        self._require_compiled("evaluate")
        if y is None:
            logs = training.evaluate_batch_source(self, batch_source(X))
        else:
            X, Y = self._data(X, y)
            logs = training.evaluate_arrays(self, X, Y, _inference_rows(batch_size, "evaluate"))
        return logs if self.metrics else logs["loss"]

    # -- weights ------------------------------------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every array: [W¹, b¹, W², b², ...] in layer order (Keras order),
        each layer's trainable parameters first, then its non-trainable state."""
        self._ensure_built()
        return [getattr(layer, kind)[key].copy() for layer, kind, key in self._slots]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Replace every parameter; all arrays are checked before any is written."""
        self._ensure_built()
        if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence):
            raise TypeError("set_weights expects a list of arrays, as returned by get_weights().")
        if len(weights) != len(self._slots):
            raise ValueError(
                f"set_weights expects {len(self._slots)} arrays (one per parameter, as "
                f"get_weights() returns them), got {len(weights)}."
            )
        checked = []
        for index, ((layer, kind, key), value) in enumerate(zip(self._slots, weights)):
            label = f"weight {index} ({layer.name}/{key})"
            array = as_numeric_array(value, label)
            expected = getattr(layer, kind)[key].shape
            if array.shape != expected:
                raise ValueError(
                    f"set_weights: {label} must have shape {expected}, got {array.shape}."
                )
            if not np.isfinite(array).all():
                raise ValueError(f"set_weights: {label} contains NaN or infinity.")
            checked.append(array)
        for (layer, kind, key), array in zip(self._slots, checked):
            getattr(layer, kind)[key][...] = array

    @property
    def weight_names(self) -> list[str]:
        """``"layer_name/param"`` for each array of ``get_weights()``, e.g. ``"dense_1/W"``."""
        self._ensure_built()
        return [f"{layer.name}/{key}" for layer, _, key in self._slots]

    # -- describing ---------------------------------------------------------------

    def summary(self) -> str:
        """Print and return a table of layers, output shapes and parameter counts."""
        self._ensure_built()
        rows = [
            (
                f"{layer.name} ({type(layer).__name__})",
                str(layer.output_shape),
                str(layer.count_params),
            )
            for layer in self.layers
        ]
        header = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(len(row[i]) for row in [header, *rows]) + 2 for i in range(3)]

        def line(row):
            return "".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()

        rule = "=" * sum(widths)
        total, trainable = self.count_params(), int(self._params.size)
        text = "\n".join(
            [
                f'Model: "{self.name}" ({self.dtype.name})',
                rule,
                line(header),
                rule,
                *(line(row) for row in rows),
                rule,
                f"Total params: {total}",
                f"Trainable params: {trainable}",
                f"Non-trainable params: {total - trainable}",
            ]
        )
        print(text)
        return text

    def save(self, path: str | os.PathLike) -> None:
        """Write the whole model to exactly ``path`` (one zip file, no pickle), atomically:
        config, weights, compile settings and optimizer state (see ``minifw.saving``)."""
        saving.save_model(self, path)

    def save_weights(self, path: str | os.PathLike) -> None:
        """Write only the arrays of ``get_weights()`` to ``path``, atomically."""
        saving.save_weights(self, path)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Set the weights from a ``save_weights`` (or ``save``) file; all checked first."""
        saving.load_weights(self, path)

    def copy(self, dtype: str | None = None) -> Sequential:
        """An independent deep copy (weights, optimizer state, everything), optionally in
        another ``dtype``: ``model.copy(dtype="float64")`` for exact checks of a float32 model."""
        clone = deepcopy(self)
        if dtype is not None:
            clone.dtype = float_dtype(dtype)
            for layer in clone.layers:
                layer.dtype = clone.dtype
        if clone.built:
            clone._bind_flat_buffers()
        return clone

    def get_config(self) -> dict:
        """Plain JSON-able description: ``Sequential.from_config(config)`` rebuilds the model."""
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "input_shape": list(self.input_shape[1:]) if self.built else None,
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
        if build and config.get("input_shape") is not None:
            model.build((None, *config["input_shape"]))
        return model

    def __repr__(self) -> str:
        return f"Sequential([{', '.join(map(repr, self.layers))}], dtype={self.dtype.name!r})"


def _verbosity(verbose: int | str) -> int:
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if isinstance(verbose, numbers.Integral) and verbose in (0, 1, 2):  # True and False too
        return int(verbose)
    raise ValueError(f"fit: `verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")


def _is_batch_source(X: object) -> bool:
    """An iterator or generator of batches, as opposed to array-like data."""
    refuse_sparse(X, "X")
    return isinstance(X, Iterator) or (
        isinstance(X, Iterable)
        and not isinstance(X, (np.ndarray, list, tuple, str, bytes))
        and not hasattr(X, "__array__")
        and not hasattr(X, "to_numpy")
    )


def _inference_rows(batch_size: int | None, caller: str) -> int:
    if batch_size is None:
        return training.INFERENCE_ROWS
    return positive_int(batch_size, "batch_size", caller)
