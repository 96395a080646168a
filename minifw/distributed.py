"""Data-parallel training over MPI: the same script on 1 or N processes, the same weights.

    model.compile("adam", "mse", distribute=DataParallel())
    model.fit(X, y, epochs=3, batch_size=64)        # mpiexec -n 4 python train.py

Every rank runs the same script on the same arrays. Each global batch (the same
shuffle on every rank) is split into contiguous parts, one per rank; each rank
computes the gradient of its part, and one ``Allreduce`` on the flat gradient
vector (buffer form, in place) combines them, weighted by each part's rows (or
sample weights), so the update equals one process's on the whole batch. Every
rank applies it, so weights stay equal. Layers that look at the whole batch see
it: BatchNormalization's mean and variance are reduced across ranks, and
Dropout draws its masks for the whole batch and keeps its rows. A batch source
is per rank (each reads its own shard); when one rank runs out, all stop
together at the shortest, with a warning.

Only rank 0 prints progress and writes files (``save``, checkpoints, CSV logs);
History, metrics and callbacks' decisions are the same on every rank. See
docs/distributed.md for running it and for what scales.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .layers import BatchNormalization, Dropout

__all__ = ["DataParallel"]


@dataclass
class BatchPart:
    """This rank's rows of the current global batch: ``start`` of ``total``."""

    total: int = 0
    start: int = 0


class DataParallel:
    """A gradient reducer over an MPI communicator (``MPI.COMM_WORLD`` by default).

    Parameters
    ----------
    comm : mpi4py communicator, optional
    ordered : bool
        Sum the gradients in rank order (gather to rank 0, add, broadcast): the same
        bits whatever the MPI's reduction order, at the cost of two messages instead
        of one allreduce. By default the allreduce adds in the order MPI picks: ranks
        always agree with each other, and with one process to float round-off.
    threads : int or "auto"
        BLAS threads per rank: with "auto", the cores of a machine shared by the ranks
        on it (one each on a 2-core machine with 2 ranks).
    """

    def __init__(self, comm=None, *, ordered: bool = False, threads: int | str = "auto") -> None:
        try:
            from mpi4py import MPI
        except ImportError:
            raise ImportError(
                "DataParallel needs mpi4py and an MPI: pip install 'minifw[mpi]' "
                "(mpi4py and the mpich wheel, which provides mpiexec)."
            ) from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.ordered = ordered
        self.part = BatchPart()
        self.share = 1.0
        self._started: set[int] = set()
        self._buffer: np.ndarray | None = None
        if self.size > 1:
            self._limit_threads(threads)

    @property
    def is_chief(self) -> bool:
        """Rank 0: the one that prints and writes files."""
        return self.rank == 0

    def _limit_threads(self, threads: int | str) -> None:
        if threads == "auto":
            host = self.MPI.Get_processor_name()
            sharing = sum(name == host for name in self.comm.allgather(host))
            threads = max(1, (os.cpu_count() or 1) // sharing)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return
        self._thread_limit = threadpool_limits(limits=int(threads), user_api="blas")

    # -- the start of a fit -----------------------------------------------------------

    def start(self, model) -> None:
        """Rank 0's weights, state and generators to every rank (at a model's first
        distributed fit); Batch statistics and Dropout masks over the whole batch."""
        self._model = model
        if model.built:
            self._share_start(model)  # else once a batch has built it (a batch source)
        if self.size == 1:
            return  # the plain model: nothing to share
        for layer in model.layers:
            if isinstance(layer, BatchNormalization):
                layer.batch_mean = self.batch_mean
            if isinstance(layer, Dropout):
                layer.batch_part = self.part

    def _share_start(self, model) -> None:
        if id(model) in self._started:
            return
        store = model.parameters
        for vector in (store.params, store.state):
            if vector.size:
                self.comm.Bcast(vector, root=0)
        state = model.training_state()
        generators = {key: state[key] for key in ("shuffle_rng", "layer_rngs")}
        model.restore_training_state(self.comm.bcast(generators, root=0))
        self._started.add(id(model))

    # -- batches ---------------------------------------------------------------------

    def split(self, batches: Iterable) -> Iterator:
        """This rank's rows of each global batch (x, y, w, the batch's weight), in contiguous
        parts; ``share`` its part of the batch's weight."""
        for x, y, weights, batch_weight in batches:
            total = len(x)
            bounds = np.linspace(0, total, self.size + 1).round().astype(int)
            start, stop = int(bounds[self.rank]), int(bounds[self.rank + 1])
            self.part.total, self.part.start = total, start
            w = None if weights is None else weights[start:stop]
            weight = (stop - start) if w is None else float(w.sum())
            self.share = weight / batch_weight if batch_weight else 0.0
            yield x[start:stop], y[start:stop], w, batch_weight  # the loss is the batch's

    def while_all_have(self, batches: Iterable) -> Iterator:
        """A rank's own batches, as long as every rank has one (all stop at the shortest);
        ``share`` its part of the weight of the ranks' batches together."""
        iterator = iter(batches)
        while True:
            item = next(iterator, None)
            counts = np.array([item is not None, 0.0 if item is None else item[3]])
            self._sum(counts)
            if counts[0] < self.size:
                if item is not None and self.is_chief:
                    warnings.warn(
                        "DataParallel: another rank's batch source ran out first; every rank "
                        "stopped at the shortest shard.",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                return
            self._share_start(self._model)  # the first batch has built the model
            self.part.total, self.part.start = len(item[0]), 0
            self.share = item[3] / counts[1] if counts[1] else 0.0
            yield (*item[:3], counts[1])  # the loss is the ranks' batches' together

    # -- reductions ---------------------------------------------------------------------

    def reduce(self, grads: np.ndarray, loss: float) -> float:
        """grads ← Σ over the ranks of each rank's share-scaled gradient, in place; the
        batch's loss likewise. One Allreduce of one vector (gradients and loss)."""
        if self.size == 1:
            return loss
        if self._buffer is None or self._buffer.size != grads.size + 1:
            self._buffer = np.empty(grads.size + 1, dtype=grads.dtype)  # the model's precision
        buffer = self._buffer
        buffer[:-1], buffer[-1] = grads, loss
        self._sum(buffer)
        grads[...] = buffer[:-1]
        return float(buffer[-1])

    def _sum(self, buffer: np.ndarray) -> None:
        """The element-wise sum over the ranks, in place on every rank."""
        if not self.ordered:
            self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
            return
        gathered = np.empty((self.size, buffer.size), buffer.dtype) if self.is_chief else None
        self.comm.Gather(buffer, gathered, root=0)
        if self.is_chief:
            buffer[...] = gathered[0]
            for row in gathered[1:]:
                buffer += row  # rank by rank, always in the same order
        self.comm.Bcast(buffer, root=0)

    def batch_mean(self, array: np.ndarray, axes) -> np.ndarray:
        """The mean over ``axes`` of the whole global batch (every rank's rows), dims kept."""
        local = array.sum(axis=axes, keepdims=True, dtype=np.float64)
        count = array.size // max(local.size, 1)
        buffer = np.append(local.ravel(), count)
        self._sum(buffer)
        return (buffer[:-1] / buffer[-1]).reshape(local.shape).astype(array.dtype, copy=False)

    def gather(self, array: np.ndarray) -> np.ndarray:
        """Every rank's rows of ``array``, in rank order (for epoch metrics)."""
        if self.size == 1:
            return array
        return np.concatenate(self.comm.allgather(array))
