"""``mf.fit_many``: K models of one architecture trained in one run, as stacked arrays.

A hyper-parameter search or a bootstrap ensemble trains the same small network
many times. On the NumPy engine each of its steps is a string of small calls,
so K models cost K times the calls; stacked, the K models' weights of a layer
are one (K, inputs, units) array and each step is one batched product per layer
for all of them:

    forward    Zₖ = Xₖ Wₖ + bₖ for every k at once (``np.matmul`` on (K, rows, ·) arrays),
               the activation's ``function`` on the whole stack
    loss       each model's own loss on its own rows (its shuffle order, its weights)
    backward   ∂L/∂Wₖ = Xₖᵀ Gₖ, ∂L/∂bₖ = Σ_rows Gₖ, Gₖ ← Gₖ Wₖᵀ · f'(·), stacked
    update     each model's own optimizer on its row of the stacked vectors, all in one
               call of their rule (``minifw.optimizers.Stack``)

Every model sees exactly what its own ``fit`` would: its rows in its own
shuffle order (its ``shuffle_rng``), its Dropout masks (its layers'
generators), its sample weights, its optimizer's state and learning rate; so it
ends with the weights its own fit gives (to round-off) and the same History.
The stack holds what the compiled engine compiles (Dense layers, elementwise
activations, Dropout; losses and optimizers with written formulas). Models with
other layers (recurrent, convolutional, normalization, ...) and models compiled
with ``jit_compile=True`` are trained one after another, each by its own fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..callbacks import CallbackList, History
from ..data import sample_weights
from ..engine import targets_out_of_reach
from ..errors import NonFiniteError
from ..jit.engine import plan_refusal
from ..layers.activations import Activation
from ..layers.dense import Dense
from ..optimizers import Stack
from ..validation import as_numeric_array, positive_int
from .inference import check_metrics, end_epoch, metric_logs
from .loop import fit, interrupts_between_steps
from .options import FitOptions, verbosity
from .threads import for_training

__all__ = ["fit_many"]


def fit_many(
    models: Sequence,
    X: ArrayLike,
    y: ArrayLike,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    shuffle: bool = True,
    sample_weight: ArrayLike | None = None,
    validation_data: tuple | None = None,
    verbose: int | str = "auto",
) -> list[History]:
    """Train compiled ``models`` of one architecture on (X, y) together; a ``History`` each.

    The models may differ in their seeds (initial weights, shuffle order, Dropout
    masks), their optimizers' hyperparameters (learning rate, momentum, betas, weight
    decay, schedules) and, through ``sample_weight`` of shape (K, n), in the rows they
    weigh. Anything else (layers, shapes, dtype, loss, the optimizer's class, the
    engine) is refused before any training, naming the first difference. Each model
    ends as its own ``fit`` with these arguments would.
    """
    models = list(models)
    if not models:
        raise ValueError("fit_many: give at least one model.")
    epochs = positive_int(epochs, "epochs", "fit_many", allow_zero=True)
    batch_size = positive_int(batch_size, "batch_size", "fit_many")
    if not isinstance(shuffle, bool):
        raise TypeError(f"fit_many: `shuffle` must be True or False. Received: {shuffle!r}")
    verbose = verbosity(verbose, "fit_many")
    for k, model in enumerate(models):
        if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
            raise ValueError(f"fit_many: model {k} is not compiled: call compile first.")
    for model in models:
        model.prepare(X)  # builds it from X
    why = first_difference(models)
    if why is not None:
        raise ValueError(f"fit_many: the models cannot be trained together: {why}.")
    X, Y = [model.prepare(X, y, fitting=True) for model in models][0]
    weights = _weights_per_model(models, Y, sample_weight)
    validation = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("fit_many: `validation_data` must be a tuple (X_val, y_val).")
        validation = models[0].prepare(*validation_data)
    for model in models:
        check_metrics(model, Y)
        targets_out_of_reach(model.plan.output_layer, model.loss, Y)
    first = models[0]
    if first.jit_compile or plan_refusal(first.plan, first.optimizer) is not None:
        # compiled, or layers the stack does not hold (recurrent, convolutional, ...):
        # each model by its own fit, one after another
        return [
            fit(model, X, Y, FitOptions.checked(
                epochs=epochs, batch_size=batch_size, shuffle=shuffle, sample_weight=w,
                validation_data=validation, verbose=verbose,
            ))
            for model, w in zip(models, weights)
        ]  # fmt: skip
    return StackedModels(models).fit(
        X, Y, weights, epochs, batch_size, shuffle, validation, verbose
    )


def first_difference(models: Sequence) -> str | None:
    """The first way in which ``models`` cannot be stacked, or None."""
    first = models[0]
    ids = {}
    for k, model in enumerate(models):
        if id(model) in ids:
            return f"models {ids[id(model)]} and {k} are the same object"
        ids[id(model)] = k
        if model.distribute is not None:
            return f"model {k} is compiled for data-parallel training"
        for name, mine, theirs in _facts(model, first):
            if mine != theirs:
                return f"model {k} has {name} {mine}, model 0 {theirs}"
    return None


def _facts(model, first) -> list[tuple[str, object, object]]:
    """(what, model's, first's) for every fact the models must share."""

    def layout(m):
        return [(type(layer).__name__, _config(layer), layer.output_shape) for layer in m.layers]

    def switches(m):
        return {name: getattr(m.optimizer, name) for name in m.optimizer.switches}

    def held(m):
        optimizer = m.optimizer
        return [name for name in optimizer.slots if name in optimizer.init_state(np.zeros(1))]

    return [
        ("dtype", model.dtype, first.dtype),
        ("layers", layout(model), layout(first)),
        ("loss", _described(model.loss), _described(first.loss)),
        ("optimizer", type(model.optimizer).__name__, type(first.optimizer).__name__),
        ("optimizer state", held(model), held(first)),
        ("optimizer switches", switches(model), switches(first)),
        ("jit_compile", model.jit_compile, first.jit_compile),
        ("trainable flags", _trainable(model), _trainable(first)),
    ]


def _config(layer) -> dict:
    """The layer's config but its name and initializers (which only made its first weights)."""
    return {
        key: value
        for key, value in layer.get_config().items()
        if key != "name" and not key.endswith("_initializer")
    }


def _described(loss) -> str:
    return f"{type(loss).__name__}({loss.get_config()})"


def _trainable(model) -> list[bool]:
    return [layer.trainable for layer in model.layers]


def _weights_per_model(models, Y, sample_weight) -> list[np.ndarray | None]:
    """Each model's checked sample weights, from None, one (n,) vector or a (K, n) array."""
    if sample_weight is None:
        return [None] * len(models)
    given = as_numeric_array(sample_weight, "sample_weight")
    if given.ndim == 2 and given.shape[0] == len(models) and given.shape[1] == len(Y):
        rows = list(given)
    elif given.ndim == 1 or (given.ndim == 2 and given.shape[1] == 1):
        rows = [given] * len(models)
    else:
        raise ValueError(
            f"fit_many: `sample_weight` must have shape ({len(Y)},) (every model weighs the "
            f"rows alike) or ({len(models)}, {len(Y)}) (a row of weights per model). Received "
            f"shape {given.shape}."
        )
    return [sample_weights(model.loss, Y, w, None) for model, w in zip(models, rows)]


class StackedModels:
    """The K models' parameter and gradient vectors stacked as rows of two (K, P) arrays,
    and each layer's weights as (K, ...) views of them (see the module docstring)."""

    def __init__(self, models: Sequence) -> None:
        self.models = models
        self.plans = [model.plan for model in models]
        self.dtype = models[0].dtype
        self.params = np.stack([model.parameters.params for model in models])
        self.grads = np.zeros_like(self.params)
        self.param_rows, self.grad_rows = list(self.params), list(self.grads)
        self.optimizers = Stack([model.optimizer for model in models], self.params)
        self.slices = models[0].parameters.slices
        K = len(models)
        first = models[0].parameters
        where = {
            (slot.layer, slot.key): part
            for slot, part in zip([s for s in first.slots if s.trainable], first.slices)
        }

        def view(vector, part, shape):
            return vector[:, part].reshape((K, *shape))

        self.steps = []  # (kind, views or constants) per step of model 0's plan
        for index, layer in enumerate(self.plans[0].layers):
            if isinstance(layer, Dense):
                kernel = layer.params["W"].shape
                W, gW = (view(v, where[layer, "W"], kernel) for v in (self.params, self.grads))
                b = gb = None
                if layer.use_bias:
                    b, gb = (
                        view(v, where[layer, "b"], (1, kernel[1]))
                        for v in (self.params, self.grads)
                    )
                self.steps.append(("dense", (W, b, gW, gb)))
            elif isinstance(layer, Activation):
                self.steps.append(("activation", layer))
            else:
                self.steps.append(("dropout", [plan.layers[index] for plan in self.plans]))
        self.first_dense = next(i for i, (kind, _) in enumerate(self.steps) if kind == "dense")

    def fit(self, X, Y, weights, epochs, batch_size, shuffle, validation, verbose) -> list[History]:
        models, n = self.models, len(X)
        histories = [History() for _ in models]
        params = {"epochs": epochs, "steps": -(-n // batch_size), "verbose": verbose}
        callbacks = [
            CallbackList([history], model, params) for model, history in zip(models, histories)
        ]
        for model, history, listed in zip(models, histories, callbacks):
            model.history, model.stop_training = history, False
            listed.on_train_begin()
        # Ctrl-C ends training after the current step (never inside an update), as in fit
        guard = interrupts_between_steps(models[0])
        try:
            blas = for_training(models[0].layers, batch_size)  # one BLAS thread for small steps
            with blas, guard as interrupts, np.errstate(over="ignore", invalid="ignore"):
                for epoch in range(epochs):
                    for listed in callbacks:
                        listed.on_epoch_begin(epoch)
                    logs = self._epoch(X, Y, weights, batch_size, shuffle, epoch, interrupts)
                    self._write_back()
                    if interrupts.interrupted:
                        raise KeyboardInterrupt
                    self._end_epoch(epoch, epochs, logs, validation, callbacks, verbose)
        finally:
            self._write_back()
            for listed in callbacks:
                listed.on_train_end()
        return histories

    def _end_epoch(self, epoch, epochs, logs, validation, callbacks, verbose) -> None:
        for model, log, listed in zip(self.models, logs, callbacks):
            end_epoch(model, epoch, log, validation, listed)
        if verbose:
            losses = ", ".join(f"{log['loss']:.4g}" for log in logs)
            print(f"Epoch {epoch + 1}/{epochs} - loss of each model: {losses}", flush=True)


    def _write_back(self) -> None:
        """Each model's parameters ← its row of the stacked vector."""
        for model, row in zip(self.models, self.param_rows):
            model.parameters.params[...] = row

    def _epoch(self, X, Y, weights, batch_size, shuffle, epoch, interrupts) -> list[dict]:
        models, n = self.models, len(X)
        orders = np.stack(
            [m.shuffle_rng.permutation(n) if shuffle else np.arange(n) for m in models]
        )
        totals, weight_totals = np.zeros(len(models)), np.zeros(len(models))
        targets, predictions = [[] for _ in models], [[] for _ in models]
        measured = [k for k, model in enumerate(models) if model.metrics]
        weighted = any(w is not None for w in weights)
        for batch, start in enumerate(range(0, n, batch_size)):
            rows = orders[:, start : start + batch_size]
            x = X[rows].astype(self.dtype, copy=False)  # (K, rows, features)
            ys = Y[rows]  # each model's targets: ys[k]
            if weighted:
                ws = [None if w is None else w[r] for w, r in zip(weights, rows)]
                weight = [len(r) if w is None else float(w.sum()) for r, w in zip(rows, ws)]
            else:
                ws, weight = weights, rows.shape[1]
            losses, outputs = self._step(x, ys, ws, epoch, batch)
            totals += np.multiply(losses, weight)
            weight_totals += weight
            for k in measured:
                targets[k].append(ys[k])
                predictions[k].append(self.plans[k].predictions(outputs[k]))
            if interrupts.interrupted:
                break
        logs = []
        for k, model in enumerate(models):
            log = {"loss": totals[k] / weight_totals[k] if weight_totals[k] else 0.0}
            if model.metrics:
                log.update(
                    metric_logs(
                        model.metrics, np.concatenate(targets[k]), np.concatenate(predictions[k])
                    )
                )
            logs.append(log)
        return logs

    def _step(self, x, ys, ws, epoch, batch) -> tuple[list[float], np.ndarray]:
        """One step of every model on its own batch; returns the losses and the outputs."""
        inputs, caches = x, []
        for kind, what in self.steps:
            if kind == "dense":
                W, b = what[0], what[1]
                out = np.matmul(inputs, W)
                if b is not None:
                    out += b
                caches.append((inputs, out))
            elif kind == "activation":
                out = what.activate(inputs)
                caches.append((inputs, out))
            else:
                out, masks = self._dropout(inputs, what)
                caches.append((inputs, masks))
            inputs = out
        outputs = inputs
        losses, grads = [], []
        for k, plan in enumerate(self.plans):
            if ws[k] is None:
                loss, grad = plan.loss.value_and_grad(ys[k], outputs[k])
            else:
                loss, grad = plan.loss.weighted_value_and_grad(ys[k], outputs[k], ws[k])
            losses.append(loss)
            grads.append(grad)
        grad = np.stack(grads)
        for index in range(len(self.steps) - 1, self.first_dense - 1, -1):
            kind, what = self.steps[index]
            inputs, out = caches[index]
            if kind == "dense":
                W, _, gW, gb = what
                np.matmul(inputs.transpose(0, 2, 1), grad, out=gW)
                if gb is not None:
                    gb[:, 0, :] = grad.sum(axis=1)
                if index != self.first_dense:
                    grad = np.matmul(grad, W.transpose(0, 2, 1))
            elif kind == "activation":
                grad *= what.derivative(inputs, out)
            else:
                grad *= out  # the scaled masks
        squares = np.einsum("kp,kp->k", self.grads, self.grads)
        finite = np.isfinite(np.asarray(losses) + squares)
        if not finite.all():
            k = int(np.argmin(finite))
            raise NonFiniteError(
                f"fit_many, model {k}: {NonFiniteError.during(losses[k], epoch, batch)}"
            )
        self.optimizers.apply(self.params, self.grads, self.slices)
        return losses, outputs

    def _dropout(self, inputs, layers) -> tuple[np.ndarray, np.ndarray]:
        """o = x ⊙ m with each model's mask drawn from its own layer's generator."""
        rate = layers[0].rate
        if rate == 0:
            return inputs, np.ones_like(inputs)
        scale = inputs.dtype.type(1 / (1 - rate))
        masks = (
            np.stack(
                [
                    layer.rng.random(part.shape, dtype=inputs.dtype) >= rate
                    for layer, part in zip(layers, inputs)
                ]
            )
            * scale
        )
        return inputs * masks, masks
