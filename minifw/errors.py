"""Exceptions raised by minifw.

Each one subclasses the matching built-in, so ``except ValueError`` (or
``RuntimeError``, ``FloatingPointError``) still catches it.
"""

from __future__ import annotations

__all__ = ["ModelFileError", "NonFiniteError", "NotBuiltError", "NotCompiledError"]


class ModelFileError(ValueError):
    """A model or weights file is unreadable, corrupt, unsafe or does not fit the model."""


class NonFiniteError(FloatingPointError):
    """Training produced a NaN or infinite loss or gradient; the update was not applied."""


class NotBuiltError(RuntimeError):
    """The model has no weights yet: its input shape is unknown."""


class NotCompiledError(RuntimeError):
    """The model has no optimizer and loss yet: call ``compile`` first."""
