"""Callbacks: code that ``fit`` calls at fixed points of training.

Hook names and ``logs`` dicts follow Keras: ``on_train_begin/end``,
``on_epoch_begin/end``, ``on_train_batch_begin/end``. One hook is minifw's own:
``on_train_step_end(batch, x, y, sample_weight, loss)``, after each step of the NumPy
engine, with the batch it trained on and its own loss (the Keras hooks' ``logs`` hold
the epoch's running mean), for callbacks that keep steps (``minifw.teaching.Recorder``).
``fit`` sets
``callback.model`` and ``callback.params`` (``epochs``, ``steps``, ``verbose``)
before training starts; setting ``model.stop_training = True`` ends ``fit``
after the current batch.
"""

from __future__ import annotations

import csv
import inspect
import math
import sys
import time
import warnings
from collections.abc import Callable

from .validation import positive_float, positive_int

__all__ = [
    "Callback",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "TerminateOnNaN",
    "CSVLogger",
    "LambdaCallback",
    "ProgressBar",
    "EpochLogger",
]


# The hooks fit calls, in Keras's names.
_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_train_step_end",
)


class Callback:
    """Base class: every hook does nothing until overridden."""

    def __init__(self) -> None:
        self.model = None
        self.params: dict = {}

    def on_train_begin(self, logs: dict | None = None) -> None: ...

    def on_train_end(self, logs: dict | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None: ...

    def on_train_step_end(self, batch: int, x, y, sample_weight, loss: float) -> None:
        """After each training step: its batch as trained on (prepared arrays) and its loss."""


class History(Callback):
    """Records each epoch's logs: ``history["loss"][e]`` is epoch e's mean training loss.

    ``epoch`` lists the epoch indices recorded; ``fit`` returns this object and
    keeps it as ``model.history``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"

    def plot(self, path=None, *, ax=None, label: str | None = None):
        """Draw the curves: one panel per logged quantity (loss, each metric, the learning
        rate), per epoch, training solid and validation dashed.

        Saves a PNG to ``path`` when given (on a figure of its own: the user's matplotlib
        backend is left alone); otherwise draws with pyplot, for ``plt.show()`` or a
        notebook. With ``ax``, every quantity goes into that one axes instead, so that
        several histories can be overlaid, told apart by ``label``. Returns the panels'
        axes (a list), or ``ax``. Needs matplotlib (``pip install 'minifw[plot]'``).
        """
        quantities = [key for key in self.history if not key.startswith("val_")]
        if ax is None:
            figure = _figure(len(quantities), interactive=path is None)
            panels = list(figure.subplots(1, max(len(quantities), 1), squeeze=False)[0])
        else:
            figure, panels = ax.figure, [ax] * len(quantities)
        epochs = [epoch + 1 for epoch in self.epoch]
        prefix = f"{label}: " if label else ""
        for panel, key in zip(panels, quantities):
            panel.plot(epochs, self.history[key], label=f"{prefix}{key}")
            if f"val_{key}" in self.history:
                panel.plot(epochs, self.history[f"val_{key}"], "--", label=f"{prefix}val_{key}")
            if ax is None:
                panel.set_title(key)
            panel.set_xlabel("epoch")
            panel.legend()
        if path is not None:
            figure.tight_layout()
            figure.savefig(path, dpi=120)
        return ax if ax is not None else panels


def _figure(panels: int, interactive: bool):
    """A matplotlib Figure for ``panels`` panels side by side: pyplot's when shown
    interactively, else one of its own (no backend is chosen or changed)."""
    size = (4.0 * max(panels, 1), 3.5)
    try:
        if interactive:
            import matplotlib.pyplot as plt

            return plt.figure(figsize=size)
        from matplotlib.figure import Figure

        return Figure(figsize=size)
    except ImportError:
        raise ImportError(
            "History.plot needs matplotlib: pip install 'minifw[plot]' (or pip install matplotlib)."
        ) from None


class _Monitor(Callback):
    """Shared by the callbacks that watch one logged quantity for improvement.

    ``mode="auto"`` maximizes quantities named like accuracy, r2, auc, precision,
    recall or f1 and
    minimizes the rest; an improvement must beat the best by more than
    ``min_delta``.
    """

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be 'auto', 'min' or 'max'. Received: {mode!r}")
        if mode == "auto":
            maximize = any(
                word in monitor for word in ("acc", "r2", "auc", "precision", "recall", "f1")
            )
            mode = "max" if maximize else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)

    def _improved(self, current: float, reference: float) -> bool:
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def _worst(self) -> float:
        return math.inf if self.mode == "min" else -math.inf

    def _current(self, logs: dict | None) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"{type(self).__name__} watches {self.monitor!r}, which is not in the logs "
                f"({', '.join(logs or {}) or 'none'}); pass validation data for val_ entries.",
                RuntimeWarning,
                stacklevel=3,
            )
        return value


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras's rules).

    With ``restore_best_weights`` the model gets back the weights of its best
    epoch when training is stopped early. Epochs before ``start_from_epoch``
    are not watched; ``stopped_epoch`` and ``best_epoch`` tell what happened.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
        verbose: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.verbose = verbose
        self.patience = positive_int(patience, "patience", "EarlyStopping", allow_zero=True)
        self.start_from_epoch = positive_int(
            start_from_epoch, "start_from_epoch", "EarlyStopping", allow_zero=True
        )
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = self._worst(), None

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping ({self.monitor} did not improve).")
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model (``model.save``, atomic) after each epoch, or only when ``monitor``
    improves with ``save_best_only``. ``filepath`` may hold fields filled from the epoch
    number (counted from 1) and the logs, e.g. ``"model-{epoch:02d}-{val_loss:.3f}.minifw"``."""

    def __init__(
        self,
        filepath,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        save_weights_only: bool = False,
        verbose: int = 0,
    ) -> None:
        super().__init__(monitor, mode, 0.0)
        self.verbose = verbose
        self.filepath = str(filepath)
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.best = self._worst()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = self._current(logs)
            if current is None or not self._improved(current, self.best):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs, then wait ``cooldown`` epochs; never below ``min_lr`` (Keras's
    rules). Logs the rate as ``learning_rate``."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        verbose: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.verbose = verbose
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: `factor` must be in (0, 1). Received: {factor!r}")
        self.factor = float(factor)
        self.patience = positive_int(patience, "patience", "ReduceLROnPlateau", allow_zero=True)
        self.cooldown = positive_int(cooldown, "cooldown", "ReduceLROnPlateau", allow_zero=True)
        self.min_lr = positive_float(min_lr, "min_lr", "ReduceLROnPlateau", allow_zero=True)

    def on_train_begin(self, logs=None):
        self.wait, self.cooldown_counter, self.best = 0, 0, self._worst()

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if callable(optimizer.learning_rate):
            raise ValueError("ReduceLROnPlateau needs a numeric learning rate, not a schedule.")
        logs["learning_rate"] = optimizer.learning_rate
        current = self._current(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                reduced = max(optimizer.learning_rate * self.factor, self.min_lr)
                if reduced < optimizer.learning_rate and reduced > 0:
                    optimizer.learning_rate = reduced
                    if self.verbose:
                        print(
                            f"Epoch {epoch + 1}: ReduceLROnPlateau sets the learning rate to "
                            f"{reduced:g}."
                        )
                self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (Keras)."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError("LearningRateScheduler needs a function schedule(epoch, lr).")
        self.schedule, self.verbose = schedule, verbose
        self._takes_rate = _positional_arity(schedule) != 1  # Keras accepts schedule(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        rate = (
            self.schedule(epoch, optimizer.learning_rate)
            if self._takes_rate
            else (self.schedule(epoch))
        )
        optimizer.learning_rate = rate
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler sets the learning rate to {rate:g}.")

    def on_epoch_end(self, epoch, logs=None):
        logs["learning_rate"] = self.model.optimizer.learning_rate


class TerminateOnNaN(Callback):
    """Stop training, without an exception, when the loss or a gradient becomes NaN or
    infinite; the weights stay those of the last finite step. The same as
    ``fit(..., on_nonfinite="stop")``."""


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (header from the first epoch)."""

    def __init__(self, filename, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.separator, self.append = str(filename), separator, append
        self._file = self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = None
        if getattr(self.model, "is_chief", True):  # in data-parallel training, rank 0 writes
            self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115

    def on_epoch_end(self, epoch, logs=None):
        if self._file is None:
            return
        row = {"epoch": epoch, **(logs or {})}
        if self._writer is None:
            self._writer = csv.DictWriter(
                self._file, fieldnames=list(row), delimiter=self.separator
            )
            if not self.append or self._file.tell() == 0:
                self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks: Callable) -> None:
        super().__init__()
        unknown = set(hooks) - set(_HOOKS)
        if unknown:
            raise TypeError(
                f"LambdaCallback: unknown hooks {sorted(unknown)}. Expected some of {_HOOKS}."
            )
        for name, function in hooks.items():
            setattr(self, name, function)


def _format_logs(logs: dict) -> str:
    return " - ".join(f"{key}: {value:.4g}" for key, value in logs.items())


class EpochLogger(Callback):
    """``verbose=2``: one line per epoch, e.g. ``Epoch 3/10 - 0.02s - loss: 1.25``."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        line = f"Epoch {epoch + 1}/{self.params['epochs']} - {seconds:.2f}s"
        if logs:
            line += " - " + _format_logs(logs)
        print(line, flush=True)


class ProgressBar(EpochLogger):
    """``verbose=1`` on a terminal: a tqdm bar during each epoch, its running loss refreshed
    at most every 0.1 s, replaced at the epoch's end by the epoch's line with every logged
    value (so that none is cut off at the terminal's width)."""

    _REFRESH_SECONDS = 0.1

    def __init__(self) -> None:
        super().__init__()
        self._bar = None
        self._next_refresh = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._bar = _tqdm()(
            total=self.params["steps"],
            desc=f"Epoch {epoch + 1}/{self.params['epochs']}",
            unit="batch",
            file=sys.stdout,
            leave=False,
            dynamic_ncols=True,
        )
        self._next_refresh = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update(1)
        now = time.monotonic()
        if now >= self._next_refresh and logs:
            self._bar.set_postfix_str(_format_logs(logs), refresh=False)
            self._next_refresh = now + self._REFRESH_SECONDS

    def on_epoch_end(self, epoch, logs=None):
        self._bar.close()
        self._bar = None
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self._bar is not None:  # fit was stopped mid-epoch
            self._bar.close()
            self._bar = None


def _tqdm():
    """tqdm's notebook bar where ipywidgets can draw it, else the text bar (tqdm.auto
    warns in a notebook without ipywidgets, so it is imported only when they are there)."""
    try:
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm import tqdm
    return tqdm


class CallbackList:
    """Calls each hook on the callbacks that implement it, in order; used by ``fit``.

    Hooks run up to thousands of times per epoch, so each one keeps the list
    of callbacks that override it and calls only those.
    """

    def __init__(self, callbacks: list[Callback], model, params: dict) -> None:
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks must be Callback instances. Received: {callback!r} "
                    f"of type {type(callback).__name__}."
                )
            callback.model = model
            callback.params = params
        self.callbacks = callbacks
        self._hooks = {
            hook: [getattr(c, hook) for c in callbacks if _overrides(c, hook)] for hook in _HOOKS
        }

    @property
    def has_batch_hooks(self) -> bool:
        """Whether any callback overrides a per-batch hook (else fit skips calling them)."""
        return bool(self._hooks["on_train_batch_begin"] or self._hooks["on_train_batch_end"])

    def on_train_begin(self, logs=None):
        for hook in self._hooks["on_train_begin"]:
            hook(logs)

    def on_train_end(self, logs=None):
        for hook in self._hooks["on_train_end"]:
            hook(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for hook in self._hooks["on_epoch_begin"]:
            hook(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for hook in self._hooks["on_epoch_end"]:
            hook(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for hook in self._hooks["on_train_batch_begin"]:
            hook(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for hook in self._hooks["on_train_batch_end"]:
            hook(batch, logs)

    @property
    def has_step_hooks(self) -> bool:
        return bool(self._hooks["on_train_step_end"])

    def on_train_step_end(self, batch, x, y, sample_weight, loss):
        for hook in self._hooks["on_train_step_end"]:
            hook(batch, x, y, sample_weight, loss)


def _positional_arity(function: Callable) -> int | None:
    """How many positional arguments ``function`` takes (None when it takes any number)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = [p.kind for p in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(kind in positional for kind in kinds)


def _overrides(callback: Callback, hook: str) -> bool:
    """Whether ``hook`` does something: overridden in a subclass, or set on the instance."""
    method = getattr(callback, hook)
    return getattr(method, "__func__", None) is not getattr(Callback, hook)
