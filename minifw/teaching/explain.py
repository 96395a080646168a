"""One training step written out in the lecture's notation.

For a Sequential of Dense and elementwise activation layers, ``explain`` runs
one forward pass, the loss, the chain rule for every weight and bias, and the
plain gradient-descent update w_new = w_old − η ∂L/∂w, keeping every value:

    o_11 = w^1_11·x_i1 + w^1_21·x_i2 + b_11 = 1·60 + 1·3.5 + 0 = 63.5
    ∂L/∂w^1_11 = ∂L/∂y_hat · ∂y_hat/∂o_11 · ∂o_11/∂w^1_11 = 174 · 1 · 60 = 10440

Symbols, in plain text: x_ij is input feature j of
row i; o_lj the output of unit j of layer l (y_hat, the lecture's ŷ, or
y_hat_j, for the last layer); net^l_j the weighted sum of unit j before a
non-identity activation; w^l_ij the weight from unit i of layer l−1 to unit j
of layer l (``W[i-1, j-1]``); b_lj the bias of unit j of layer l.

The chain for ∂L/∂w^l_ij multiplies ∂L/∂o_lj by ∂o_lj/∂w^l_ij. When layer
l+1 has a single unit, ∂L/∂o_lj = ∂L/∂o_(l+1)1 · ∂o_(l+1)1/∂o_lj is written
out in full, as the lecture does; with several units it is a sum, shown once
as its own line and then used as one factor. With a batch of rows every
factor is a vector over the rows and ∂L/∂w is the sum of their products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..errors import NotCompiledError
from ..layers.activations import Activation, Linear
from ..layers.dense import Dense
from ..losses import MSELoss
from ..model import Sequential
from ..optimizers import SGD
from ..validation import positive_float

__all__ = ["explain", "Explanation", "Derivative", "Factor"]


@dataclass(frozen=True)
class Factor:
    """One factor of a chain rule, e.g. ``∂y_hat/∂o_11``, with its value for each row."""

    symbol: str
    value: np.ndarray


@dataclass(frozen=True)
class Derivative:
    """∂L/∂(something) = product of ``factors``, summed over rows, = ``value``."""

    symbol: str
    factors: tuple[Factor, ...]
    value: float
    terms: tuple[tuple[Factor, ...], ...] = ()  # for a sum of chains (∂L/∂o_lj)

    def __str__(self) -> str:
        if self.terms:
            symbols = " + ".join(" · ".join(f.symbol for f in term) for term in self.terms)
            numbers = " + ".join(" · ".join(_num(f.value) for f in term) for term in self.terms)
        else:
            symbols = " · ".join(f.symbol for f in self.factors)
            numbers = " · ".join(_num(f.value) for f in self.factors)
        rows = len(self.factors[0].value) if self.factors else 1
        if rows > 1:
            symbols, numbers = f"Σ_rows {symbols}", f"Σ {numbers}"
        return f"{self.symbol} = {symbols} = {numbers} = {_num(self.value)}"


@dataclass
class _Unit:
    """Layer l of the explanation: a Dense layer and the activations after it."""

    index: int
    dense: Dense
    activations: list[Activation]

    @property
    def is_identity(self) -> bool:
        return all(isinstance(a, Linear) for a in self.activations)


class Explanation:
    """The values of one explained training step; ``str()`` is the write-up.

    Attributes
    ----------
    values : dict[str, ndarray]
        Forward quantities by symbol (``"x_i1"``, ``"net^1_1"``, ``"o_11"``,
        ``"y_hat"``), one entry per row.
    loss : float
        L on the rows explained.
    derivatives : dict[str, Derivative]
        ``"∂L/∂y_hat"``, every ``"∂L/∂w^l_ij"`` and ``"∂L/∂b_lj"`` (and the sums
        ``"∂L/∂o_lj"`` where a layer feeds several units).
    grads : list of ndarray
        The same gradients as arrays, in the order of ``model.get_weights()``.
    updated : dict[str, float]
        w_new for every weight and bias symbol.
    new_weights : list of ndarray
        The updated parameters, in the order of ``model.get_weights()``.
    learning_rate : float
        η used for the update.
    """

    def __init__(self) -> None:
        self.values: dict[str, np.ndarray] = {}
        self.loss = 0.0
        self.derivatives: dict[str, Derivative] = {}
        self.grads: list[np.ndarray] = []
        self.updated: dict[str, float] = {}
        self.new_weights: list[np.ndarray] = []
        self.learning_rate = 0.0
        self.lines: list[str] = []

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def __repr__(self) -> str:
        return f"<Explanation loss={self.loss:.6g}, {len(self.updated)} parameters>"


def explain(
    model: Sequential,
    x: ArrayLike,
    y: ArrayLike,
    learning_rate: float | None = None,
    *,
    apply: bool = False,
) -> Explanation:
    """Write out one gradient-descent step of ``model`` on the row ``x`` (or a few rows).

    Parameters
    ----------
    model : Sequential
        Compiled, made of Dense layers and elementwise activation layers.
    x, y : array-like
        One row (shape (features,) or (1, features)) or a small batch, and its targets.
    learning_rate : float, optional
        η for w_new = w_old − η ∂L/∂w; defaults to the model optimizer's rate.
    apply : bool
        Also write the updated weights into the model (default: the model is
        left unchanged).

    Examples
    --------
    >>> import minifw as mf
    >>> X, y = mf.datasets.salary()
    >>> model = mf.Sequential([
    ...     mf.layers.Dense(2, input_dim=2, kernel_initializer="ones"),
    ...     mf.layers.Linear(),
    ...     mf.layers.Dense(1, kernel_initializer="ones")], dtype="float64")
    >>> model.compile(mf.optimizers.SGD(learning_rate=1e-5), "mse")
    >>> step = mf.explain(model, X[0], y[0])
    >>> print(step.derivatives["∂L/∂w^1_11"])
    ∂L/∂w^1_11 = ∂L/∂y_hat · ∂y_hat/∂o_11 · ∂o_11/∂w^1_11 = 174 · 1 · 60 = 10440
    """
    if model.loss is None:
        raise NotCompiledError("Call model.compile(optimizer, loss) before explain().")
    if learning_rate is None:
        learning_rate = model.optimizer.current_learning_rate()
    learning_rate = positive_float(learning_rate, "learning_rate", "explain")
    x_array = np.asarray(x)
    if x_array.ndim == 1:  # a single row
        x, y = x_array.reshape(1, -1), np.asarray(y).reshape(1, -1)
    X, Y = model.prepare(x, y)
    units = _units(model)
    if X.shape[1:] != model.input_shape[1:] or not units:
        raise ValueError("explain needs a model whose first layer is Dense.")

    result = Explanation()
    result.learning_rate = learning_rate
    writer = _Writer(result, units, X)
    outputs = writer.forward()
    y_pred = outputs[-1]
    writer.loss(model.loss, Y, y_pred)
    writer.backward(outputs, model.loss.backward(Y, y_pred))
    stepped = model if apply else model.copy()
    old_weights = model.get_weights()
    _optimizer_step(stepped, X, Y, learning_rate)
    writer.update(model.optimizer, old_weights, stepped.get_weights(), learning_rate)
    return result


def _optimizer_step(model: Sequential, X: np.ndarray, Y: np.ndarray, learning_rate: float) -> None:
    """The model's own training step on (X, Y), with η = ``learning_rate`` for this step."""
    optimizer = model.optimizer
    rate = optimizer.learning_rate
    optimizer.learning_rate = learning_rate
    try:
        model.train_on_batch(X, Y)
    finally:
        optimizer.learning_rate = rate


def _units(model: Sequential) -> list[_Unit]:
    """Group the layers as Dense + following activations; refuse anything else."""
    units: list[_Unit] = []
    for layer in model.layers:
        inner = getattr(layer, "activation", None)
        if isinstance(layer, Dense) and (inner is None or inner.elementwise):
            units.append(_Unit(len(units) + 1, layer, [inner] if inner is not None else []))
        elif isinstance(layer, Activation) and layer.elementwise and units:
            units[-1].activations.append(layer)
        else:
            raise ValueError(
                f"explain supports models of Dense and elementwise activation layers that start "
                f"with a Dense layer; {layer.name} ({type(layer).__name__}) is not supported there."
            )
    return units


class _Writer:
    """Fills an Explanation, layer by layer, in the lecture's order."""

    def __init__(self, result: Explanation, units: list[_Unit], X: np.ndarray) -> None:
        self.result, self.units, self.X = result, units, X.astype(np.float64)
        self.single = len(X) == 1
        self.wrote_output_gradient = False
        self.derivative_of_activation: dict[int, np.ndarray] = {}  # f'(net^l), per layer

    # -- symbols --------------------------------------------------------------------

    def out(self, layer: int, j: int) -> str:
        """o_lj, x_ij for layer 0, y_hat (or y_hat_j) for the last layer."""
        if layer == 0:
            return f"x_i{j}"
        if layer == len(self.units):
            return "y_hat" if self.units[-1].dense.units == 1 else f"y_hat_{j}"
        return f"o_{_pair(layer, j)}"

    @staticmethod
    def weight(layer: int, i: int, j: int) -> str:
        return f"w^{layer}_{_pair(i, j)}"

    @staticmethod
    def bias(layer: int, j: int) -> str:
        return f"b_{_pair(layer, j)}"

    @staticmethod
    def net(layer: int, j: int) -> str:
        return f"net^{layer}_{j}"

    # -- forward --------------------------------------------------------------------

    def forward(self) -> list[np.ndarray]:
        """o^l for l = 0 … L (o^0 = X), writing each unit's sum and activation."""
        lines = self.result.lines
        lines.append("Forward propagation")
        outputs = [self.X]
        for j in range(self.X.shape[1]):
            self.result.values[self.out(0, j + 1)] = self.X[:, j]
        for unit in self.units:
            l, previous = unit.index, outputs[-1]
            W = unit.dense.params["W"].astype(np.float64)
            b = unit.dense.params["b"].astype(np.float64) if unit.dense.use_bias else None
            net = previous @ W + (0.0 if b is None else b)
            o, slope = net, np.ones_like(net)
            for activation in unit.activations:
                activated = activation.activate(o)
                slope = slope * activation.derivative(o, activated)
                o = activated
            self.derivative_of_activation[l] = slope
            for j in range(unit.dense.units):
                terms = [
                    f"{self.weight(l, i + 1, j + 1)}·{self.out(l - 1, i + 1)}"
                    for i in range(W.shape[0])
                ]
                numbers = [f"{_num(W[i, j])}·{_num(previous[:, i])}" for i in range(W.shape[0])]
                if b is not None:
                    terms.append(self.bias(l, j + 1))
                    numbers.append(_num(b[j]))
                target = self.out(l, j + 1) if unit.is_identity else self.net(l, j + 1)
                expansion = f" = {' + '.join(numbers)}" if self.single and len(terms) <= 8 else ""
                lines.append(f"  {target} = {' + '.join(terms)}{expansion} = {_num(net[:, j])}")
                if not unit.is_identity:
                    names = " ∘ ".join(type(a).__name__.lower() for a in unit.activations)
                    lines.append(f"  {self.out(l, j + 1)} = {names}({target}) = {_num(o[:, j])}")
                    self.result.values[target] = net[:, j]
                self.result.values[self.out(l, j + 1)] = o[:, j]
            outputs.append(o)
        return outputs

    # -- loss -----------------------------------------------------------------------

    def loss(self, loss, Y: np.ndarray, y_pred: np.ndarray) -> None:
        lines, result = self.result.lines, self.result
        result.loss = float(loss.forward(Y, y_pred))
        lines.append("Loss")
        if isinstance(loss, MSELoss) and Y.size == 1 and loss.reduction == "mean":
            y, y_hat = _num(Y[0, 0]), _num(y_pred[0, 0])
            lines.append(f"  L = (y − y_hat)² = ({y} − {y_hat})² = {_num(result.loss)}")
            lines.append(
                f"  ∂L/∂y_hat = −2(y − y_hat) = −2({y} − {y_hat}) = {_num(-2 * (Y - y_pred))}"
            )
            self.wrote_output_gradient = True
        else:
            lines.append(f"  L = {type(loss).__name__}(y, y_hat) = {_num(result.loss)}")

    # -- backward -------------------------------------------------------------------

    def backward(self, outputs: list[np.ndarray], dL_dy: np.ndarray) -> None:
        """∂L/∂w^l_ij and ∂L/∂b_lj for l = L … 1, as the lecture derives them."""
        result, lines = self.result, self.result.lines
        dL_dy = np.asarray(dL_dy, dtype=np.float64)
        last = len(self.units)
        # chains[j]: the factors whose product is ∂L/∂o_lj, for the current layer l.
        chains = []
        for j in range(self.units[-1].dense.units):
            factor = Factor(f"∂L/∂{self.out(last, j + 1)}", dL_dy[:, j])
            result.derivatives[factor.symbol] = Derivative(factor.symbol, (factor,), _sum(factor))
            chains.append((factor,))
        if not self.wrote_output_gradient:
            for chain in chains:
                lines.append(f"  {chain[0].symbol} = {_num(chain[0].value)}")
        grads: list[np.ndarray] = []
        for unit in reversed(self.units):
            l = unit.index
            lines.append(f"Layer {l}: gradients")
            grads[:0] = self._layer_gradients(unit, chains, outputs[l - 1])
            if l > 1:
                chains = self._chains_below(unit, chains)
        result.grads = grads

    def _local(self, unit: _Unit, j: int, wrt: str, value: np.ndarray) -> list[Factor]:
        """∂o_lj/∂(wrt) as factors: one for an identity unit, two through net otherwise."""
        l, o = unit.index, self.out(unit.index, j + 1)
        if unit.is_identity:
            return [Factor(f"∂{o}/∂{wrt}", value)]
        net = self.net(l, j + 1)
        slope = self.derivative_of_activation[l][:, j]
        return [Factor(f"∂{o}/∂{net}", slope), Factor(f"∂{net}/∂{wrt}", value)]

    def _layer_gradients(self, unit, chains, previous) -> list[np.ndarray]:
        l, dense = unit.index, unit.dense
        rows = len(previous)
        dW = np.empty(dense.params["W"].shape)
        db = np.empty(dense.units)
        for j in range(dense.units):
            for i in range(dW.shape[0]):
                symbol = self.weight(l, i + 1, j + 1)
                factors = (*chains[j], *self._local(unit, j, symbol, previous[:, i]))
                dW[i, j] = self._record(f"∂L/∂{symbol}", factors)
            if dense.use_bias:
                symbol = self.bias(l, j + 1)
                factors = (*chains[j], *self._local(unit, j, symbol, np.ones(rows)))
                db[j] = self._record(f"∂L/∂{symbol}", factors)
        return [dW, db] if dense.use_bias else [dW]

    def _chains_below(self, unit: _Unit, chains) -> list[tuple[Factor, ...]]:
        """∂L/∂o_(l−1)i for each unit i below: Σ_j ∂L/∂o_lj · ∂o_lj/∂o_(l−1)i."""
        l, W = unit.index, unit.dense.params["W"].astype(np.float64)
        rows = len(chains[0][0].value)
        below = []
        for i in range(W.shape[0]):
            wrt = self.out(l - 1, i + 1)
            terms = tuple(
                (*chains[j], *self._local(unit, j, wrt, np.full(rows, W[i, j])))
                for j in range(unit.dense.units)
            )
            if len(terms) == 1:
                below.append(terms[0])
                continue
            symbol = f"∂L/∂{wrt}"
            per_row = sum(_product(term) for term in terms)
            total = Derivative(symbol, (Factor(symbol, per_row),), float(per_row.sum()), terms)
            self.result.derivatives[symbol] = total
            self.result.lines.append(f"  {total}")
            below.append((Factor(symbol, per_row),))
        return below

    def _record(self, symbol: str, factors: tuple[Factor, ...]) -> float:
        derivative = Derivative(symbol, factors, _sum_product(factors))
        self.result.derivatives[symbol] = derivative
        self.result.lines.append(f"  {derivative}")
        return derivative.value

    # -- update ---------------------------------------------------------------------

    def update(self, optimizer, old_weights, new_weights, learning_rate: float) -> None:
        """w_new for every weight and bias, as the model's optimizer computed it.

        For plain gradient descent (SGD without momentum, decay or clipping) each line
        is the lecture's w_new = w_old − η ∂L/∂w; any other optimizer's line names it
        and shows the old and new values (its rule is in its docstring).
        """
        result = self.result
        plain = _is_plain_gradient_descent(optimizer)
        rule = "gradient descent" if plain else type(optimizer).__name__
        result.lines.append(f"Update ({rule}, η = {_num(learning_rate)})")
        result.new_weights = new_weights
        arrays = iter(zip(old_weights, result.grads, new_weights))
        for unit in self.units:
            l = unit.index
            W = next(arrays)
            b = next(arrays) if unit.dense.use_bias else None
            for j in range(unit.dense.units):
                for i in range(W[0].shape[0]):
                    symbol = self.weight(l, i + 1, j + 1)
                    self._update_line(symbol, *(a[i, j] for a in W), learning_rate, plain)
                if b is not None:
                    symbol = self.bias(l, j + 1)
                    self._update_line(symbol, *(a[j] for a in b), learning_rate, plain)

    def _update_line(self, symbol, old, grad, new, learning_rate, plain) -> None:
        self.result.updated[symbol] = float(new)
        if plain:
            arithmetic = f"{_num(old)} − {_num(learning_rate)} · {_num(grad)}"
            self.result.lines.append(
                f"  {symbol} ← {symbol} − η · ∂L/∂{symbol} = {arithmetic} = {_num(new)}"
            )
        else:
            self.result.lines.append(
                f"  {symbol} ← {_num(old)} with ∂L/∂{symbol} = {_num(grad)} gives {_num(new)}"
            )


def _is_plain_gradient_descent(optimizer) -> bool:
    """True when the update is exactly w − η ∂L/∂w: the lecture's rule."""
    return (
        isinstance(optimizer, SGD)
        and not optimizer.momentum
        and not optimizer.weight_decay
        and optimizer.clipnorm is None
        and optimizer.clipvalue is None
    )


def _pair(a: int, b: int) -> str:
    """Two indices as the lecture writes them: ``11``, or ``{10,2}`` past 9."""
    return f"{a}{b}" if a < 10 and b < 10 else f"{{{a},{b}}}"


def _product(factors: tuple[Factor, ...]) -> np.ndarray:
    product = np.ones_like(factors[0].value, dtype=np.float64)
    for factor in factors:
        product = product * factor.value
    return product


def _sum_product(factors: tuple[Factor, ...]) -> float:
    return float(_product(factors).sum())


def _sum(factor: Factor) -> float:
    return float(np.sum(factor.value))


def _num(value) -> str:
    """A number as the lecture writes it: 174, 63.5, 1e-05; a vector as [a, b]."""
    array = np.asarray(value, dtype=np.float64).ravel()
    if array.size == 1:
        number = float(array[0])
        if number == int(number) and abs(number) < 1e15:
            return str(int(number))
        return f"{number:.6g}"
    return "[" + ", ".join(_num(v) for v in array) + "]"
