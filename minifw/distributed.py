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
History, metrics and callbacks' decisions are the same on every rank.

Nothing hangs and nothing trains on mismatched data:

- before a fit or evaluate changes anything, every rank checks its own input and one
  ``allgather`` compares the ranks' reports: shapes, dtypes and a CRC-32 of the
  arrays (of the first batch's shapes for batch sources, whose shards differ). A
  refusal on any rank, or any difference, raises on **every** rank, naming the ranks
  and what differs (``collectively``);
- a request to stop (a callback's ``stop_training``, Ctrl-C) is agreed after every
  step (``agree_to_stop``), so all ranks stop at the same step;
- an error that escapes a rank during training (a callback that raises, a batch
  that fails its checks on one shard) cannot be handed to the others, which wait in
  a collective MPI cannot cancel: that rank prints the error with its rank and ends
  the whole job with ``MPI.Abort`` (``abort``), as ``python -m mpi4py`` does for an
  uncaught exception and as Horovod and torchrun tear a job down. Errors every rank
  raises at the same point (``NonFiniteError`` from the reduced gradient) are
  raised normally.

See docs/distributed.md for running it and for what scales.
"""

from __future__ import annotations

import builtins
import functools
import os
import sys
import time
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np

from . import errors
from .layers.base import LOCAL, BatchContext

__all__ = ["DataParallel", "fingerprint"]

T = TypeVar("T")


class GlobalBatch(BatchContext):
    """The batch as spread over the ranks: whole-batch layers (BatchNormalization's
    statistics, Dropout's masks) see every rank's rows, through the plan of a fit."""

    summed_gradients = True

    def __init__(self, reducer: DataParallel) -> None:
        self.reducer = reducer
        self.part = (0, 0)  # (total, start): set as each batch is split

    def mean(self, array: np.ndarray, axes) -> np.ndarray:
        return self.reducer.batch_mean(array, axes)


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
        #: The whole batch for the plan of a fit (``minifw.engine.Plan``); alone, the
        #: batch is all here, and the plan that of a plain fit, bit for bit.
        self.context = GlobalBatch(self) if self.size > 1 else LOCAL
        self.share = 1.0
        self._started: set[int] = set()
        self._buffer: np.ndarray | None = None
        if self.size > 1:
            self._limit_threads(threads)

    def __deepcopy__(self, memo) -> DataParallel:
        """A copied model trains on the same ranks: the reducer is this process's handle on
        them, shared, not copied."""
        return self

    def __reduce__(self):
        """Unpickled in another process: a new reducer on that process's ``COMM_WORLD``."""
        return functools.partial(DataParallel, ordered=self.ordered), ()

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
        distributed fit)."""
        self._model = model
        if model.built:
            self._share_start(model)  # else once a batch has built it (a batch source)

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
            if self.size > 1:
                self.context.part = (total, start)
            w = None if weights is None else weights[start:stop]
            weight = (stop - start) if w is None else float(w.sum())
            self.share = weight / batch_weight if batch_weight else 0.0
            yield x[start:stop], y[start:stop], w, batch_weight  # the loss is the batch's

    def while_all_have(self, batches: Iterable) -> Iterator:
        """A rank's own batches, as long as every rank has one (all stop at the shortest);
        ``share`` its part of the weight of the ranks' batches together."""
        iterator = iter(batches)
        while True:
            error = None
            try:
                item = next(iterator, None)
            except Exception as caught:  # a batch refused by its checks: every rank raises
                item, error = None, caught
            counts = np.array([item is not None, 0.0 if item is None else item[3], bool(error)])
            self._sum(counts)
            if counts[2]:
                self._all_or_none(error)
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
            if self.size > 1:
                self.context.part = (len(item[0]), 0)
            self.share = item[3] / counts[1] if counts[1] else 0.0
            yield (*item[:3], counts[1])  # the loss is the ranks' batches' together

    # -- agreeing: every rank raises together, or the job ends ----------------------------

    def collectively(self, prepare: Callable[[], T], shared: Callable[[T], dict]) -> T:
        """``prepare()`` on every rank, then one allgather of each rank's outcome: if any
        rank raised, every rank raises (that rank its own error, the others the same kind
        of error naming it); if what ``shared(result)`` names differs between ranks (arrays
        by their ``fingerprint``, other values as they are), every rank raises ValueError
        naming the ranks and what differs. Returns ``prepare()``'s result.
        """
        result = error = report = None
        try:
            result = prepare()
            report = {
                name: fingerprint(value) if isinstance(value, np.ndarray) else value
                for name, value in shared(result).items()
            }
        except Exception as caught:
            error = caught
        difference = first_difference(self._all_or_none(error, report))
        if difference:
            raise _on_every_rank(
                ValueError(
                    f"DataParallel: the ranks hold different data: {difference}. Every rank "
                    "must pass the same arrays, rows in the same order (split them with a "
                    "fixed random_state), or give each rank its own batch source; see "
                    "docs/distributed.md."
                )
            )
        return result

    def check_same_shapes(self, **data) -> None:
        """Refuse, on every rank, data whose shapes differ between the ranks: before the
        model is built from them (values and dtypes are compared once they are checked)."""

        def shape(value) -> tuple | None:
            try:
                return None if value is None else (np.shape(value), None, None)
            except ValueError:  # ragged: the checks that follow name it
                return None

        self.collectively(lambda: None, lambda _: {name: shape(v) for name, v in data.items()})

    def _all_or_none(self, error: Exception | None, report=None) -> list:
        """Every rank's ``report``, gathered; if any rank has an ``error``, every rank raises
        instead: that rank its own, the others the same kind of error naming that rank."""
        failure = None if error is None else (type(error).__name__, str(error))
        outcomes = self.comm.allgather((failure, report))
        failed = [(rank, failure) for rank, (failure, _) in enumerate(outcomes) if failure]
        if failed:
            if error is not None:
                raise _on_every_rank(error)
            rank, (kind, message) = failed[0]
            raise _on_every_rank(_same_kind(kind, f"DataParallel: rank {rank} failed: {message}"))
        return [report for _, report in outcomes]

    @staticmethod
    def raised_on_every_rank(error: BaseException) -> bool:
        """Whether every rank raises ``error`` at this point: a refusal agreed by
        ``collectively`` or a batch source, or a ``NonFiniteError`` of the reduced gradient."""
        return isinstance(error, errors.NonFiniteError) or getattr(error, _EVERY_RANK, False)

    def agree_to_stop(self, stop: bool, interrupted: bool) -> tuple[bool, bool]:
        """(any rank asks to stop, any rank was interrupted): one small allreduce, so that
        every rank stops after the same step."""
        if self.size == 1:
            return stop, interrupted
        flags = np.array([stop, interrupted], dtype=np.float64)
        self._sum(flags)
        return bool(flags[0]), bool(flags[1])

    def abort(self, error: BaseException) -> None:
        """End every rank of the job: an error on one rank during training cannot reach the
        others, which wait in a collective that MPI cannot cancel. Alone, nothing to do."""
        if self.size == 1:
            return
        text = "".join(traceback.format_exception(error))
        print(
            f"{text}minifw DataParallel: rank {self.rank} of {self.size} failed during "
            f"training ({type(error).__name__}: {error}); ending every rank with MPI.Abort, "
            "since the others would wait for it for ever.",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(_FORWARD_SECONDS)  # MPI.Abort kills the launcher's forwarding of output too
        self.comm.Abort(1)

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


def fingerprint(array: np.ndarray) -> tuple:
    """(shape, dtype, CRC-32 of the bytes) of an array, for comparing ranks' data: about
    7 GB/s, so 30 ms for MNIST's training images."""
    return array.shape, array.dtype.str, zlib.crc32(np.ascontiguousarray(array).data)


def first_difference(reports: list[dict]) -> str | None:
    """What differs between the ranks' ``fingerprint``s (or other reports), or None."""
    first = reports[0]
    for rank, report in enumerate(reports[1:], 1):
        for name in first:
            mine, theirs = first[name], report.get(name)
            if mine == theirs:
                continue
            if not (isinstance(mine, tuple) and isinstance(theirs, tuple)):
                return f"{name}: rank 0 has {_describe(mine)}, rank {rank} {_describe(theirs)}"
            if mine[0] != theirs[0]:
                if mine[0][1:] == theirs[0][1:]:
                    return f"rank {rank} holds {theirs[0][0]} rows of {name}, rank 0 {mine[0][0]}"
                return f"{name} has shape {theirs[0]} on rank {rank}, {mine[0]} on rank 0"
            if mine[1] != theirs[1]:
                return f"{name} has dtype {theirs[1]} on rank {rank}, {mine[1]} on rank 0"
            return (
                f"{name} has the same shape {mine[0]} on ranks 0 and {rank} but different "
                "values (their checksums differ)"
            )
    return None


def _describe(entry) -> str:
    return "none" if entry is None else repr(entry)


_EVERY_RANK = "_minifw_raised_on_every_rank"

# How long a failed rank waits for the launcher to forward its message before aborting.
_FORWARD_SECONDS = 1.0


def _on_every_rank(error: Exception) -> Exception:
    """``error``, marked as raised by every rank at the same point (training does not
    abort the job for it)."""
    setattr(error, _EVERY_RANK, True)
    return error


def _same_kind(name: str, message: str) -> Exception:
    """An error of the built-in or minifw class called ``name`` (else RuntimeError), so that
    every rank's ``except ValueError`` catches what the failed rank raised."""
    found = getattr(errors, name, None) or getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, Exception):
        try:
            return found(message)
        except TypeError:  # a class that takes other arguments
            pass
    return RuntimeError(message)
