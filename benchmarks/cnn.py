"""W5: a small convolutional network on 28×28 images, and its bare im2col NumPy loop.

    28×28×1 → Conv2D(32, 3) → ReLU → MaxPooling2D → Conv2D(64, 3) → ReLU → MaxPooling2D
    → Flatten → Dense(10); softmax cross-entropy from logits; SGD lr 0.01 momentum 0.9;
    batch 64, 10 000 synthetic rows, float32.

The bare loop is that network written by hand as straight NumPy: both convolutions as
im2col (the taps copied into a patch matrix, one matrix product), max pooling by
reshape, parameters and gradients as views into two flat buffers, the update one
in-place momentum step. ``gemm_seconds`` keeps the time of its matrix products alone,
for its GEMM share. ``tests/test_benchmark_references.py`` checks that it computes
what minifw computes.
"""

from __future__ import annotations

import time

import numpy as np

import minifw as mf
from benchmarks.peers import torch_epoch
from benchmarks.workloads import flat_buffers, shuffled_epoch

SEED, ROWS, BATCH, CLASSES, LEARNING_RATE, MOMENTUM = 0, 10_000, 64, 10, 0.01, 0.9


def make_data(rows: int = ROWS) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((rows, 28, 28, 1), dtype=np.float32)
    return X, rng.integers(0, CLASSES, size=rows)


def minifw_model() -> mf.Sequential:
    model = mf.Sequential(
        [
            mf.layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
            mf.layers.MaxPooling2D(),
            mf.layers.Conv2D(64, 3, activation="relu"),
            mf.layers.MaxPooling2D(),
            mf.layers.Flatten(),
            mf.layers.Dense(CLASSES),
        ],
        seed=SEED,
    )
    model.compile(
        mf.optimizers.SGD(LEARNING_RATE, momentum=MOMENTUM),
        mf.losses.SparseCategoricalCrossEntropy(from_logits=True),
    )
    model.build()
    return model


def _patches(x: np.ndarray, k: int) -> np.ndarray:
    """(n·H'·W', k·k·C): the k×k windows of x (no padding, stride 1), taps side by side."""
    n, height, width, channels = x.shape
    out_h, out_w = height - k + 1, width - k + 1
    patches = np.empty((n, out_h, out_w, k, k, channels), x.dtype)
    for a in range(k):
        for b in range(k):
            patches[:, :, :, a, b, :] = x[:, a : a + out_h, b : b + out_w, :]
    return patches.reshape(n * out_h * out_w, k * k * channels)


def _pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2×2 max pooling by reshape: the output, and the tiles for the backward pass."""
    n, height, width, channels = x.shape
    h, w = height // 2, width // 2
    tiles = x[:, : 2 * h, : 2 * w].reshape(n, h, 2, w, 2, channels)
    return tiles.max(axis=(2, 4)), tiles


def _unpool(grad: np.ndarray, out: np.ndarray, tiles: np.ndarray, shape: tuple) -> np.ndarray:
    """Each window's gradient to its first maximum, taps in row-major order."""
    n, h, w, channels = grad.shape
    taken = np.zeros(out.shape, bool)
    grad_tiles = np.zeros(tiles.shape, grad.dtype)
    for a in range(2):
        for b in range(2):
            first = (tiles[:, :, a, :, b, :] == out) & ~taken
            taken |= first
            grad_tiles[:, :, a, :, b, :] = grad * first
    full = np.zeros(shape, grad.dtype)
    full[:, : 2 * h, : 2 * w] = grad_tiles.reshape(n, 2 * h, 2 * w, channels)
    return full


def _col2im(cells: np.ndarray, shape: tuple, k: int) -> np.ndarray:
    """∂L/∂x from ∂L/∂patches: k·k strided slice additions."""
    n, height, width, channels = shape
    out_h, out_w = height - k + 1, width - k + 1
    cells = cells.reshape(n, out_h, out_w, k, k, channels)
    grad = np.zeros(shape, cells.dtype)
    for a in range(k):
        for b in range(k):
            grad[:, a : a + out_h, b : b + out_w, :] += cells[:, :, :, a, b, :]
    return grad


class BareCNN:
    """W5 by hand (see the module docstring), from minifw's initial weights."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        self.P, self.G, self.params, self.grads = flat_buffers(weights)
        self.velocity = np.zeros_like(self.P)
        self.gemm_seconds = 0.0

    def _gemm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        start = time.perf_counter()
        result = a.dot(b) if out is None else a.dot(b, out=out)
        self.gemm_seconds += time.perf_counter() - start
        return result

    def step(self, x: np.ndarray, labels: np.ndarray) -> float:
        W1, b1, W2, b2, W3, b3 = self.params
        dW1, db1, dW2, db2, dW3, db3 = self.grads
        n = len(x)
        p1 = _patches(x, 3)  # (n·26·26, 9)
        z1 = self._gemm(p1, W1.reshape(9, 32))
        z1 += b1[np.newaxis]
        a1 = np.maximum(z1, 0).reshape(n, 26, 26, 32)
        h1, tiles1 = _pool(a1)  # (n, 13, 13, 32)
        p2 = _patches(h1, 3)  # (n·11·11, 288)
        z2 = self._gemm(p2, W2.reshape(288, 64))
        z2 += b2[np.newaxis]
        a2 = np.maximum(z2, 0).reshape(n, 11, 11, 64)
        h2, tiles2 = _pool(a2)  # (n, 5, 5, 64)
        flat = h2.reshape(n, -1)
        logits = self._gemm(flat, W3)
        logits += b3[np.newaxis]
        logits -= logits.max(axis=1, keepdims=True)  # softmax cross-entropy from logits
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = -float(np.log(p[rows, labels]).mean())
        p[rows, labels] -= 1
        p *= np.float32(1.0 / n)
        self._gemm(flat.T, p, out=dW3)
        p.sum(axis=0, out=db3)
        g = self._gemm(p, W3.T).reshape(h2.shape)
        g = _unpool(g, h2, tiles2, a2.shape)
        g *= a2 > 0
        g = g.reshape(-1, 64)
        self._gemm(p2.T, g, out=dW2.reshape(288, 64))
        g.sum(axis=0, out=db2)
        g = _col2im(self._gemm(g, W2.reshape(288, 64).T), h1.shape, 3)
        g = _unpool(g, h1, tiles1, a1.shape)
        g *= a1 > 0
        g = g.reshape(-1, 32)
        self._gemm(p1.T, g, out=dW1.reshape(9, 32))
        g.sum(axis=0, out=db1)
        self.velocity *= np.float32(MOMENTUM)  # b ← μ b + g ; w ← w − η b
        self.velocity += self.G
        self.P -= np.float32(LEARNING_RATE) * self.velocity
        return loss

    def epoch(self, X: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
        shuffled_epoch(self.step, X, labels, rng, BATCH)


def torch_run(X: np.ndarray, labels: np.ndarray):
    """PyTorch CPU (2 threads, its own oneDNN convolutions) on W5, when installed."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(1600, CLASSES),
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    Xt = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
    Yt = torch.from_numpy(labels).long()
    return torch_epoch(net, optimizer, torch.nn.functional.cross_entropy, Xt, Yt, BATCH)
