"""The numbers of one explained training step, computed once, as records.

For a Sequential of Dense and elementwise activation layers: the forward value
of every unit, the loss, the chain rule for every weight and bias with each
factor's value, and the update the model's optimizer makes. Renderers
(``text``) write these records out; they compute nothing.

The chain for ∂L/∂w^l_ij multiplies ∂L/∂o_lj by ∂o_lj/∂w^l_ij. When layer
l+1 has a single unit, ∂L/∂o_lj = ∂L/∂o_(l+1)1 · ∂o_(l+1)1/∂o_lj is kept in
full, as the lecture writes it; with several units it is a sum, recorded once
as its own derivative and then used as one factor. With a batch of rows every
factor is a vector over the rows and ∂L/∂w is the sum of their products.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field, replace

import numpy as np

from ...layers.activations import Activation, Linear, Softmax
from ...layers.base import LOCAL
from ...layers.dense import Dense
from ...layers.dropout import Dropout
from ...layers.normalization import BatchNormalization, LayerNormalization
from ...losses import CategoricalCrossEntropy, Loss, MSELoss, SparseCategoricalCrossEntropy
from ...optimizers import SGD, Optimizer
from . import html, markdown, plot, text
from .notation import Notation


@dataclass(frozen=True)
class Factor:
    """One factor of a chain rule, e.g. ``∂y_hat/∂o_11``, with its value for each row.

    ``formula`` is the symbol a local factor equals (∂y_hat/∂o_11 = w^2_11, ∂net/∂w =
    x_i1, ∂net/∂b = 1); an activation's slope ∂o/∂net is written by ``slope``'s
    ``slope_text`` from ``of`` = (o, net)."""

    symbol: str
    value: np.ndarray
    formula: str | None = None
    slope: type | None = None
    of: tuple[str, str] | None = None


@dataclass(frozen=True)
class Derivative:
    """∂L/∂(something) = product of ``factors``, summed over rows, = ``value``.

    ``terms`` holds the chains of a sum (∂L/∂o_lj when layer l feeds several
    units); ``layer`` is the layer whose backward pass computes it.
    """

    symbol: str
    factors: tuple[Factor, ...]
    value: float
    terms: tuple[tuple[Factor, ...], ...] = ()
    layer: int = 0

    def __str__(self) -> str:
        return text.derivative_line(self)


@dataclass(frozen=True)
class UnitStep:
    """The forward pass of unit j of layer l: net = Σ_i w^l_ij · o_(l−1)i + b_lj, o = f(net)."""

    layer: int
    unit: int
    output: str  # o_lj, y_hat
    net_symbol: str | None  # net^l_j, when the activation is not the identity
    terms: tuple[tuple[str, str], ...]  # (w^l_ij, o_(l−1)i) for each input i
    weights: np.ndarray  # w^l_ij for each i
    inputs: np.ndarray  # o_(l−1)i for each row and i
    bias: tuple[str, float] | None
    net: np.ndarray  # per row
    activation: str | None  # "tanh", or None for the identity
    value: np.ndarray  # o_lj per row


@dataclass(frozen=True)
class Update:
    """w_new from w_old and ∂L/∂w, as the model's optimizer computed it.

    ``layer`` l, ``unit`` j and ``source`` i (None for the bias b_lj) place it in the
    network: w^l_ij joins unit i of layer l−1 to unit j of layer l.
    """

    symbol: str
    old: float
    gradient: float
    new: float
    layer: int = 0
    unit: int = 0
    source: int | None = None
    #: The optimizer's state for this weight: (name, before, after) per slot (momentum's
    #: velocity; Adam's m and v; ...), empty for plain SGD.
    state: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class Normalization:
    """A BatchNormalization (statistics over the batch, per unit) or LayerNormalization
    (over the units, per row) inside layer ``layer``, in training mode: its input's
    mean and variance, x̂ = (input − μ) / √(σ² + ε), its output γ·x̂ + β, and backward
    ∂L/∂output, ∂L/∂γ, ∂L/∂β and the three-term ∂L/∂input (rows × units each)."""

    layer: int
    kind: str  # "batch" or "layer"
    epsilon: float
    mean: np.ndarray
    variance: np.ndarray
    x_hat: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    output: np.ndarray
    grad_output: np.ndarray | None = None
    grad_input: np.ndarray | None = None


@dataclass
class WrittenStep:
    """What every explained step holds for its chain rule and its update, whatever its
    network (``Explanation``, and ``through_time.ThroughTime``)."""

    derivatives: dict[str, Derivative] = field(default_factory=dict)
    grads: list[np.ndarray] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    new_weights: list[np.ndarray] = field(default_factory=list)
    learning_rate: float = 0.0
    optimizer: str = ""
    plain_update: bool = True
    #: The optimizer's hyperparameters (its ``get_config``) and the step's number t (from
    #: 1), for writing out its update with its state.
    optimizer_config: dict = field(default_factory=dict)
    step_number: int = 1
    #: Significant digits of every number written (None: 6, whole numbers in full).
    digits: int | None = None

    @property
    def updated(self) -> dict[str, float]:
        """w_new for every weight and bias symbol."""
        return {update.symbol: update.new for update in self.updates}


@dataclass
class Explanation(WrittenStep):
    """The values of one explained training step; ``str()`` is the write-up.

    Attributes
    ----------
    units : list of UnitStep
        The forward pass, unit by unit, layer by layer.
    values : dict[str, ndarray]
        Forward quantities by symbol (``"x_i1"``, ``"net^1_1"``, ``"o_11"``,
        ``"y_hat"``), one entry per row.
    loss : float
        L on the rows explained (``loss_name``; with ``targets`` and ``outputs``).
    derivatives : dict[str, Derivative]
        ``"∂L/∂y_hat"``, every ``"∂L/∂w^l_ij"`` and ``"∂L/∂b_lj"`` (and the sums
        ``"∂L/∂o_lj"`` where a layer feeds several units), in the order of the
        derivation: last layer first.
    grads : list of ndarray
        The same gradients as arrays, in the order of ``model.get_weights()``.
    updates : list of Update
    updated : dict[str, float]
        w_new for every weight and bias symbol.
    new_weights : list of ndarray
        The updated parameters, in the order of ``model.get_weights()``.
    learning_rate : float
        η used for the update.
    optimizer : str
        The optimizer's class name; ``plain_update`` is True when its rule is
        the lecture's w − η ∂L/∂w.
    """

    layers: int = 0
    inputs: int = 0  # features x_i1 … x_in
    units: list[UnitStep] = field(default_factory=list)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    loss: float = 0.0
    loss_name: str = ""
    loss_formula: str | None = None  # the loss class's formula, plain and LaTeX
    loss_latex: str | None = None
    lecture_loss: bool = False  # one row, one output, plain MSE: L = (y − ŷ)²
    softmax: bool = False  # a softmax output explained with its cross-entropy, from logits z
    targets: np.ndarray | None = None
    outputs: np.ndarray | None = None
    #: Each Dropout's (layer l, rate, scaled mask m / (1 − rate) per row and unit).
    masks: list[tuple[int, float, np.ndarray]] = field(default_factory=list)
    #: Each normalization layer's numbers (``Normalization``), by the layer it follows.
    normalizations: dict[int, Normalization] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return 0 if self.targets is None else len(self.targets)

    def __str__(self) -> str:
        return text.render(self)

    def to_markdown(self) -> str:
        """The write-up as Markdown with LaTeX math (Jupyter and GitHub render it)."""
        return markdown.to_markdown(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_html(self, selected: str | None = None) -> str:
        """One self-contained HTML page: the network in SVG with every value and ∂L/∂w,
        the chain of the ``selected`` weight (default: w^1_11) beside it, the write-up."""
        return html.to_html(self, selected)

    def _repr_html_(self) -> str:
        return html.to_html(self, page=False)

    def plot(self, selected: str | None = None):
        """The network as a matplotlib Figure (needs matplotlib: ``minifw[plot]``)."""
        return plot.to_figure(self, selected)

    def __repr__(self) -> str:
        return f"<Explanation loss={self.loss:.6g}, {len(self.updates)} parameters>"


@dataclass
class _Layer:
    """Layer l of the explanation: a Dense layer and the activations after it."""

    index: int
    dense: Dense
    activations: list[Activation]

    @property
    def is_identity(self) -> bool:
        return all(isinstance(a, Linear) for a in self.activations)


NORMALIZATIONS = (BatchNormalization, LayerNormalization)


def dense_layers(layers, loss: Loss) -> list[_Layer]:
    """Group the layers as Dense + following activations; refuse anything else.

    A Softmax ending the model is allowed before a categorical cross-entropy: it is
    explained with the loss, as softmax cross-entropy on the logits z (``softmax_output``).
    """
    grouped: list[_Layer] = []
    ends_in_softmax = softmax_output(layers, loss)
    for position, layer in enumerate(layers):
        inner = getattr(layer, "activation", None)
        last = position == len(layers) - 1
        if isinstance(layer, Dense) and (
            inner is None or inner.elementwise or (last and ends_in_softmax)
        ):
            grouped.append(_Layer(len(grouped) + 1, layer, [inner] if inner is not None else []))
        elif (
            isinstance(layer, Activation)
            and grouped
            and (layer.elementwise or (last and ends_in_softmax))
        ) or (isinstance(layer, Dropout) and grouped):
            grouped[-1].activations.append(layer)
        elif isinstance(layer, NORMALIZATIONS) and grouped and layer.scale and layer.center:
            if any(isinstance(a, NORMALIZATIONS) for a in grouped[-1].activations):
                raise ValueError(
                    f"explain writes one normalization per Dense layer; {layer.name} is a "
                    "second one after the same Dense layer."
                )
            grouped[-1].activations.append(layer)
        else:
            raise ValueError(
                f"explain supports models of Dense, elementwise activation, Dropout and "
                f"Batch- or LayerNormalization (with center and scale) layers that start with "
                f"a Dense layer (and may end in a softmax before a categorical "
                f"cross-entropy); {layer.name} ({type(layer).__name__}) is not supported there."
            )
    if ends_in_softmax:
        grouped[-1].activations.pop()  # the softmax is explained with the loss
    return grouped


def softmax_output(layers, loss: Loss) -> bool:
    """True when the model ends in a Softmax (own layer or Dense's activation) and the loss
    is a categorical cross-entropy on probabilities: the classic ∂L/∂z = ŷ − y case."""
    last = layers[-1] if layers else None
    activation = getattr(last, "activation", None) or last
    return (
        isinstance(activation, Softmax)
        and isinstance(loss, (CategoricalCrossEntropy, SparseCategoricalCrossEntropy))
        and not loss.from_logits
    )


def trace(
    layers: list[_Layer], loss: Loss, X: np.ndarray, Y: np.ndarray, softmax=False, inputs=None
):
    """Forward pass, loss and chain rule of ``layers`` on (X, Y), as records.

    With ``softmax``, the last layer's outputs are the logits z_j, ŷ = softmax(z) is
    written with the loss, and the chain starts from ∂L/∂z_j = (ŷ_j − y_j) / n.
    ``inputs`` names the input j (``Notation``).
    """
    notation = Notation(len(layers), layers[-1].dense.units, logits=softmax, inputs=inputs)
    result = Explanation(layers=len(layers), inputs=X.shape[1])
    tracer = _Tracer(result, notation, layers)
    outputs = tracer.forward(X.astype(np.float64))
    z = outputs[-1]
    result.loss_name = type(loss).__name__
    result.loss_formula, result.loss_latex = type(loss).formula, type(loss).latex
    result.lecture_loss = isinstance(loss, MSELoss) and loss.reduction == "mean" and Y.size == 1
    result.targets = np.asarray(Y, dtype=np.float64)
    if softmax:
        logits_loss = loss.with_logits()
        result.outputs = Softmax().activate(z)
        for j in range(z.shape[1]):
            result.values[f"y_hat_{j + 1}"] = result.outputs[:, j]
        result.softmax = True
        result.loss = float(logits_loss.forward(Y, z))
        gradient = logits_loss.backward(Y, z)
    else:
        result.outputs = z
        result.loss = float(loss.forward(Y, z))
        gradient = loss.backward(Y, z)
    result.grads = tracer.backward(outputs, np.asarray(gradient, np.float64))
    return result


def record_update(
    result: Explanation,
    optimizer: Optimizer,
    layers,
    old_weights,
    new_weights,
    rate,
    states: tuple[dict, dict] | None = None,
    step_number: int = 1,
) -> None:
    """The update of every weight and bias, in the lecture's order (layer, unit, input);
    ``states`` are the optimizer's state vectors before and after the step (flat, in
    ``get_weights`` order), written out with each weight's update."""
    notation = Notation(len(layers), layers[-1].dense.units, logits=result.softmax)
    result.learning_rate, result.optimizer = rate, type(optimizer).__name__
    result.plain_update = is_plain_gradient_descent(optimizer)
    result.optimizer_config, result.step_number = optimizer.get_config(), step_number
    result.new_weights = new_weights
    before, after = states or ({}, {})

    def state(position: int) -> tuple[tuple[str, float, float], ...]:
        return tuple(
            (name, float(before[name][position]) if name in before else 0.0,
             float(values[position]))
            for name, values in after.items()
        )  # fmt: skip

    arrays = iter(zip(old_weights, result.grads, new_weights))
    offset = 0  # where the array starts in the optimizer's (trainable) vectors
    for layer in layers:
        l, W = layer.index, next(arrays)
        columns = W[0].shape[1]
        bias_start = offset + W[0].size
        b = next(arrays) if layer.dense.use_bias else None
        for j in range(layer.dense.units):
            for i in range(W[0].shape[0]):
                values = (float(a[i, j]) for a in W)
                symbol = notation.weight(l, i + 1, j + 1)
                kept = state(offset + i * columns + j)
                result.updates.append(Update(symbol, *values, l, j + 1, i + 1, kept))
            if b is not None:
                values = (float(a[j]) for a in b)
                symbol, kept = notation.bias(l, j + 1), state(bias_start + j)
                result.updates.append(Update(symbol, *values, l, j + 1, None, kept))
        offset = bias_start + (b[0].size if b is not None else 0)
        for norm in (a for a in layer.activations if isinstance(a, NORMALIZATIONS)):
            for name in norm.params:  # γ, β: trained; then the moving statistics: not
                values = next(arrays)
                for j in range(values[0].size):
                    numbers = (float(a[j]) for a in values)
                    symbol, kept = f"{name}^{l}_{j + 1}", state(offset + j)
                    result.updates.append(Update(symbol, *numbers, l, j + 1, None, kept))
                offset += values[0].size
            for _ in norm.state:
                next(arrays)


def is_plain_gradient_descent(optimizer: Optimizer) -> bool:
    """True when the update is exactly w − η ∂L/∂w: the lecture's rule."""
    return (
        isinstance(optimizer, SGD)
        and not optimizer.momentum
        and not optimizer.weight_decay
        and optimizer.clipnorm is None
        and optimizer.clipvalue is None
    )


class _Tracer:
    """Fills an Explanation, layer by layer, in the lecture's order."""

    def __init__(self, result: Explanation, notation: Notation, layers: list[_Layer]) -> None:
        self.result, self.notation, self.layers = result, notation, layers
        self.slope: dict[int, np.ndarray] = {}  # f'(net^l), per layer
        self.sequence: dict[int, list] = {}  # per layer: slopes and a normalization, in order
        self.net_gradient: dict[int, np.ndarray] = {}  # ∂L/∂net^l where a normalization mixes
        self.norm_grads: dict[int, list] = {}  # a normalization's arrays' gradients

    def _normalize(self, l: int, layer, inputs: np.ndarray):
        """The normalization's output in training mode, from a copy of the layer (the
        model's moving statistics do not move), and its numbers for the write-up."""
        copy = deepcopy(layer)
        output = copy.forward(inputs.astype(layer.dtype), training=True).astype(np.float64)
        axis = 0 if isinstance(layer, BatchNormalization) else -1
        mean = inputs.mean(axis=axis, keepdims=True)
        variance = ((inputs - mean) ** 2).mean(axis=axis, keepdims=True)
        self.result.normalizations[l] = Normalization(
            layer=l,
            kind="batch" if axis == 0 else "layer",
            epsilon=layer.epsilon,
            mean=mean,
            variance=variance,
            x_hat=(inputs - mean) / np.sqrt(variance + layer.epsilon),
            gamma=copy.params["gamma"].astype(np.float64),
            beta=copy.params["beta"].astype(np.float64),
            output=output,
        )
        return output, copy

    def forward(self, X: np.ndarray) -> list[np.ndarray]:
        """o^l for l = 0 … L (o^0 = X)."""
        n, values = self.notation, self.result.values
        outputs = [X]
        for j in range(X.shape[1]):
            values[n.out(0, j + 1)] = X[:, j]
        for layer in self.layers:
            l, previous = layer.index, outputs[-1]
            W = layer.dense.params["W"].astype(np.float64)
            b = layer.dense.params["b"].astype(np.float64) if layer.dense.use_bias else None
            net = previous @ W + (0.0 if b is None else b)
            o, slope = net, np.ones_like(net)
            self.sequence[l] = []  # what backward passes through after net, in order
            for activation in layer.activations:
                if isinstance(activation, NORMALIZATIONS):  # rows mix: no per-unit slope
                    self.sequence[l].append(("slope", slope))
                    normalized, copy = self._normalize(l, activation, o)
                    self.sequence[l].append(("norm", copy))
                    o, slope = normalized, np.ones_like(normalized)
                    continue
                if isinstance(activation, Dropout):  # o ⊙ m / (1 − rate): fit's mask
                    mask = dropout_mask(activation, o.shape)
                    self.result.masks.append((l, activation.rate, mask))
                    o, slope = o * mask, slope * mask
                    continue
                activated = activation.activate(o)
                slope = slope * activation.derivative(o, activated)
                o = activated
            self.sequence[l].append(("slope", slope))
            self.slope[l] = slope
            # composed right to left: dropout ∘ tanh is tanh first
            names = " ∘ ".join(type(a).__name__.lower() for a in reversed(layer.activations))
            for j in range(layer.dense.units):
                unit = UnitStep(
                    layer=l,
                    unit=j + 1,
                    output=n.out(l, j + 1),
                    net_symbol=None if layer.is_identity else n.net(l, j + 1),
                    terms=tuple(
                        (n.weight(l, i + 1, j + 1), n.out(l - 1, i + 1)) for i in range(len(W))
                    ),
                    weights=W[:, j],
                    inputs=previous,
                    bias=None if b is None else (n.bias(l, j + 1), float(b[j])),
                    net=net[:, j],
                    activation=None if layer.is_identity else names,
                    value=o[:, j],
                )
                self.result.units.append(unit)
                if unit.net_symbol is not None:
                    values[unit.net_symbol] = unit.net
                values[unit.output] = unit.value
            outputs.append(o)
        return outputs

    def backward(self, outputs: list[np.ndarray], dL_dy: np.ndarray) -> list[np.ndarray]:
        """∂L/∂w^l_ij and ∂L/∂b_lj for l = L … 1, as the lecture derives them."""
        last, derivatives = len(self.layers), self.result.derivatives
        # chains[j]: the factors whose product is ∂L/∂o_lj, for the current layer l.
        chains = []
        for j in range(self.layers[-1].dense.units):
            factor = Factor(f"∂L/∂{self.notation.out(last, j + 1)}", dL_dy[:, j])
            derivatives[factor.symbol] = Derivative(
                factor.symbol, (factor,), float(np.sum(factor.value)), layer=last
            )
            chains.append((factor,))
        grads: list[np.ndarray] = []
        for layer in reversed(self.layers):
            if layer.index in self.result.normalizations:
                self._through_normalization(layer, chains)
            grads[:0] = self._layer_gradients(layer, chains, outputs[layer.index - 1])
            if layer.index > 1:
                chains = self._chains_below(layer, chains)
        return grads

    def _through_normalization(self, layer: _Layer, chains) -> None:
        """∂L/∂net^l through the layer's steps after net, the normalization by its own
        backward (rows mix there: no per-unit chain), with ∂L/∂γ and ∂L/∂β recorded."""
        l = layer.index
        gradient = np.stack([_product(chain) for chain in chains], axis=1)  # ∂L/∂o_l
        for kind, item in reversed(self.sequence[l]):
            if kind == "slope":
                gradient = gradient * item
                continue
            record = self.result.normalizations[l]
            grad_output = gradient
            gradient = item.backward(gradient.astype(item.dtype)).astype(np.float64)
            self.result.normalizations[l] = replace(
                record, grad_output=grad_output, grad_input=gradient
            )
            self.norm_grads[l] = [item.grads[key].astype(np.float64) for key in item.params]
            self.norm_grads[l] += [np.zeros_like(value) for value in item.state.values()]
            for j in range(grad_output.shape[1]):
                out = Factor(f"∂L/∂s^{l}_{j + 1}", grad_output[:, j])
                x_hat = Factor(f"x_hat^{l}_{j + 1}", record.x_hat[:, j])
                self._record(f"∂L/∂gamma^{l}_{j + 1}", (out, x_hat), l)
                self._record(f"∂L/∂beta^{l}_{j + 1}", (out,), l)
        self.net_gradient[l] = gradient

    def _net_factors(self, layer: _Layer, j: int, wrt: str, value, formula: str):
        """∂L/∂o_lj's chain down to ∂(net)/∂(wrt): the chain through the unit, or, after a
        normalization, ∂L/∂net^l_j itself."""
        l = layer.index
        net = self.notation.net(l, j + 1)
        return (
            Factor(f"∂L/∂{net}", self.net_gradient[l][:, j]),
            Factor(f"∂{net}/∂{wrt}", value, formula),
        )

    def _local(
        self, layer: _Layer, j: int, wrt: str, value: np.ndarray, formula: str
    ) -> list[Factor]:
        """∂o_lj/∂(wrt) as factors: one for an identity unit, two through net otherwise;
        ``formula`` is what ∂net/∂(wrt) equals (the input, the weight, or 1)."""
        l, o = layer.index, self.notation.out(layer.index, j + 1)
        if layer.is_identity:
            return [Factor(f"∂{o}/∂{wrt}", value, formula)]
        net = self.notation.net(l, j + 1)
        activations = [type(a) for a in layer.activations]
        slope = activations[0] if len(activations) == 1 else None
        return [
            Factor(f"∂{o}/∂{net}", self.slope[l][:, j], slope=slope, of=(o, net)),
            Factor(f"∂{net}/∂{wrt}", value, formula),
        ]

    def _layer_gradients(self, layer: _Layer, chains, previous) -> list[np.ndarray]:
        l, dense, n = layer.index, layer.dense, self.notation
        dW = np.empty(dense.params["W"].shape)
        db = np.empty(dense.units)
        mixed = l in self.net_gradient  # a normalization: ∂L/∂net^l_j is its own factor

        def factors(j, wrt, value, formula):
            if mixed:
                return self._net_factors(layer, j, wrt, value, formula)
            return (*chains[j], *self._local(layer, j, wrt, value, formula))

        for j in range(dense.units):
            for i in range(dW.shape[0]):
                symbol = n.weight(l, i + 1, j + 1)
                chain = factors(j, symbol, previous[:, i], n.out(l - 1, i + 1))
                dW[i, j] = self._record(f"∂L/∂{symbol}", chain, l)
            if dense.use_bias:
                symbol = n.bias(l, j + 1)
                chain = factors(j, symbol, np.ones(len(previous)), "1")
                db[j] = self._record(f"∂L/∂{symbol}", chain, l)
        return ([dW, db] if dense.use_bias else [dW]) + self.norm_grads.get(l, [])

    def _chains_below(self, layer: _Layer, chains) -> list[tuple[Factor, ...]]:
        """∂L/∂o_(l−1)i for each unit i below: Σ_j ∂L/∂o_lj · ∂o_lj/∂o_(l−1)i."""
        l, W = layer.index, layer.dense.params["W"].astype(np.float64)
        rows = len(chains[0][0].value)
        below = []
        for i in range(W.shape[0]):
            wrt = self.notation.out(l - 1, i + 1)
            local = self._net_factors if l in self.net_gradient else None
            terms = tuple(
                local(layer, j, wrt, np.full(rows, W[i, j]), self.notation.weight(l, i + 1, j + 1))
                if local
                else (*chains[j], *self._local(
                    layer, j, wrt, np.full(rows, W[i, j]), self.notation.weight(l, i + 1, j + 1)
                ))
                for j in range(layer.dense.units)
            )
            if len(terms) == 1:
                below.append(terms[0])
                continue
            symbol = f"∂L/∂{wrt}"
            per_row = sum(_product(term) for term in terms)
            total = Derivative(
                symbol, (Factor(symbol, per_row),), float(per_row.sum()), terms, layer=l
            )
            self.result.derivatives[symbol] = total
            below.append((Factor(symbol, per_row),))
        return below

    def _record(self, symbol: str, factors: tuple[Factor, ...], layer: int) -> float:
        value = float(_product(factors).sum())
        self.result.derivatives[symbol] = Derivative(symbol, factors, value, layer=layer)
        return value


def dropout_mask(layer: Dropout, shape: tuple) -> np.ndarray:
    """The scaled mask m / (1 − rate) that ``layer`` draws next in training, as ``fit``
    draws it (its own ``drop`` on a copy: the model's generator does not move)."""
    return deepcopy(layer).drop(np.ones(shape, dtype=layer.dtype), True, LOCAL).astype(np.float64)


def _product(factors: tuple[Factor, ...]) -> np.ndarray:
    product = np.ones_like(factors[0].value, dtype=np.float64)
    for factor in factors:
        product = product * factor.value
    return product
