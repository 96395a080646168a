"""Callbacks: code that ``fit`` calls at fixed points of training.

Hook names and ``logs`` dicts follow Keras: ``on_train_begin/end``,
``on_epoch_begin/end``, ``on_train_batch_begin/end``. ``fit`` sets
``callback.model`` and ``callback.params`` (``epochs``, ``steps``, ``verbose``)
before training starts; setting ``model.stop_training = True`` ends ``fit``
after the current batch.
"""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

__all__ = ["Callback", "History", "ProgressBar", "EpochLogger"]


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


def _format_logs(logs: dict) -> str:
    return " - ".join(f"{key}: {value:.4g}" for key, value in logs.items())


class ProgressBar(Callback):
    """``verbose=1``: a tqdm bar per epoch, its running loss refreshed at most every 0.1 s."""

    _REFRESH_SECONDS = 0.1

    def __init__(self) -> None:
        super().__init__()
        self._bar = None
        self._next_refresh = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._bar = tqdm(
            total=self.params["steps"],
            desc=f"Epoch {epoch + 1}/{self.params['epochs']}",
            unit="batch",
            file=sys.stdout,
            leave=True,
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
        self._bar.set_postfix_str(_format_logs(logs or {}), refresh=False)
        self._bar.close()
        self._bar = None

    def on_train_end(self, logs=None):
        if self._bar is not None:  # fit was stopped mid-epoch
            self._bar.close()
            self._bar = None


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


class CallbackList:
    """Calls each hook on every callback in order; used by ``fit``."""

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
        # Per-batch hooks run thousands of times per epoch: call only real overrides.
        self._batch_begin = [c for c in callbacks if _overrides(c, "on_train_batch_begin")]
        self._batch_end = [c for c in callbacks if _overrides(c, "on_train_batch_end")]

    @property
    def has_batch_hooks(self) -> bool:
        """Whether any callback overrides a per-batch hook (else fit skips calling them)."""
        return bool(self._batch_begin or self._batch_end)

    def on_train_begin(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for callback in self._batch_begin:
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for callback in self._batch_end:
            callback.on_train_batch_end(batch, logs)


def _overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook) is not getattr(Callback, hook)
