"""Optimizers: update a model's parameters from their gradients, in place.

A built model keeps every trainable parameter in one flat vector and every
gradient in another, so an optimizer updates the whole model with a few
whole-vector operations. Its per-parameter state (velocity, moments, ...)
is held as vectors of the same length, created on the first step. Update
rules are the ones PyTorch documents (ε added after the square root, the
Adagrad accumulator starting at 0, SGD's weight decay added to the gradient
before momentum, AdamW's decay decoupled); names follow Keras. Clipping is
per parameter array (Keras's convention) and happens before the update rule.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import numpy as np
from scipy.linalg.blas import get_blas_funcs

from . import schedules
from .registry import Catalogue
from .schedules import LearningRateSchedule
from .validation import positive_float, positive_int, unit_fraction

__all__ = [
    "register",
    "Optimizer",
    "Stack",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "LBFGS",
    "get",
]

LearningRate = float | LearningRateSchedule | Callable[[int], float]

# Entries per axpy call; OpenBLAS keeps an axpy of up to 10000 entries on the calling thread.
_AXPY_CHUNK = 8192

# Entries per call of an optimizer's rule: its temporaries (1 MiB in float32) stay in cache.
_RULE_CHUNK = 1 << 18

#: Steps between two flushes of subnormal numbers from the optimizer's state.
FLUSH_EVERY = 16


def flush_subnormals(values: np.ndarray, tiny: float) -> None:
    """Set entries below the smallest normal float to 0, in place.

    A unit whose gradient is exactly 0 (a ReLU that stays off) keeps shrinking
    its momentum or moment geometrically, down through the subnormal numbers,
    which CPUs compute with 10–100× slower: without this, Adam's epochs on W2
    with 80 000 rows grew from 0.16 s to 0.45 s over six epochs; with it they
    stay at 0.16 s (every step instead of every 16th costs more than it saves).
    The entries changed are below ``tiny``, the smallest normal number: 1.2e-38
    (float32) or 2.2e-308 (float64), far too small to move a weight. (The compiled
    engine runs these lines too.)
    """
    values[np.abs(values) < tiny] = 0


class Optimizer:
    """Base class: learning rate (or schedule), clipping, step counting and state.

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        η, a positive finite number, or a function of the step count t
        (``optimizer.iterations`` before the update).
    clipnorm : float, optional
        Each parameter array's gradient g is rescaled to g · clipnorm / ‖g‖
        when ‖g‖ > clipnorm.
    clipvalue : float, optional
        Each gradient entry is clipped to [−clipvalue, clipvalue].
    """

    def __init__(
        self,
        learning_rate: LearningRate,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        owner = type(self).__name__
        self.learning_rate = learning_rate
        self.clipnorm = None if clipnorm is None else positive_float(clipnorm, "clipnorm", owner)
        self.clipvalue = (
            None if clipvalue is None else positive_float(clipvalue, "clipvalue", owner)
        )
        self.iterations = 0
        self.state: dict[str, np.ndarray] = {}
        self._params: np.ndarray | None = None  # the vector the state and BLAS routine fit
        self._held_from: dict | None = None
        self._in_place = False

    @property
    def learning_rate(self) -> LearningRate:
        """η as given: a number, a schedule or a callable (settable, e.g. by callbacks)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        if isinstance(value, dict):  # a saved schedule
            value = schedules.get(value)
        self._constant_learning_rate = not callable(value)
        if self._constant_learning_rate:
            value = positive_float(value, "learning_rate", type(self).__name__)
        self._learning_rate = value

    def learning_rates(self, count: int) -> np.ndarray:
        """η for the next ``count`` updates (t = ``iterations``, ``iterations`` + 1, ...)."""
        if self._constant_learning_rate:
            return np.full(count, self._learning_rate)
        name = type(self).__name__
        return np.array(
            [
                positive_float(self._learning_rate(t), f"learning_rate({t})", name)
                for t in range(self.iterations, self.iterations + count)
            ]
        )

    def current_learning_rate(self) -> float:
        """η for the next update: the number, or the schedule at t = ``iterations``."""
        if self._constant_learning_rate:
            return self._learning_rate
        value = self._learning_rate(self.iterations)
        return positive_float(value, f"learning_rate({self.iterations})", type(self).__name__)

    def apply_gradients(
        self, params: np.ndarray, grads: np.ndarray, arrays: Sequence[slice] = ()
    ) -> None:
        """One step: ``params`` ← update(``params``, ``grads``), both flat vectors.

        ``arrays`` are the slices of the individual parameter arrays inside the
        vectors, used by ``clipnorm``. ``grads`` may be modified in place.
        """
        if params.shape != grads.shape or params.ndim != 1:
            raise ValueError(
                f"{type(self).__name__}: params and grads must be flat vectors of the same "
                f"length. Received shapes {params.shape} and {grads.shape}."
            )
        if not (params.flags.c_contiguous and params.flags.writeable):
            raise ValueError(
                f"{type(self).__name__}: params must be a writable contiguous vector "
                "(it is updated in place)."
            )
        self.apply(params, grads, arrays)

    def apply(self, params: np.ndarray, grads: np.ndarray, arrays: Sequence[slice]) -> None:
        """``apply_gradients`` without the argument check: a model's training step, whose
        vectors are its own. Clipping, then the rule (``rule``, or ``update``'s w ← w − s·d)."""
        if params is not self._params or self.state is not self._held_from:
            self.prepare_state(params)
        rate = self._clipped_rate(grads, arrays)
        if self.rule is None:
            direction, scale = self.update(params, grads, rate)
            self._chunked_axpy(params, direction, scale)
        elif params.size <= _AXPY_CHUNK:  # the whole vector at once: the training step's case
            numbers, held = self.numbers(rate, self.iterations + 1), self._held
            new = self.rule(params, grads, *held, *numbers)
            if not self._in_place:
                self._keep(params, held, new)
            self._axpy(new[1], params, a=-numbers[0])  # w ← w − s · d, in place
        else:  # in chunks whose temporaries stay in cache: no extra pass over the memory
            numbers, held = self.numbers(rate, self.iterations + 1), self._held
            for start in range(0, params.size, _RULE_CHUNK):
                part = slice(start, start + _RULE_CHUNK)
                views = [v[part] if isinstance(v, np.ndarray) else v for v in held]
                self._apply_rule(params[part], grads[part], views, numbers)
        self._count_step(params.dtype)

    def _clipped_rate(self, grads: np.ndarray, arrays: Sequence[slice]) -> float:
        """Clip ``grads`` in place (``clipvalue``, then ``clipnorm`` per array); η for this
        step. What every step does before its rule, alone or stacked."""
        if self.clipvalue is not None or self.clipnorm is not None:
            self.clip(grads, self.clip_bounds(arrays), self.clipnorm or 0.0, self.clipvalue or 0.0)
        return self._learning_rate if self._constant_learning_rate else self.current_learning_rate()

    def _count_step(self, dtype: np.dtype) -> None:
        """One more step; every ``FLUSH_EVERY`` steps the state's subnormals set to 0."""
        self.iterations += 1
        if self.iterations % FLUSH_EVERY == 0:
            tiny = np.finfo(dtype).tiny
            for value in self.state.values():
                flush_subnormals(value, tiny)

    # -- the rule, written once for both engines ------------------------------------------

    #: The per-parameter state vectors the rule reads and returns, in order (a name the
    #: optimizer does not hold, such as SGD's velocity without momentum, is passed as 0).
    slots: tuple[str, ...] = ()

    #: Attributes that choose between two forms of the rule (SGD's ``nesterov``), rather
    #: than being numbers in it: optimizers stacked by ``Stack`` must agree on them. Any
    #: other number the rule tests (``if momentum:``) must leave the update unchanged
    #: where it is 0.
    switches: tuple[str, ...] = ()

    #: The update of one entry (or of a whole vector: the same lines run on both), as a
    #: static method ``rule(w, g, *slots, *numbers) → (w, d, *slots)``: the direction d
    #: of w ← w − s · d, s being the first of ``numbers`` (the step size), and the state's
    #: new values. Written with arithmetic, NumPy ufuncs and augmented assignments only:
    #: on arrays (the NumPy engine runs it on the parameter vector, then w ← w − s · d by
    #: BLAS axpy) ``m *= ...`` (and a decoupled decay's ``w *= ...``) update the vectors in
    #: place; on numbers (the compiled engine, ``minifw.jit``, runs it entry by entry) they
    #: make the new values it returns. ``g`` is never changed in place. None: the
    #: optimizer writes ``update`` instead (and trains on the NumPy engine only).
    rule = None

    def numbers(self, rate, t) -> tuple:
        """The numbers ``rule`` takes after the state, the step size s first, for the
        update with learning rate ``rate`` that is the t-th (from 1). Written with
        arithmetic only, so that ``rate`` and ``t`` may also be arrays of many steps'
        values (the compiled engine's)."""
        return (rate,)

    def _apply_rule(self, params, grads, held: list, numbers: tuple) -> None:
        """The state ← ``rule``'s, and w ← w − s · d by BLAS axpy, in place."""
        new = self.rule(params, grads, *held, *numbers)
        if not self._in_place:
            self._keep(params, held, new)
        self._chunked_axpy(params, new[1], numbers[0])

    def _keep(self, params, held: list, new: tuple) -> None:
        """Put the rule's results into the vectors where it made new arrays instead of
        updating them in place (a rule of one's own may). A rule that updated everything in
        place on its first step is taken to do so at every step: the check is skipped."""
        in_place = new[0] is params and all(map(operator.is_, new[2:], held))
        if not in_place:
            _write_back([params, *held], (new[0], *new[2:]))
        self._in_place = in_place
    @staticmethod
    def clip(grads, bounds, clipnorm, clipvalue) -> None:
        """Clip ``grads`` in place: each entry to [−clipvalue, clipvalue], then each parameter
        array's (``bounds``: its (start, stop) rows) to norm ≤ clipnorm, g ← g · clipnorm / ‖g‖;
        0 turns either off. Loops and ufuncs only: the compiled engine runs it too."""
        if clipvalue > 0:
            grads[:] = np.minimum(np.maximum(grads, -clipvalue), clipvalue)
        if clipnorm > 0:
            for k in range(len(bounds)):
                part = grads[bounds[k, 0] : bounds[k, 1]]
                norm = np.sqrt(np.sum(part * part))
                if norm > clipnorm:
                    part *= clipnorm / norm

    @staticmethod
    def clip_bounds(arrays: Sequence[slice]) -> np.ndarray:
        """The (start, stop) of each parameter array in the flat vector, as ``clip`` takes them."""
        return np.array([(part.start, part.stop) for part in arrays], dtype=np.int64).reshape(-1, 2)

    def _chunked_axpy(self, params: np.ndarray, direction: np.ndarray, scale: float) -> None:
        if params.size <= _AXPY_CHUNK:
            self._axpy(direction, params, a=-scale)  # w ← w − s · d, in place
        else:
            self._step_in_chunks(params, direction, scale)

    def prepare_state(self, params: np.ndarray) -> None:
        """Create the state (or keep a restored one that fits) and pick the BLAS routine."""
        if any(value.size != params.size for value in self.state.values()):
            if self.iterations:
                raise ValueError(
                    f"{type(self).__name__} holds state for another model's parameters and "
                    f"cannot update {params.size}: use a new optimizer for each model."
                )
            self.state = {}
        if not self.state:
            self.state = self.init_state(params)
        self.state = {
            key: value.astype(params.dtype, copy=False) for key, value in self.state.items()
        }
        self._params = params
        self._axpy = get_blas_funcs("axpy", dtype=params.dtype)
        # the rule's state arguments (0 for a slot not held), until the state is replaced
        self._held = [self.state.get(name, 0.0) for name in self.slots]
        self._held_from = self.state
        self._in_place = False  # not known until the rule's first step

    def __getstate__(self) -> dict:
        """For copies: the BLAS routine is looked up again on the copy's first step."""
        state = dict(self.__dict__)
        state.pop("_axpy", None)
        state.pop("_held", None)
        state["_params"] = state["_held_from"] = None
        return state

    def _step_in_chunks(self, params: np.ndarray, direction: np.ndarray, scale: float) -> None:
        """params ← params − scale · direction, in place, by BLAS axpy on chunks.

        axpy reads and writes each entry once (``params -= scale * direction``
        makes a temporary and two passes: 5× slower on 21M parameters). The
        chunks stay below the size at which OpenBLAS hands axpy to its thread
        pool: scipy's BLAS has a pool of its own, and waking it between NumPy's
        matrix products makes the two pools fight over the cores (measured on
        W3: 5× slower epochs).
        """
        for start in range(0, params.size, _AXPY_CHUNK):
            part = slice(start, start + _AXPY_CHUNK)
            self._axpy(direction[part], params[part], a=-scale)

    def init_state(self, params: np.ndarray) -> dict[str, np.ndarray]:
        """Per-parameter state vectors (velocity, moments), all zero; none by default."""
        return {}

    def update(
        self, params: np.ndarray, grads: np.ndarray, learning_rate: float
    ) -> tuple[np.ndarray, float]:
        """The update rule: the direction d and the step size s of w ← w − s · d, updating
        the rule's state (and ``params`` itself for decoupled decay) on the way."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """Constructor arguments as JSON-able values (a schedule as its config)."""
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            rate = schedules.serialize(rate)
        elif callable(rate):
            raise ValueError(
                f"{type(self).__name__}: a learning rate given as a plain function cannot be "
                "stored; use a schedule from mf.schedules (or a number) to save this model."
            )
        return {"learning_rate": rate, "clipnorm": self.clipnorm, "clipvalue": self.clipvalue}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


def _write_back(targets: list, results: tuple) -> None:
    """Put a rule's results into its vectors, where it made new arrays instead of updating
    them in place (a rule of one's own may); a slot not held (0) is skipped."""
    for target, result in zip(targets, results):
        if result is not target and isinstance(target, np.ndarray):
            target[...] = result


class Stack:
    """K optimizers of one class stepping the rows of stacked (K, P) parameter and gradient
    arrays with one call of their ``rule`` per step (``mf.fit_many``), each row exactly as
    its own optimizer's ``apply`` would step it.

    The optimizers' state vectors become rows of stacked arrays (so each optimizer still
    holds its own state, and goes on from it in a later ``fit``). A number of ``numbers``
    that differs among them (a learning rate, a momentum) is passed to the rule as a
    (K, 1) column in the parameters' dtype, which is what each model's weak Python
    number becomes in its own update; a test of such a number in the rule (``if
    momentum:``) is true when it is for any of them, since a 0 there makes that branch
    change nothing (g + 0 · w is g). The optimizers must agree on their ``switches``.
    """

    def __init__(self, optimizers: Sequence[Optimizer], params: np.ndarray) -> None:
        self.optimizers = list(optimizers)
        kind = type(self.optimizers[0])
        if kind.rule is None or any(type(o) is not kind for o in self.optimizers):
            raise ValueError("Stack: the optimizers must be of one class that writes a rule.")
        for name in kind.switches:
            if len({getattr(o, name) for o in self.optimizers}) > 1:
                raise ValueError(f"Stack: the optimizers differ in `{name}`.")
        for optimizer, row in zip(self.optimizers, params):
            optimizer.prepare_state(row)
        held = [name for name in kind.slots if name in self.optimizers[0].state]
        self.state = {name: np.stack([o.state[name] for o in self.optimizers]) for name in held}
        for k, optimizer in enumerate(self.optimizers):
            optimizer.state = {**optimizer.state, **{n: s[k] for n, s in self.state.items()}}
        self.rule, self.slots = kind.rule, kind.slots

    def apply(self, params: np.ndarray, grads: np.ndarray, arrays: Sequence[slice]) -> None:
        """One step of every optimizer on its row of ``params`` from its row of ``grads``."""
        numbers = [
            optimizer.numbers(optimizer._clipped_rate(row, arrays), optimizer.iterations + 1)
            for optimizer, row in zip(self.optimizers, grads)
        ]
        columns = [_column(values, params.dtype) for values in zip(*numbers)]
        held = [self.state.get(name, 0.0) for name in self.slots]
        width = max(1, _RULE_CHUNK // len(params))
        for start in range(0, params.shape[1], width):
            part = slice(start, start + width)
            views = [
                params[:, part],
                *(v[:, part] if isinstance(v, np.ndarray) else v for v in held),
            ]
            w, direction, *slots = self.rule(views[0], grads[:, part], *views[1:], *columns)
            _write_back(views, (w, *slots))
            views[0] -= columns[0] * direction  # w ← w − s · d, each row with its own s
        for optimizer in self.optimizers:  # their state vectors are rows of the stacked ones
            optimizer._count_step(params.dtype)


class _AnyColumn(np.ndarray):
    """A (K, 1) column of one number of K stacked optimizers; true when any entry is."""

    def __bool__(self) -> bool:
        return bool(np.asarray(self).any())


def _column(values: tuple, dtype: np.dtype):
    """The one value all K optimizers share, or their values as a column."""
    if all(value == values[0] for value in values[1:]):
        return values[0]
    return np.array(values, dtype=dtype).reshape(-1, 1).view(_AnyColumn)


#: Every optimizer a model file may name, added by ``@register`` where it is defined.
OPTIMIZERS = Catalogue("optimizer", Optimizer, decorator="mf.optimizers.register")
register = OPTIMIZERS.register


@register("sgd")
class SGD(Optimizer):
    """Stochastic gradient descent, as PyTorch documents it.

        g ← ∂L/∂w + λ w                        (weight_decay λ)
        b ← μ b + g                             (momentum μ; b starts at 0)
        g ← g + μ b  if nesterov,  else  g ← b  (when μ > 0)
        w ← w − η g

    With μ = λ = 0 this is the lecture's rule, w ← w − η ∂L/∂w.

    Examples
    --------
    >>> import numpy as np
    >>> w, g = np.array([1.0]), np.array([1.0])
    >>> SGD(learning_rate=0.5).apply_gradients(w, g)
    >>> w
    array([0.5])
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        self.momentum = positive_float(momentum, "momentum", "SGD", allow_zero=True)
        self.weight_decay = positive_float(weight_decay, "weight_decay", "SGD", allow_zero=True)
        if not isinstance(nesterov, bool):
            raise TypeError(f"SGD: `nesterov` must be True or False. Received: {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum above 0.")
        self.nesterov = nesterov

    def init_state(self, params):
        return {"velocity": np.zeros_like(params)} if self.momentum else {}

    slots = ("velocity",)
    switches = ("nesterov",)

    def numbers(self, rate, t):
        return rate, self.momentum, float(self.nesterov), self.weight_decay

    @staticmethod
    def rule(w, g, velocity, rate, momentum, nesterov, weight_decay):
        if weight_decay:
            g = g + weight_decay * w
        if momentum:
            velocity *= momentum
            velocity += g
            g = g + momentum * velocity if nesterov else velocity
        return w, g, velocity

    def get_config(self):
        return {
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
            **super().get_config(),
        }


@register("adam")
class Adam(Optimizer):
    """Adam, as PyTorch documents it (t counts updates from 1):

        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        m̂ = m / (1 − β₁ᵗ)
        v̂ = v / (1 − β₂ᵗ)
        w ← w − η m̂ / (√v̂ + ε)

    ε is added after the square root (Keras adds its ε to √v̂ too, but with
    a default of 1e-7; here it is PyTorch's 1e-8).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        owner = type(self).__name__
        self.beta_1 = unit_fraction(beta_1, "beta_1", owner)
        self.beta_2 = unit_fraction(beta_2, "beta_2", owner)
        self.epsilon = positive_float(epsilon, "epsilon", owner)

    def init_state(self, params):
        return {"m": np.zeros_like(params), "v": np.zeros_like(params)}

    slots = ("m", "v")

    def numbers(self, rate, t):
        """η / (1 − β₁ᵗ) and √(1 − β₂ᵗ) (the bias corrections), β₁, β₂, ε and the decay
        factor 1 (AdamW's 1 − η λ)."""
        return (
            rate / (1 - self.beta_1**t),
            (1 - self.beta_2**t) ** 0.5,  # a Python float for a number t: no float64 upcast
            self.beta_1,
            self.beta_2,
            self.epsilon,
            1.0,
        )

    @staticmethod
    def rule(w, g, m, v, step, root, beta_1, beta_2, epsilon, decay):
        """m, v as above; w ← decay · w − η / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε), in
        PyTorch's order of operations."""
        m *= beta_1
        m += (1 - beta_1) * g
        v *= beta_2
        v += (1 - beta_2) * (g * g)
        if decay != 1:
            w *= decay
        return w, m / (np.sqrt(v) / root + epsilon), m, v

    def get_config(self):
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            **super().get_config(),
        }


@register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (PyTorch's AdamW): first w ← w − η λ w, then Adam."""

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.01,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, clipnorm=clipnorm, clipvalue=clipvalue
        )
        self.weight_decay = positive_float(weight_decay, "weight_decay", "AdamW", allow_zero=True)

    def numbers(self, rate, t):
        """Adam's, with the decay factor 1 − η λ applied to w before Adam's step."""
        return (*super().numbers(rate, t)[:-1], 1 - rate * self.weight_decay)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


@register("rmsprop")
class RMSprop(Optimizer):
    """RMSprop, as PyTorch documents it (ρ is PyTorch's α):

    v ← ρ v + (1 − ρ) g²
    w ← w − η g / (√v + ε)                         (momentum μ = 0)
    b ← μ b + g / (√v + ε),  w ← w − η b           (μ > 0)
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        epsilon: float = 1e-8,
        momentum: float = 0.0,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        self.rho = unit_fraction(rho, "rho", "RMSprop")
        self.epsilon = positive_float(epsilon, "epsilon", "RMSprop")
        self.momentum = positive_float(momentum, "momentum", "RMSprop", allow_zero=True)

    def init_state(self, params):
        state = {"v": np.zeros_like(params)}
        if self.momentum:
            state["velocity"] = np.zeros_like(params)
        return state

    slots = ("v", "velocity")

    def numbers(self, rate, t):
        return rate, self.rho, self.epsilon, self.momentum

    @staticmethod
    def rule(w, g, v, velocity, rate, rho, epsilon, momentum):
        v *= rho
        v += (1 - rho) * (g * g)
        direction = g / (np.sqrt(v) + epsilon)
        if momentum:
            velocity *= momentum
            velocity += direction
            direction = velocity
        return w, direction, v, velocity

    def get_config(self):
        return {
            "rho": self.rho,
            "epsilon": self.epsilon,
            "momentum": self.momentum,
            **super().get_config(),
        }


@register("adagrad")
class Adagrad(Optimizer):
    """Adagrad, as PyTorch documents it: s ← s + g² (s starts at 0), w ← w − η g / (√s + ε)."""

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        epsilon: float = 1e-10,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, clipvalue=clipvalue)
        self.epsilon = positive_float(epsilon, "epsilon", "Adagrad")

    def init_state(self, params):
        return {"sum": np.zeros_like(params)}

    slots = ("sum",)

    def numbers(self, rate, t):
        return rate, self.epsilon

    @staticmethod
    def rule(w, g, total, rate, epsilon):
        total += g * g
        return w, g / (np.sqrt(total) + epsilon), total

    def get_config(self):
        return {"epsilon": self.epsilon, **super().get_config()}


@register("lbfgs")
class LBFGS(Optimizer):
    """Full-batch L-BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")``.

    Like scikit-learn's ``lbfgs`` solver: each ``fit`` epoch is one L-BFGS
    iteration on the whole training set (``batch_size`` is ignored), with the
    step length found by line search (so there is no learning rate). Training
    stops early when scipy reports convergence: the projected gradient below
    ``tolerance_grad`` or the relative loss change below ``tolerance_change``.

    Parameters
    ----------
    history_size : int
        Correction pairs kept (scipy's ``maxcor``).
    tolerance_grad, tolerance_change : float
        scipy's ``gtol`` and ``ftol``.
    max_evaluations : int, optional
        Limit on loss-and-gradient evaluations per ``fit`` (scipy's ``maxfun``).
    """

    full_batch = True

    def __init__(
        self,
        history_size: int = 10,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        max_evaluations: int = 15000,
    ) -> None:
        super().__init__(1.0)
        self.history_size = positive_int(history_size, "history_size", "LBFGS")
        self.tolerance_grad = positive_float(tolerance_grad, "tolerance_grad", "LBFGS")
        self.tolerance_change = positive_float(tolerance_change, "tolerance_change", "LBFGS")
        self.max_evaluations = positive_int(max_evaluations, "max_evaluations", "LBFGS")
        self.evaluations = 0

    def apply(self, params, grads, arrays):
        raise RuntimeError(
            "LBFGS trains on the whole data set at once: use model.fit(X, y, epochs=...) "
            "(one epoch per L-BFGS iteration), not train_on_batch."
        )

    def options(self, max_iterations: int) -> dict:
        """scipy.optimize.minimize options for at most ``max_iterations`` iterations."""
        return {
            "maxiter": max_iterations,
            "maxcor": self.history_size,
            "gtol": self.tolerance_grad,
            "ftol": self.tolerance_change,
            "maxfun": self.max_evaluations,
        }

    def get_config(self):
        return {
            "history_size": self.history_size,
            "tolerance_grad": self.tolerance_grad,
            "tolerance_change": self.tolerance_change,
            "max_evaluations": self.max_evaluations,
        }

    def __repr__(self) -> str:
        return f"LBFGS(history_size={self.history_size})"


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimizer from its name (``"sgd"``, ``"adam"``, ``"lbfgs"``, ...) or an instance."""
    return OPTIMIZERS.get(identifier)
