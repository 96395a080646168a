"""W6: sequence classification, and its bare NumPy LSTM loop.

    ids (n, 50) from a vocabulary of 1000 → Embedding(1000, 32) → LSTM(64) → Dense(1);
    binary cross-entropy from logits; Adam lr 1e-3; batch 64; 10 000 synthetic
    sequences (the label: whether token 7 occurs more often than token 3); float32.

The bare loop is that network written by hand as straight NumPy with the same
arithmetic as minifw's: the embedding rows gathered, the input projections of all
50 steps in one product, per step h U and the gates in place into preallocated
arrays, backpropagation through time, the embedding gradient by sort-and-reduce,
and one in-place Adam step over a flat parameter buffer. ``tests/
test_benchmark_references.py`` checks that it computes what minifw computes.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

import minifw as mf
from benchmarks.peers import torch_epoch
from benchmarks.workloads import flat_buffers, shuffled_epoch

SEED, ROWS, STEPS, VOCABULARY, WIDTH, UNITS, BATCH = 0, 10_000, 50, 1000, 32, 64, 64
LEARNING_RATE, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-8


def make_data(rows: int = ROWS) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    ids = rng.integers(0, VOCABULARY, size=(rows, STEPS))
    labels = ((ids == 7).sum(axis=1) > (ids == 3).sum(axis=1)).astype(np.float32)
    return ids, labels


def minifw_model() -> mf.Sequential:
    model = mf.Sequential(
        [
            mf.layers.Embedding(VOCABULARY, WIDTH, input_length=STEPS),
            mf.layers.LSTM(UNITS),
            mf.layers.Dense(1),
        ],
        dtype="float32",
        seed=SEED,
    )
    model.compile(
        mf.optimizers.Adam(LEARNING_RATE, BETA_1, BETA_2, EPSILON),
        mf.losses.BinaryCrossEntropy(from_logits=True),
    )
    model.build()
    return model


class BareLSTM:
    """W6 by hand (see the module docstring), from minifw's initial weights
    (E, W, U, b, W_out, b_out in ``get_weights`` order)."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        self.P, self.G, self.params, self.grads = flat_buffers(weights)
        self.m, self.v = np.zeros_like(self.P), np.zeros_like(self.P)
        self.scratch = np.zeros_like(self.P)
        self.t = 0
        self.used = None
        n, u = BATCH, UNITS  # buffers for a full batch; a smaller one takes views
        self.z = np.empty((n, STEPS, 4 * u), np.float32)
        self.gates = np.empty((n, STEPS, 4 * u), np.float32)  # i, f, g, o after activation
        self.h = np.zeros((n, STEPS + 1, u), np.float32)  # h_0 … h_T
        self.c = np.zeros((n, STEPS + 1, u), np.float32)
        self.tc = np.empty((n, STEPS, u), np.float32)  # tanh(c_t)
        self.dz = np.empty((n, STEPS, 4 * u), np.float32)

    def step(self, ids: np.ndarray, y: np.ndarray) -> float:
        E, W, U, b, W_out, b_out = self.params
        dE, dW, dU, db, dW_out, db_out = self.grads
        n, u = len(ids), UNITS
        buffers = (self.z, self.gates, self.h, self.c, self.tc, self.dz)
        z, gates, h, c, tc, dz = (a[:n] for a in buffers)
        x = E[ids]  # (n, T, 32)
        flat_x = x.reshape(n * STEPS, WIDTH)
        z[...] = (flat_x @ W).reshape(n, STEPS, 4 * u)
        z += b
        for t in range(STEPS):
            zt = z[:, t]
            zt += h[:, t] @ U
            g = gates[:, t]
            g[:, : 2 * u] = expit(zt[:, : 2 * u])
            g[:, 2 * u : 3 * u] = np.tanh(zt[:, 2 * u : 3 * u])
            g[:, 3 * u :] = expit(zt[:, 3 * u :])
            np.multiply(g[:, u : 2 * u], c[:, t], out=c[:, t + 1])
            c[:, t + 1] += g[:, :u] * g[:, 2 * u : 3 * u]
            np.tanh(c[:, t + 1], out=tc[:, t])
            np.multiply(g[:, 3 * u :], tc[:, t], out=h[:, t + 1])
        logits = h[:, STEPS] @ W_out + b_out  # (n, 1)
        target = y.reshape(-1, 1)
        softplus = np.log1p(np.exp(-np.abs(logits)))
        loss = float(np.mean(np.maximum(logits, 0) - logits * target + softplus))
        grad = (expit(logits) - target) / np.float32(n)
        np.dot(h[:, STEPS].T, grad, out=dW_out)
        db_out[...] = grad.sum(axis=0)
        dh = grad @ W_out.T
        dc = np.zeros((n, u), np.float32)
        for t in range(STEPS - 1, -1, -1):
            g = gates[:, t]
            i, f, gg, o = g[:, :u], g[:, u : 2 * u], g[:, 2 * u : 3 * u], g[:, 3 * u :]
            dc += dh * o * (1 - tc[:, t] * tc[:, t])
            d = dz[:, t]
            d[:, :u] = dc * gg * i * (1 - i)
            d[:, u : 2 * u] = dc * c[:, t] * f * (1 - f)
            d[:, 2 * u : 3 * u] = dc * i * (1 - gg * gg)
            d[:, 3 * u :] = dh * tc[:, t] * o * (1 - o)
            dc *= f
            dh = d @ U.T
        flat_dz = dz.reshape(n * STEPS, 4 * u)
        np.dot(flat_x.T, flat_dz, out=dW)
        np.dot(h[:, :STEPS].reshape(n * STEPS, u).T, flat_dz, out=dU)
        flat_dz.sum(axis=0, out=db)
        self._embedding_gradient(dE, ids, (flat_dz @ W.T))
        self._adam()
        return loss

    def _embedding_gradient(self, dE: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> None:
        if self.used is not None:
            dE[self.used] = 0
        flat = ids.reshape(-1)
        order = np.argsort(flat, kind="stable")
        ordered = flat[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self.used = ordered[starts]
        dE[self.used] = np.add.reduceat(rows[order], starts, axis=0)

    def _adam(self) -> None:
        self.t += 1
        m, v, s, g = self.m, self.v, self.scratch, self.G
        m *= BETA_1
        np.multiply(g, 1 - BETA_1, out=s)
        m += s
        v *= BETA_2
        np.multiply(g, g, out=s)
        s *= 1 - BETA_2
        v += s
        np.sqrt(v, out=s)
        s /= (1 - BETA_2**self.t) ** 0.5
        s += EPSILON
        np.divide(m, s, out=s)
        s *= LEARNING_RATE / (1 - BETA_1**self.t)
        self.P -= s

    def epoch(self, ids: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
        shuffled_epoch(self.step, ids, labels, rng, BATCH)


def torch_run(ids: np.ndarray, labels: np.ndarray):
    """PyTorch CPU (2 threads) on W6, when installed."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(SEED)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCABULARY, WIDTH)
            self.lstm = torch.nn.LSTM(WIDTH, UNITS, batch_first=True)
            self.out = torch.nn.Linear(UNITS, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(self.embedding(x))
            return self.out(h[-1])

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    X, Y = torch.from_numpy(ids).long(), torch.from_numpy(labels).float().reshape(-1, 1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits
    return torch_epoch(net, optimizer, loss, X, Y, BATCH)
