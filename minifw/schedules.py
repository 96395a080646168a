"""Learning-rate schedules: η as a function of the optimizer's step count t = 0, 1, 2, ...

Any of these, or a plain callable ``f(t) -> float``, is accepted wherever a
learning rate is. The step count is ``optimizer.iterations`` before the
update, so the first update uses f(0), as in Keras.
"""

from __future__ import annotations

import math

from .registry import Catalogue
from .validation import positive_float, positive_int

__all__ = [
    "register",
    "LearningRateSchedule",
    "ExponentialDecay",
    "StepDecay",
    "CosineDecay",
    "get",
    "serialize",
]


class LearningRateSchedule:
    """Base class: ``schedule(step) -> learning rate``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


#: Every learning-rate schedule a model file may name, added by ``@register`` where it is defined.
SCHEDULES = Catalogue(
    "learning-rate schedule", LearningRateSchedule, decorator="mf.schedules.register"
)
register = SCHEDULES.register


@register("exponential_decay")
class ExponentialDecay(LearningRateSchedule):
    """η(t) = η₀ · rate^(t / decay_steps), with ⌊t / decay_steps⌋ when ``staircase``."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
    ) -> None:
        owner = "ExponentialDecay"
        self.initial_learning_rate = positive_float(
            initial_learning_rate, "initial_learning_rate", owner
        )
        self.decay_steps = positive_int(decay_steps, "decay_steps", owner)
        self.decay_rate = positive_float(decay_rate, "decay_rate", owner)
        self.staircase = bool(staircase)

    def __call__(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent


@register("step_decay")
class StepDecay(LearningRateSchedule):
    """η(t) = η₀ · γ^⌊t / step_size⌋ (PyTorch's StepLR, counted in updates)."""

    def __init__(self, initial_learning_rate: float, step_size: int, gamma: float = 0.1) -> None:
        owner = "StepDecay"
        self.initial_learning_rate = positive_float(
            initial_learning_rate, "initial_learning_rate", owner
        )
        self.step_size = positive_int(step_size, "step_size", owner)
        self.gamma = positive_float(gamma, "gamma", owner)

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)


@register("cosine_decay")
class CosineDecay(LearningRateSchedule):
    """η(t) = η₀ · ((1 − α) · ½ (1 + cos(π · min(t, T) / T)) + α), T = decay_steps (Keras)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0) -> None:
        owner = "CosineDecay"
        self.initial_learning_rate = positive_float(
            initial_learning_rate, "initial_learning_rate", owner
        )
        self.decay_steps = positive_int(decay_steps, "decay_steps", owner)
        self.alpha = positive_float(alpha, "alpha", owner, allow_zero=True)

    def __call__(self, step):
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


def get(identifier: dict | LearningRateSchedule) -> LearningRateSchedule:
    """A schedule from an instance or a config dict written by :func:`serialize`."""
    return SCHEDULES.get(identifier)


def serialize(schedule: LearningRateSchedule) -> dict:
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}
