"""The benchmark workloads W1–W4, and the references minifw is measured against.

For each workload: synthetic data from a fixed seed, the minifw model, the
"bare loop" (the same network, loss and optimizer written by hand as the
fastest straight-line NumPy we know: flat parameter and gradient buffers,
products into preallocated arrays, in-place activations, one in-place
optimizer update over the whole buffer) and the "GEMM floor" (only the
matrix products a training step needs, into preallocated arrays).
``tests/test_benchmark_references.py`` checks that the bare loop computes
exactly what minifw computes, so the comparison is like for like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import get_blas_funcs

import minifw as mf

SEED = 0


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    sizes: tuple[int, ...]  # inputs, hidden units..., outputs
    rows: int
    batch: int
    dtype: str
    loss: str  # "mse" or "softmax_ce" (from logits, integer labels)
    optimizer: str  # "sgd", "momentum" or "adam"
    learning_rate: float
    hidden: str = "relu"  # activation of the hidden layers
    shuffle: bool = True
    ones: bool = False  # every weight 1, every bias 0 (the lecture)

    def with_rows(self, rows: int) -> Workload:
        return Workload(**{**self.__dict__, "rows": rows})

    def with_batch(self, batch: int) -> Workload:
        return Workload(**{**self.__dict__, "batch": batch})


W1 = Workload(
    "W1",
    "the lecture example",
    (2, 2, 1),
    4,
    1,
    "float64",
    "mse",
    "sgd",
    1e-5,
    hidden="linear",
    shuffle=False,
    ones=True,
)
W2 = Workload(
    "W2", "tabular regression", (8, 64, 64, 1), 20_000, 32, "float32", "mse", "adam", 1e-3
)
W3 = Workload(
    "W3",
    "MNIST-sized classification",
    (784, 256, 128, 10),
    60_000,
    128,
    "float32",
    "softmax_ce",
    "momentum",
    0.01,
)
W4 = Workload(
    "W4", "wide layers", (1024, 4096, 4096, 1024), 512, 512, "float32", "mse", "sgd", 1e-3
)
WORKLOADS = {w.name: w for w in (W1, W2, W3, W4)}


def make_data(w: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets from a fixed seed (the lecture's table for W1)."""
    if w.name == "W1":
        return mf.datasets.salary()
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((w.rows, w.sizes[0]), dtype=np.float32).astype(w.dtype, copy=False)
    if w.loss == "softmax_ce":
        return X, rng.integers(0, w.sizes[-1], size=w.rows)
    projection = rng.standard_normal((w.sizes[0], w.sizes[-1])).astype(w.dtype)
    y = np.tanh(X @ projection / math.sqrt(w.sizes[0]))
    return X, y[:, 0] if w.sizes[-1] == 1 else y


def minifw_model(w: Workload, jit_compile: bool = False) -> mf.Sequential:
    """The workload's model; with ``jit_compile``, on the compiled engine, one call an epoch."""
    initializer = {"kernel_initializer": "ones"} if w.ones else {}
    hidden = [mf.layers.Dense(units, activation=w.hidden, **initializer) for units in w.sizes[1:-1]]
    model = mf.Sequential(
        [*hidden, mf.layers.Dense(w.sizes[-1], **initializer)], dtype=w.dtype, seed=SEED
    )
    loss = (
        mf.losses.SparseCategoricalCrossEntropy(from_logits=True)
        if w.loss == "softmax_ce"
        else mf.losses.MSELoss()
    )
    optimizer = {
        "sgd": lambda: mf.optimizers.SGD(w.learning_rate),
        "momentum": lambda: mf.optimizers.SGD(w.learning_rate, momentum=0.9),
        "adam": lambda: mf.optimizers.Adam(w.learning_rate),
    }[w.optimizer]()
    model.compile(optimizer, loss, jit_compile=jit_compile, steps_per_execution="epoch")
    model.build((None, w.sizes[0]))
    return model


def minifw_epoch(model: mf.Sequential, w: Workload, X, y) -> None:
    model.fit(X, y, epochs=1, batch_size=w.batch, shuffle=w.shuffle, verbose=0)


# -- the bare loop ---------------------------------------------------------------------


def flat_buffers(weights: list[np.ndarray], dtype=np.float32):
    """(P, G, params, grads): minifw's starting weights copied into one flat parameter
    vector P, a zero gradient vector G, and each array as a view into them (the bare
    loops' layout, as minifw's)."""
    sizes = [w.size for w in weights]
    P = np.concatenate([w.ravel() for w in weights]).astype(dtype)
    G = np.zeros_like(P)
    offsets = np.cumsum([0, *sizes])
    params = [P[a:b].reshape(w.shape) for a, b, w in zip(offsets, offsets[1:], weights)]
    grads = [G[a:b].reshape(w.shape) for a, b, w in zip(offsets, offsets[1:], weights)]
    return P, G, params, grads


def shuffled_epoch(step, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, batch: int):
    """One epoch of ``step(x, y)`` over batches of a fresh permutation of the rows."""
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch):
        rows = order[start : start + batch]
        step(X[rows], y[rows])



class BareMLP:
    """The workload's network trained by hand: Dense layers, ReLU (or linear) hidden units.

    Parameters and gradients are views into two flat buffers; each batch size
    gets its own preallocated activations; ReLU and the loss gradient work in
    place; the update is one BLAS axpy (plus the Adam or momentum vectors).
    """

    def __init__(self, w: Workload, weights: list[np.ndarray]) -> None:
        self.w = w
        self.dtype = np.dtype(w.dtype)
        shapes = [s for a, b in zip(w.sizes, w.sizes[1:]) for s in ((a, b), (b,))]
        total = sum(math.prod(s) for s in shapes)
        self.P = np.empty(total, self.dtype)
        self.G = np.empty(total, self.dtype)
        views, grad_views, offset = [], [], 0
        for shape, value in zip(shapes, weights):
            size = math.prod(shape)
            views.append(self.P[offset : offset + size].reshape(shape))
            grad_views.append(self.G[offset : offset + size].reshape(shape))
            views[-1][...] = value
            offset += size
        self.W, self.b = views[0::2], views[1::2]
        self.dW, self.db = grad_views[0::2], grad_views[1::2]
        self.layers = len(self.W)
        self.blas_axpy = get_blas_funcs("axpy", dtype=self.dtype)
        self.m = np.zeros(total, self.dtype)  # momentum, or Adam's first moment
        self.v = np.zeros(total, self.dtype)
        self.scratch = np.empty(total, self.dtype)
        self.t = self.steps = 0
        self.buffers: dict[int, tuple[list, list]] = {}

    def _buffers(self, n: int):
        if n not in self.buffers:
            Z = [np.empty((n, units), self.dtype) for units in self.w.sizes[1:]]
            D = [None] + [np.empty((n, units), self.dtype) for units in self.w.sizes[1:-1]]
            self.buffers[n] = (Z, D)
        return self.buffers[n]

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        n, relu = len(x), self.w.hidden == "relu"
        Z, D = self._buffers(n)
        a = x
        for layer in range(self.layers):
            a.dot(self.W[layer], out=Z[layer])  # ndarray.dot: less per-call overhead than matmul
            Z[layer] += self.b[layer][np.newaxis]  # a row broadcasts faster than a vector
            if relu and layer < self.layers - 1:
                np.maximum(Z[layer], 0, out=Z[layer])
            a = Z[layer]
        g = Z[-1]
        if self.w.loss == "mse":
            g -= y
            loss = float(np.vdot(g, g)) / g.size
            g *= 2.0 / g.size
        else:  # softmax cross-entropy from logits, integer labels
            g -= g.max(axis=1, keepdims=True)
            np.exp(g, out=g)
            g /= g.sum(axis=1, keepdims=True)
            rows = np.arange(n)
            loss = -float(np.log(g[rows, y]).mean())
            g[rows, y] -= 1
            g *= 1.0 / n
        for layer in range(self.layers - 1, -1, -1):
            below = x if layer == 0 else Z[layer - 1]
            below.T.dot(g, out=self.dW[layer])
            g.sum(axis=0, out=self.db[layer])
            if layer > 0:
                g.dot(self.W[layer].T, out=D[layer])
                if relu:
                    D[layer] *= below > 0
                g = D[layer]
        self._update()
        return loss

    def axpy(self, x: np.ndarray, y: np.ndarray, a: float) -> None:
        """y ← a x + y in chunks that OpenBLAS keeps on this thread (see minifw.optimizers)."""
        for start in range(0, y.size, 8192):
            self.blas_axpy(x[start : start + 8192], y[start : start + 8192], a=a)

    def _update(self) -> None:
        lr, P, G, m, v, s = self.w.learning_rate, self.P, self.G, self.m, self.v, self.scratch
        if self.w.optimizer == "sgd":
            self.axpy(G, P, a=-lr)
        elif self.w.optimizer == "momentum":
            m *= 0.9
            m += G
            self.axpy(m, P, a=-lr)
        else:  # Adam, PyTorch's form, β = (0.9, 0.999), ε = 1e-8
            self.t += 1
            np.multiply(G, 0.1, out=s)
            m *= 0.9
            m += s
            np.multiply(G, G, out=s)
            s *= 0.001
            v *= 0.999
            v += s
            np.sqrt(v, out=s)
            s *= 1 / math.sqrt(1 - 0.999**self.t)
            s += 1e-8
            np.divide(m, s, out=s)
            self.axpy(s, P, a=-lr / (1 - 0.9**self.t))
        self.steps += 1
        if self.steps % 16 == 0:  # subnormal numbers are slow: flush them (see minifw.optimizers)
            for state in (m, v):
                state[np.abs(state) < np.finfo(self.dtype).tiny] = 0

    def epoch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> float:
        n, batch = len(X), self.w.batch
        order = rng.permutation(n) if self.w.shuffle else None
        Y = y.reshape(n, -1) if self.w.loss == "mse" else y
        total = 0.0
        for start in range(0, n, batch):
            rows = slice(start, start + batch) if order is None else order[start : start + batch]
            total += self.step(X[rows], Y[rows]) * len(X[rows])
        return total / n


class BareLecture:
    """W1 by hand: the 2-2-1 linear network, one row at a time, as few NumPy calls as we know."""

    def __init__(self, w: Workload, weights: list[np.ndarray]) -> None:
        self.w = w
        self.P = np.concatenate([np.ravel(a) for a in weights]).astype(w.dtype)
        self.G = np.empty_like(self.P)
        self.W1, self.b1 = self.P[0:4].reshape(2, 2), self.P[4:6]
        self.W2, self.b2 = self.P[6:8].reshape(2, 1), self.P[8:9]
        self.dW1, self.db1 = self.G[0:4].reshape(2, 2), self.G[4:6]
        self.dW2, self.db2 = self.G[6:8].reshape(2, 1), self.G[8:9]
        self.axpy = get_blas_funcs("axpy", dtype=self.P.dtype)

    def epoch(self, X: np.ndarray, y: np.ndarray, rng=None) -> float:
        Y = y.reshape(-1, 1)
        W1, b1, W2, b2 = self.W1, self.b1, self.W2, self.b2
        dW1, db1, dW2, db2 = self.dW1, self.db1, self.dW2, self.db2
        P, G, axpy, lr = self.P, self.G, self.axpy, self.w.learning_rate
        total = 0.0
        for i in range(len(X)):
            x = X[i : i + 1]
            h = x.dot(W1)
            h += b1[np.newaxis]  # a row broadcasts faster than a vector
            d = h.dot(W2)
            d += b2[np.newaxis]
            d -= Y[i]
            total += d.item() ** 2  # L = (y − ŷ)², for the epoch's mean loss
            d *= 2.0  # ∂L/∂ŷ = −2(y − ŷ)
            h.T.dot(d, out=dW2)
            db2[...] = d[0]
            dh = d.dot(W2.T)
            x.T.dot(dh, out=dW1)
            db1[...] = dh[0]
            axpy(G, P, a=-lr)
        return total / len(X)


def bare_loop(w: Workload, weights: list[np.ndarray]):
    return BareLecture(w, weights) if w.name == "W1" else BareMLP(w, weights)


# -- the GEMM floor ----------------------------------------------------------------------


class GemmFloor:
    """Only the matrix products of one training step, into preallocated arrays:
    X @ W for every layer, Xᵀ G for every layer and G Wᵀ for every layer but the first."""

    def __init__(self, w: Workload, batch: int) -> None:
        dtype, sizes = np.dtype(w.dtype), w.sizes
        rng = np.random.default_rng(SEED)
        self.W = [
            rng.standard_normal((a, b), dtype=np.float32).astype(dtype) * 0.01
            for a, b in zip(sizes, sizes[1:])
        ]
        self.x = rng.standard_normal((batch, sizes[0]), dtype=np.float32).astype(dtype)
        self.Z = [np.empty((batch, b), dtype) for b in sizes[1:]]
        self.dW = [np.empty_like(W) for W in self.W]
        self.D = [np.empty((batch, a), dtype) for a in sizes[:-1]]

    def step(self) -> None:
        a = self.x
        for W, Z in zip(self.W, self.Z):
            np.matmul(a, W, out=Z)
            a = Z
        g = self.Z[-1]
        for layer in range(len(self.W) - 1, -1, -1):
            below = self.x if layer == 0 else self.Z[layer - 1]
            np.matmul(below.T, g, out=self.dW[layer])
            if layer > 0:
                np.matmul(g, self.W[layer].T, out=self.D[layer])
                g = self.D[layer]
