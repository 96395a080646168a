"""Losses: L(y_true, y_pred) -> float and ∂L/∂y_pred.

Arguments come in Keras order, ``(y_true, y_pred)``, for ``forward`` (also
``loss(y_true, y_pred)``) and ``backward``. Predictions have shape (n, k): n
samples, k outputs. Shapes must match exactly: a (n,) target is never
broadcast against (n, 1) predictions.

Reductions: ``"mean"`` (the default) averages over samples, and for the
regression losses and binary cross-entropy also over the k outputs; the
categorical cross-entropies sum over classes and average over samples, as
Keras and PyTorch do. ``"sum"`` drops the averaging.

Probabilities given to a cross-entropy (``from_logits=False``) are clipped to
[ε, 1 − ε] with ε = 1e-7 (Keras's epsilon) before the logarithm, so 0 and 1
give a finite loss; where the clip is active the gradient is 0, as the
derivative of the clipped formula. The ``from_logits=True`` forms use
log-sum-exp and log-sigmoid and are finite for logits of any size.

Fusion: when a model's last layer is ``Sigmoid`` (with ``BinaryCrossEntropy``)
or ``Softmax`` (with the categorical cross-entropies) and ``from_logits`` is
False, the model trains on the logits with the ``from_logits=True`` form
instead (``with_logits()``; gradient ŷ − y with respect to the logits): the
same loss away from the clip, and no vanishing gradient when the output
saturates. The pairs are listed in ``minifw.engine.FUSIONS``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, log_expit

from .functional import row_sum, softmax_parts
from .registry import Catalogue
from .validation import as_numeric_array, positive_float

__all__ = [
    "register",
    "Loss",
    "MSELoss",
    "MAELoss",
    "HuberLoss",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "SparseCategoricalCrossEntropy",
    "Poisson",
    "HalfSquaredError",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "as_rows",
    "get",
]

_REDUCTIONS = ("mean", "sum")
EPSILON = 1e-7


def as_rows(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sequence outputs as rows: predictions (n, T, k) become (n·T, k), one row per sample
    and step, and their targets (n·T, k) (or (n·T,) labels); 2-D arrays stay as they are.
    A loss or metric on sequences is its 2-D form on these rows: the mean runs over every
    entry, as in Keras."""
    if y_pred.ndim <= 2:
        return y_true, y_pred
    rows = int(np.prod(y_pred.shape[:-1]))
    return (
        y_true.reshape(rows, *y_true.shape[y_pred.ndim - 1 :]),
        y_pred.reshape(rows, y_pred.shape[-1]),
    )


class Loss:
    """Base class.

    Each loss is written once: either ``entry`` (the loss of one entry and its
    derivative, for a loss that is a mean or sum over entries: the NumPy engine runs
    it on whole arrays, the compiled engine on each entry) or ``rows`` (ℓ_i, the loss
    of each sample, from which L and the weighted L are derived) and ``gradient``
    (∂L/∂y_pred), with ``value_and_grad`` fused only where that is faster (a test pins
    its value to the mean of the rows). A loss of one's own may instead define ``value`` (L) and
    ``gradient``; ``rows`` then unlocks sample weights. These take arrays a model
    prepared (targets shaped by ``targets``, predictions from its forward pass)
    and check nothing; the public ``forward``/``backward`` (and calling the loss)
    check shapes and values first.

    Facts of the class, read by the rest of minifw:

    ``regression``: the loss compares outputs with targets in the same units (MSE,
    MAE, Huber), so a target outside the output's range cannot be reached; training
    refuses it (``minifw.engine.targets_out_of_reach``).
    ``expects``: what the predictions must be, as a layer's ``output_kind`` names it
    ("raw" logits, "probabilities", a "distribution"), or None (anything): the plan
    refuses an output the loss cannot mean (``minifw.engine.output_loss_mismatch``).
    ``per_class``: one output per class is needed (a categorical loss).
    ``formula`` and ``latex``: L written out in the lecture's notation, as plain text
    (y_hat for ŷ) and as LaTeX, for ``mf.explain``'s write-ups (None: named only).
    ``accuracy``: the name of the accuracy metric that fits the loss's targets, which
    ``metrics=["accuracy"]`` means (None: by the number of outputs).
    ``class_labels(Y)``: the class of each row for a classification loss (for class
    weights and the checks of a validation split), else None.
    """

    regression = False
    expects: str | None = None
    per_class = False
    accuracy: str | None = None

    #: ``entry(y, p, *constants) → (ℓ, ∂ℓ/∂p)``: one entry's loss and derivative, a static
    #: method written with arithmetic and NumPy ufuncs only (so that it runs on arrays and
    #: on numbers alike); None for a loss written by rows.
    entry = None
    #: ``per_row(y, p, *constants) → (ℓ_i of each row, ∂ℓ_i/∂p)``, on a whole batch, for a
    #: loss whose entries in a row interact (a softmax), in the subset numba compiles too
    #: (NumPy ufuncs and ``minifw.functional``'s row reductions); None otherwise.
    per_row = None
    #: Attributes passed to ``entry`` or ``per_row`` after (y, p), in order.
    constants: tuple[str, ...] = ()
    #: Over what the entries' ℓ are averaged ("mean"): every entry (n·k), or the rows (n:
    #: each row's ℓ is then the sum over its entries).
    averaged_over = "entries"

    def constant_values(self) -> tuple:
        """The values of ``constants``, as ``entry`` takes them."""
        return tuple(getattr(self, name) for name in self.constants)

    def class_labels(self, Y: np.ndarray) -> np.ndarray | None:
        """The class of each row of prepared targets ``Y``; None: not a classification."""
        return None
    formula: str | None = None
    latex: str | None = None

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: `reduction` must be one of {_REDUCTIONS}. "
                f"Received: reduction={reduction!r}"
            )
        self.reduction = reduction

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike) -> float:
        return self.forward(y_true, y_pred)

    def forward(self, y_true: ArrayLike, y_pred: ArrayLike) -> float:
        """The loss L, a Python float."""
        y_true, y_pred = self._pair(y_true, y_pred)
        return self.value(y_true, y_pred)

    def backward(self, y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
        """∂L/∂y_pred, with the shape of ``y_pred``."""
        y_true, y_pred = self._pair(y_true, y_pred)
        return self.gradient(y_true, y_pred)

    def value(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """L = mean_i ℓ_i ("mean") or Σ_i ℓ_i ("sum") on prepared arrays (no checks)."""
        rows = self.rows(y_true, y_pred)
        return float(rows.mean() if self.reduction == "mean" else rows.sum())

    def gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """∂L/∂y_pred on prepared arrays (no checks)."""
        if self.step_formula is None:
            raise NotImplementedError
        return self.value_and_grad(y_true, y_pred)[1]

    @property
    def step_formula(self):
        """``entry`` or ``per_row``, whichever the class writes (None: neither)."""
        return self.entry if self.entry is not None else self.per_row

    def value_and_grad(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, np.ndarray]:
        """L and ∂L/∂y_pred together, on prepared arrays (one training step's need)."""
        if y_pred.ndim > 2:  # a sequence: every (sample, step) a row (``as_rows``)
            value, grad = self.value_and_grad(*as_rows(y_true, y_pred))
            return value, grad.reshape(y_pred.shape)
        formula = self.step_formula
        if formula is None:
            return self.value(y_true, y_pred), self.gradient(y_true, y_pred)
        if self.constants:
            values, grad = formula(y_true, y_pred, *self.constant_values())
        else:
            values, grad = formula(y_true, y_pred)
        scale = self.entry_scale(y_pred)
        return float(values.sum()) * scale, grad * scale

    def entry_scale(self, y_pred: np.ndarray) -> float:
        """∂L/∂ℓ_entry: 1/(n·k) or 1/n for the mean (``averaged_over``), 1 for the sum."""
        if self.reduction == "sum":
            return 1.0
        return 1.0 / (y_pred.size if self.averaged_over == "entries" else len(y_pred))

    def entries(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """The loss of each entry, shape (n, k), for losses that are a mean over entries."""
        if self.per_row is not None:
            raise NotImplementedError(f"{type(self).__name__} is written by rows, not entries.")
        if self.entry is not None:
            return self.entry(y_true, y_pred, *self.constant_values())[0]
        raise NotImplementedError(
            f"{type(self).__name__} defines neither `rows` (the loss of each sample) nor "
            "`entries`: define one to use sample weights."
        )

    def rows(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """ℓ_i, the loss of each sample, shape (n,): L = mean_i ℓ_i ("mean") or Σ_i ℓ_i
        ("sum"). For a mean over entries, ℓ_i is row i's mean (or sum) of ``entries``. For a
        sequence, ℓ_i is the mean (or sum) of its steps' ℓ (``as_rows``)."""
        if y_pred.ndim > 2:
            steps = self.rows(*as_rows(y_true, y_pred)).reshape(len(y_pred), -1)
            return steps.mean(axis=1) if self.reduction == "mean" else steps.sum(axis=1)
        if self.per_row is not None:
            return self.per_row(y_true, y_pred, *self.constant_values())[0]
        entries = self.entries(y_true, y_pred)
        if self.reduction == "mean" and self.averaged_over == "entries":
            return entries.mean(axis=1)
        return entries.sum(axis=1)

    def weighted_value_and_grad(
        self, y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """L = Σ w_i ℓ_i / Σ w_i ("mean") or Σ w_i ℓ_i ("sum"), and ∂L/∂y_pred.

        Each row of the unweighted gradient is rescaled: by n w_i / Σ w (mean) or
        w_i (sum). A batch whose weights are all 0 has L = 0 and no gradient.
        """
        _, grad = self.value_and_grad(y_true, y_pred)
        rows = self.rows(y_true, y_pred)
        if self.reduction == "mean":
            total = float(weights.sum())
            factors = weights * (len(weights) / total) if total > 0 else weights * 0.0
            value = float(weights.dot(rows)) / total if total > 0 else 0.0
        else:
            factors, value = weights, float(weights.dot(rows))
        grad *= factors.astype(grad.dtype, copy=False).reshape(-1, *([1] * (grad.ndim - 1)))
        return value, grad

    def sequence_targets(self, y: np.ndarray, steps: int, n_outputs: int, dtype) -> np.ndarray:
        """Targets of a model whose predictions are sequences (n, ``steps``, n_outputs): y of
        shape (n, steps, n_outputs) (or (n, steps), as for ``targets``), each step's targets
        checked as ``targets`` checks rows."""
        if y.ndim < 2 or y.shape[1] != steps:
            raise ValueError(
                f"The model outputs a sequence, shape (n, {steps}, {n_outputs}), "
                f"so y must have shape ({len(y)}, {steps}, "
                f"{n_outputs}) (or ({len(y)}, {steps}) for one output or class labels). "
                f"Received: y of shape {y.shape}."
            )
        if y.ndim > 3 or (y.ndim == 3 and y.shape[2] != n_outputs and y.shape[2] != 1):
            raise ValueError(
                f"y has shape {y.shape}, but the model outputs {n_outputs} value"
                f"{'s' if n_outputs > 1 else ''} per step: y must have shape "
                f"({len(y)}, {steps}, {n_outputs})."
            )
        flat = self.targets(y.reshape(len(y) * steps, *y.shape[2:]), n_outputs, dtype)
        return flat.reshape(len(y), steps, *flat.shape[1:])

    def targets(self, y: np.ndarray, n_outputs: int, dtype) -> np.ndarray:
        """Targets shaped like the model's predictions (n, n_outputs), in ``dtype``.

        ``y`` of shape (n,) is one output column and becomes (n, 1); any other
        mismatch is an error, never a broadcast.
        """
        if y.ndim > 2:
            raise ValueError(
                f"y has shape {y.shape}, a sequence of targets per sample, but the model "
                f"outputs {n_outputs} value{'s' if n_outputs > 1 else ''} per sample. Give "
                f"y of shape ({len(y)}, {n_outputs}), or end the model with sequence outputs "
                "(return_sequences=True on its last recurrent layer)."
            )
        if y.ndim == 1:
            if n_outputs != 1:
                raise ValueError(
                    f"y has shape {y.shape} (one value per sample) but the model has "
                    f"{n_outputs} outputs. Give y of shape ({len(y)}, {n_outputs})."
                )
            y = y.reshape(-1, 1)
        if y.shape[1] != n_outputs:
            raise ValueError(
                f"y has {y.shape[1]} columns (shape {y.shape}) but the model has {n_outputs} "
                f"output{'s' if n_outputs > 1 else ''}: y must have shape ({len(y)}, {n_outputs})."
            )
        self._check_target_values(y)
        return y.astype(dtype, copy=False)

    def _check_target_values(self, y_true: np.ndarray) -> None:
        """Refuse targets this loss cannot take (e.g. outside [0, 1]); none by default."""

    def _pair(self, y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        y_true, y_pred = self._arrays(y_true, y_pred)
        if y_true.shape != y_pred.shape:
            hint = " Try y.reshape(-1, 1)." if y_true.shape == y_pred.shape[:1] else ""
            raise ValueError(
                f"{type(self).__name__}: y_true and y_pred must have the same shape. "
                f"Received: {y_true.shape} and {y_pred.shape}.{hint}"
            )
        self._check_target_values(y_true)
        self._check_predictions(y_pred)
        if y_pred.dtype.kind == "f":  # compute in the predictions' precision
            y_true = y_true.astype(y_pred.dtype, copy=False)
        return y_true, y_pred

    def _arrays(self, y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Both as numeric arrays with at least one sample, or a ValueError naming the empty one."""
        owner = type(self).__name__
        y_true, y_pred = as_numeric_array(y_true, "y_true"), as_numeric_array(y_pred, "y_pred")
        for name, array in (("y_true", y_true), ("y_pred", y_pred)):
            if array.size == 0:
                raise ValueError(
                    f"{owner}: `{name}` is empty (shape {array.shape}); a loss needs at least "
                    "one sample."
                )
        return y_true, y_pred

    def _check_predictions(self, y_pred: np.ndarray) -> None:
        """Refuse predictions this loss cannot take (e.g. probabilities outside [0, 1])."""

    def get_config(self) -> dict:
        return {"reduction": self.reduction}

    def __repr__(self) -> str:
        args = ", ".join(
            f"{key}={value!r}"
            for key, value in self.get_config().items()
            if value != type(self)().get_config()[key]
        )
        return f"{type(self).__name__}({args})"


#: Every loss a model file may name, added by ``@register`` where it is defined.
LOSSES = Catalogue("loss", Loss, decorator="mf.losses.register")
register = LOSSES.register


@register("mse", "mean_squared_error")
class MSELoss(Loss):
    """L = (1/(n·k)) Σ (y − ŷ)² ;  ∂L/∂ŷ = −2 (y − ŷ) / (n·k).

    Plain mean over samples and outputs, no ½: with one sample and one output
    (n = k = 1) the gradient is the lecture's −2(y − ŷ). ``reduction="sum"``
    drops the 1/(n·k).
    """

    regression = True
    formula = "L = (1/(n·k)) Σ (y − y_hat)²"
    latex = r"L = \frac{1}{nk} \sum (y - \hat{y})^2"

    @staticmethod
    def entry(y, p):
        error = p - y
        return error * error, 2 * error  # ℓ = (y − ŷ)², ∂ℓ/∂ŷ = −2 (y − ŷ)

    def value_and_grad(self, y_true, y_pred):
        """``entry``'s sum fused for the NumPy engine's step (a test pins it to ``entry``):
        L as one dot product of the error with itself, ∂L/∂ŷ from the same error."""
        error = y_pred - y_true
        flat = error.ravel()  # a view: the error is a new contiguous array
        scale = 1.0 / flat.size if self.reduction == "mean" else 1.0  # entry_scale, inlined
        return float(flat.dot(flat)) * scale, error * (2.0 * scale)


@register("mae", "mean_absolute_error")
class MAELoss(Loss):
    """L = (1/(n·k)) Σ |y − ŷ| ;  ∂L/∂ŷ = sign(ŷ − y) / (n·k), 0 where ŷ = y."""

    regression = True
    formula = "L = (1/(n·k)) Σ |y − y_hat|"
    latex = r"L = \frac{1}{nk} \sum |y - \hat{y}|"

    @staticmethod
    def entry(y, p):
        return np.abs(p - y), np.sign(p - y)


@register("huber")
class HuberLoss(Loss):
    """L = (1/(n·k)) Σ h(ŷ − y), h(e) = ½ e² for |e| ≤ δ, δ (|e| − ½ δ) otherwise.

    ∂L/∂ŷ = clip(ŷ − y, −δ, δ) / (n·k). As Keras's Huber and PyTorch's HuberLoss.
    """

    regression = True
    formula = "L = (1/(n·k)) Σ h(y_hat − y), h(e) = ½e² for |e| ≤ δ, else δ(|e| − ½δ)"
    latex = (
        r"L = \frac{1}{nk} \sum h(\hat{y} - y),\ h(e) = \tfrac{1}{2} e^2 \ (|e| \le \delta),"
        r"\ \delta (|e| - \tfrac{1}{2} \delta)\ \mathrm{otherwise}"
    )

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.delta = positive_float(delta, "delta", "HuberLoss")

    constants = ("delta",)

    @staticmethod
    def entry(y, p, delta):
        error = np.abs(p - y)
        quadratic = np.minimum(error, delta)
        value = 0.5 * quadratic * quadratic + delta * (error - quadratic)
        return value, np.minimum(np.maximum(p - y, -delta), delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


@register("poisson")
class Poisson(Loss):
    """L = (1/(n·k)) Σ (ŷ − y log ŷ), counts y ≥ 0 and rates ŷ > 0 (Keras's Poisson);
    ∂L/∂ŷ = (1 − y/ŷ) / (n·k). After an Exponential output ŷ = e^z this is the
    half Poisson deviance of scikit-learn's ``loss="poisson"``, e^z − y z, up to a
    constant in y.
    """

    regression = True
    formula = "L = (1/(n·k)) Σ (y_hat − y log y_hat)"
    latex = r"L = \frac{1}{nk} \sum (\hat{y} - y \log \hat{y})"

    def _check_target_values(self, y_true):
        if y_true.size and np.min(y_true) < 0:
            raise ValueError(
                f"Poisson expects counts y ≥ 0. Received values down to {np.min(y_true):g}."
            )

    @staticmethod
    def entry(y, p):
        rate = np.maximum(p, EPSILON)
        return p - y * np.log(rate), 1 - y / rate


@register("half_squared_error")
class HalfSquaredError(Loss):
    """L = (1/n) Σ_rows ½ Σ_k (y − ŷ)² ;  ∂L/∂ŷ = (ŷ − y) / n: scikit-learn's MLP
    squared error, whose gradient is the plain error (no 2, no 1/k)."""

    regression = True
    formula = "L = (1/n) Σ_rows ½ Σ_k (y − y_hat)²"
    latex = r"L = \frac{1}{n} \sum_{\mathrm{rows}} \tfrac{1}{2} \sum_k (y - \hat{y})^2"

    averaged_over = "rows"

    @staticmethod
    def entry(y, p):
        error = p - y
        return 0.5 * (error * error), error


def _check_probabilities(owner: str, y_true: np.ndarray) -> None:
    if y_true.size and (np.min(y_true) < 0 or np.max(y_true) > 1):
        raise ValueError(
            f"{owner} expects targets between 0 and 1 (labels or probabilities). "
            f"Received values from {np.min(y_true):g} to {np.max(y_true):g}."
        )


def _check_probability_predictions(owner: str, y_pred: np.ndarray) -> None:
    """Refuse predictions outside [0, 1]: most often logits given without from_logits."""
    low, high = float(np.min(y_pred)), float(np.max(y_pred))
    if low < 0 or high > 1:
        raise ValueError(
            f"{owner}(from_logits=False) expects probabilities in [0, 1] as y_pred; received "
            f"values from {low:g} to {high:g}. If these are logits (raw scores), use "
            f"{owner}(from_logits=True); otherwise end the model with a Sigmoid (binary) or "
            "Softmax (categorical) activation."
        )


class _CrossEntropy(Loss):
    """Shared ``from_logits`` handling of the cross-entropies.

    From probabilities, the public ``forward``/``backward`` refuse predictions outside
    [0, 1] with a message pointing at ``from_logits=True``: silently clipping logits
    would train on a wrong loss. Rows that do not sum to 1 are taken as given (a
    numeric gradient perturbs one entry at a time).
    """

    def _check_predictions(self, y_pred):
        if not self.from_logits:
            _check_probability_predictions(type(self).__name__, y_pred)

    def __init__(self, from_logits: bool = False, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if not isinstance(from_logits, bool):
            raise TypeError(
                f"{type(self).__name__}: `from_logits` must be True or False. "
                f"Received: {from_logits!r}"
            )
        self.from_logits = from_logits

    #: What the predictions are when not logits: "probabilities" or "distribution".
    probabilities: str

    @property
    def expects(self) -> str:
        return "raw" if self.from_logits else self.probabilities

    def with_logits(self) -> _CrossEntropy:
        """The same loss taking logits: what a fusing model trains on."""
        return type(self)(from_logits=True, reduction=self.reduction)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}

    constants = ("from_logits",)


@register("binary_crossentropy", "bce")
class BinaryCrossEntropy(_CrossEntropy):
    """L = −(1/(n·k)) Σ [y log p + (1 − y) log(1 − p)], targets y in [0, 1].

    From probabilities: p = clip(ŷ, ε, 1 − ε), ∂L/∂ŷ = (p − y) / (p (1 − p) n k).
    From logits z: p = σ(z) and L = (1/(n·k)) Σ [max(z, 0) − z y + log(1 + e^(−|z|))],
    ∂L/∂z = (σ(z) − y) / (n·k).
    """

    probabilities, accuracy = "probabilities", "binary_accuracy"
    formula = "L = −(1/(n·k)) Σ [y log y_hat + (1 − y) log(1 − y_hat)]"
    latex = r"L = -\frac{1}{nk} \sum \left[y \log \hat{y} + (1 - y) \log(1 - \hat{y})\right]"

    def _check_target_values(self, y_true):
        _check_probabilities(type(self).__name__, y_true)

    def class_labels(self, Y):
        """The 0/1 column of a single binary output (several columns: multilabel, None)."""
        return Y[:, 0] if Y.shape[1] == 1 else None

    constants = ("from_logits",)

    @staticmethod
    def entry(y, p, from_logits):
        if from_logits:
            # −[y log σ(z) + (1 − y) log σ(−z)], with log σ stable for any z
            return -(y * log_expit(p) + (1 - y) * log_expit(-p)), expit(p) - y
        inside = (p >= EPSILON) & (p <= 1 - EPSILON)  # where the clip lets p through
        p = np.minimum(np.maximum(p, EPSILON), 1 - EPSILON)
        value = -(y * np.log(p) + (1 - y) * np.log1p(-p))
        return value, (p - y) / (p * (1 - p)) * inside


@register("categorical_crossentropy", "cce")
class CategoricalCrossEntropy(_CrossEntropy):
    """L = −(1/n) Σ_rows Σ_k y_k log p_k, with one-hot or probability targets y.

    From probabilities: p = clip(ŷ, ε, 1 − ε) as given (not renormalized),
    ∂L/∂ŷ_k = −y_k / (p_k n). From logits z: log p = z − logsumexp(z), and
    ∂L/∂z = (softmax(z) Σ_k y_k − y) / n, i.e. (p − y) / n for targets summing to 1.
    """

    probabilities, per_class, accuracy = "distribution", True, "categorical_accuracy"
    formula = "L = −(1/n) Σ_rows Σ_j y_j log y_hat_j"
    latex = r"L = -\frac{1}{n} \sum_{\mathrm{rows}} \sum_j y_j \log \hat{y}_j"

    def targets(self, y, n_outputs, dtype):
        if y.ndim == 1 and n_outputs > 1:
            raise ValueError(
                f"y has shape {y.shape}: one class label per sample. "
                "Use SparseCategoricalCrossEntropy for integer labels, or one-hot encode y "
                f"to shape ({len(y)}, {n_outputs})."
            )
        return super().targets(y, n_outputs, dtype)

    def _check_target_values(self, y_true):
        _check_probabilities(type(self).__name__, y_true)

    def class_labels(self, Y):
        """The argmax of one-hot (or probability) rows."""
        return np.argmax(Y, axis=1)

    averaged_over = "rows"

    @staticmethod
    def per_row(y, p, from_logits):
        """ℓ_i = −Σ_j y_j log p_j; from logits, log p = z − max z − log Σ e^(z − max z) and
        ∂ℓ_i/∂z = softmax(z) Σ_j y_j − y, both from the softmax's parts."""
        if from_logits:
            probabilities, shifted, log_total = softmax_parts(p)
            values = -row_sum(y * (shifted - log_total))[:, 0]
            probabilities *= row_sum(y)
            probabilities -= y
            return values, probabilities
        dtype = p.dtype  # kept by both branches (numba types them alike)
        inside = (p >= EPSILON) & (p <= 1 - EPSILON)  # where the clip lets p through
        p = np.minimum(np.maximum(p, EPSILON), 1 - EPSILON)
        values = -row_sum(y * np.log(p))[:, 0]
        return values.astype(dtype), (-(y / p) * inside).astype(dtype)


@register("sparse_categorical_crossentropy", "scce")
class SparseCategoricalCrossEntropy(_CrossEntropy):
    """L = −(1/n) Σ_rows log p_label, with integer labels in [0, classes).

    ``y_true`` has shape (n,) or (n, 1); ``y_pred`` (n, classes). From
    probabilities: p = clip(ŷ, ε, 1 − ε), ∂L/∂ŷ = −onehot / (p n). From logits
    z: ∂L/∂z = (softmax(z) − onehot) / n.
    """

    probabilities, per_class, accuracy = "distribution", True, "sparse_categorical_accuracy"
    formula = "L = −(1/n) Σ_rows log y_hat_label"
    latex = r"L = -\frac{1}{n} \sum_{\mathrm{rows}} \log \hat{y}_{\mathrm{label}}"

    def targets(self, y, n_outputs, dtype):
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                f"SparseCategoricalCrossEntropy expects one integer label per sample, "
                f"shape ({len(y)},) or ({len(y)}, 1). Received shape {y.shape}; for one-hot "
                "targets use CategoricalCrossEntropy."
            )
        return self._labels(y, n_outputs)

    def class_labels(self, Y):
        """The integer labels themselves."""
        return Y

    def _labels(self, y: np.ndarray, classes: int) -> np.ndarray:
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            raise ValueError(
                "SparseCategoricalCrossEntropy expects integer class labels; y holds "
                "fractional values."
            )
        if y.size and (y.min() < 0 or y.max() >= classes):
            raise ValueError(
                f"Class labels must lie in [0, {classes}) for a model with {classes} outputs. "
                f"Received labels from {y.min():g} to {y.max():g}."
            )
        return y.astype(np.intp)

    def _pair(self, y_true, y_pred):
        y_true, y_pred = self._arrays(y_true, y_pred)
        if y_pred.ndim != 2 or y_true.shape not in ((len(y_pred),), (len(y_pred), 1)):
            raise ValueError(
                "SparseCategoricalCrossEntropy expects y_pred of shape (n, classes) and "
                f"y_true of shape (n,) or (n, 1). Received: {y_true.shape} and {y_pred.shape}."
            )
        self._check_predictions(y_pred)
        return self._labels(y_true.reshape(-1), y_pred.shape[1]), y_pred

    averaged_over = "rows"

    @staticmethod
    def per_row(labels, p, from_logits):
        """ℓ_i = −log p_label; from logits, ℓ_i = log Σ e^(z − max z) − (z_label − max z) and
        ∂ℓ_i/∂z = softmax(z) − onehot(label)."""
        rows = np.arange(len(labels))
        if from_logits:
            grad, shifted, log_total = softmax_parts(p)
            grad[rows, labels] -= 1
            return log_total[:, 0] - shifted[rows, labels], grad
        picked = p[rows, labels]
        inside = (picked >= EPSILON) & (picked <= 1 - EPSILON)
        picked = np.minimum(np.maximum(picked, EPSILON), 1 - EPSILON)
        grad = np.zeros_like(p)
        grad[rows, labels] = -(inside / picked)
        return (-np.log(picked)).astype(p.dtype), grad  # p's dtype, as from logits


def get(identifier: str | Loss) -> Loss:
    """A loss from its name (``"mse"``, ``"binary_crossentropy"``, ...) or an instance."""
    return LOSSES.get(identifier)


# Keras's spellings of the same classes.
MeanSquaredError = MSELoss
MeanAbsoluteError = MAELoss
Huber = HuberLoss
BinaryCrossentropy = BinaryCrossEntropy
CategoricalCrossentropy = CategoricalCrossEntropy
SparseCategoricalCrossentropy = SparseCategoricalCrossEntropy
