"""Teaching tools: ``gradcheck`` (numeric checks of every analytic gradient),
``explain`` (one training step written out in the lecture's notation) and
``Recorder`` (the whole run kept, replayed step by step by its ``Trajectory``)."""

from __future__ import annotations

from .explain import explain
from .gradcheck import gradcheck
from .health import Health
from .recorder import RecordedStep, Recorder, Trajectory
from .surface import LossSurface, loss_surface

__all__ = [
    "explain",
    "gradcheck",
    "Recorder",
    "RecordedStep",
    "Trajectory",
    "Health",
    "loss_surface",
    "LossSurface",
]
