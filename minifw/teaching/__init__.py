"""Teaching tools: ``gradcheck`` (numeric checks of every analytic gradient) and
``explain`` (one training step written out in the lecture's notation)."""

from __future__ import annotations

from .explain import explain
from .gradcheck import gradcheck

__all__ = ["explain", "gradcheck"]
