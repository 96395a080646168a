"""``fit``'s options, declared and checked once.

``Sequential.fit`` keeps its explicit signature (for ``help()``) and hands its
arguments to ``FitOptions.checked``, which validates each one before anything
changes; the training package reads them from this one object. A test keeps
the two lists equal, names and defaults.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields

from numpy.typing import ArrayLike

from ..callbacks import Callback, TerminateOnNaN
from ..validation import positive_int


@dataclass(frozen=True)
class FitOptions:
    """The options of ``Sequential.fit`` (see its docstring), checked."""

    epochs: int = 1
    batch_size: int | None = 32
    shuffle: bool = True
    validation_data: tuple | None = None
    validation_split: float = 0.0
    callbacks: Sequence[Callback] | None = None
    verbose: int | str = 1
    initial_epoch: int = 0
    sample_weight: ArrayLike | None = None
    class_weight: dict | None = None
    on_nonfinite: str = "raise"
    steps_per_epoch: int | None = None

    @classmethod
    def checked(cls, **options) -> FitOptions:
        """The options, each refused with a message naming it when it is not valid:
        whole numbers where counts are meant, ``verbose`` 0, 1, 2 or "auto" (resolved
        here), ``callbacks`` a list of Callback instances, ``validation_data`` a pair."""
        unknown = set(options) - {field.name for field in fields(cls)}
        if unknown:
            raise TypeError(f"fit: unknown option(s) {sorted(unknown)}.")
        given = cls(**options)
        batch_size = 32 if given.batch_size is None else given.batch_size
        if not isinstance(given.shuffle, bool):
            raise TypeError(f"fit: `shuffle` must be True or False. Received: {given.shuffle!r}")
        if given.on_nonfinite not in ("raise", "stop"):
            raise ValueError(
                f"fit: `on_nonfinite` must be 'raise' or 'stop'. Received: {given.on_nonfinite!r}"
            )
        callbacks = given.callbacks
        if isinstance(callbacks, Callback) or not isinstance(callbacks, (Sequence, type(None))):
            raise TypeError(
                f"fit: `callbacks` must be a list of Callback instances, e.g. "
                f"[EarlyStopping()]. Received: {callbacks!r}"
            )
        validation = given.validation_data
        if validation is not None and (
            not isinstance(validation, (tuple, list)) or len(validation) != 2
        ):
            raise ValueError("fit: `validation_data` must be a tuple (X_val, y_val).")
        steps = given.steps_per_epoch
        return cls(
            **{
                **options,
                "epochs": positive_int(given.epochs, "epochs", "fit", allow_zero=True),
                "batch_size": positive_int(batch_size, "batch_size", "fit"),
                "initial_epoch": positive_int(
                    given.initial_epoch, "initial_epoch", "fit", allow_zero=True
                ),
                "verbose": verbosity(given.verbose, "fit"),
                "callbacks": list(callbacks or []),
                "steps_per_epoch": None
                if steps is None
                else positive_int(steps, "steps_per_epoch", "fit"),
            }
        )

    @property
    def stop_on_nonfinite(self) -> bool:
        """End training with a warning (not NonFiniteError) on a NaN or infinite step."""
        return self.on_nonfinite == "stop" or any(
            isinstance(callback, TerminateOnNaN) for callback in self.callbacks
        )


def verbosity(verbose: int | str, caller: str) -> int:
    """0 silent, 1 progress bar, 2 one line per epoch; ``"auto"``: 1 on a terminal, else 2."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if isinstance(verbose, numbers.Integral) and verbose in (0, 1, 2):  # True and False too
        return int(verbose)
    raise ValueError(
        f"{caller}: `verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}"
    )
