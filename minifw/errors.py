"""Exceptions raised by minifw.

Each one subclasses the matching built-in, so ``except ValueError`` (or
``RuntimeError``, ``FloatingPointError``) still catches it.
"""

from __future__ import annotations

import math

__all__ = ["ModelFileError", "NonFiniteError", "NotBuiltError", "NotCompiledError"]


class ModelFileError(ValueError):
    """A model or weights file is unreadable, corrupt, unsafe or does not fit the model."""


class NonFiniteError(FloatingPointError):
    """Training produced a NaN or infinite loss or gradient; the update was not applied."""

    @classmethod
    def during(cls, loss: float, epoch: int | None, batch: int | None) -> NonFiniteError:
        """The error for a step whose loss is ``loss`` (finite: the gradient was not), in
        epoch ``epoch`` and batch ``batch`` (from 0; None: in train_on_batch)."""
        place = "in train_on_batch" if epoch is None else f"in epoch {epoch + 1}, batch {batch + 1}"
        what = (
            f"The loss became {loss}"
            if not math.isfinite(loss)
            else "The gradient became infinite or NaN (or too large to square)"
        )
        return cls(
            f"{what} {place}; the weights were left as they were before this step. Lower the "
            "learning rate, standardize the inputs, or clip gradients (clipnorm=...)."
        )


class NotBuiltError(RuntimeError):
    """The model has no weights yet: its input shape is unknown."""


class NotCompiledError(RuntimeError):
    """The model has no optimizer and loss yet: call ``compile`` first."""
