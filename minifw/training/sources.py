"""Where batches come from: the one rule for what counts as a batch source, and the two
kinds of source an epoch loop draws from.

- ``ArrayBatches``: arrays in memory; each epoch draws one permutation of the rows
  (or keeps their order) and gathers each batch by index, so nothing copies the
  whole data set. The last batch holds the remaining n mod batch_size rows.
- ``StreamBatches``: an iterable of ``(X_batch, y_batch[, w_batch])`` (a generator,
  a loader: data larger than memory), each batch checked as it arrives.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..validation import refuse_sparse

#: (x, y, sample weights or None, the batch's weight: its rows or Σ sample weights)
Batch = tuple[np.ndarray, np.ndarray, np.ndarray | None, float]

# Batches an unshuffled source keeps as views across epochs (a few hundred kB at most).
_MAX_KEPT_BATCHES = 4096


def is_batch_source(X: object) -> bool:
    """An iterator or iterable of batches, as opposed to array-like data (arrays, lists,
    tuples, anything with ``__array__`` or ``to_numpy``). A scipy.sparse matrix is
    neither: it is refused with a TypeError naming ``.toarray()``."""
    refuse_sparse(X, "X")
    return isinstance(X, Iterator) or (
        isinstance(X, Iterable)
        and not isinstance(X, (np.ndarray, list, tuple, str, bytes))
        and not hasattr(X, "__array__")
        and not hasattr(X, "to_numpy")
    )


def batch_rows(n: int, batch_size: int, order: np.ndarray | None = None) -> Iterator:
    """The rows of each batch: ``slice``s in data order, or chunks of ``order``."""
    for start in range(0, n, batch_size):
        stop = start + batch_size
        yield slice(start, stop) if order is None else order[start:stop]


def n_batches(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


class ArrayBatches:
    """Batches (x, y, w, weight) of arrays, rows gathered by index; x cast to ``dtype`` batch
    by batch.

    ``rng`` draws the permutation of each epoch when ``shuffle`` is true.
    """

    def __init__(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        weights: np.ndarray | None,
        batch_size: int,
        *,
        shuffle: bool = False,
        rng: np.random.Generator | None = None,
        dtype: np.dtype | None = None,
    ) -> None:
        self.X, self.Y, self.weights = X, Y, weights
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, rng
        self.dtype = X.dtype if dtype is None else np.dtype(dtype)
        self.steps = n_batches(len(X), batch_size)
        # Without shuffling or casting, every epoch takes the same views: make them once
        # (for up to _MAX_KEPT_BATCHES batches, so that the views cost little memory).
        self._kept = None
        if not shuffle and X.dtype == self.dtype and self.steps <= _MAX_KEPT_BATCHES:
            self._kept = list(self._gather(batch_rows(len(X), batch_size)))

    def __iter__(self) -> Iterator[Batch]:
        if self._kept is not None:
            return iter(self._kept)
        order = self.rng.permutation(len(self.X)) if self.shuffle else None
        return self._gather(batch_rows(len(self.X), self.batch_size, order))

    def _gather(self, parts: Iterable) -> Iterator[Batch]:
        X, Y, weights, dtype = self.X, self.Y, self.weights, self.dtype
        cast = X.dtype != dtype
        for rows in parts:
            x = X[rows].astype(dtype) if cast else X[rows]
            if weights is None:
                yield x, Y[rows], None, len(x)
            else:
                yield x, Y[rows], weights[rows], float(weights[rows].sum())


class StreamBatches:
    """Batches from an iterable, each checked by ``prepare(item, index)`` → (x, y, w, weight).

    With ``steps_per_epoch`` an epoch is that many batches drawn from one iterator
    kept across epochs (for endless generators); without it, each epoch iterates
    the source afresh.
    """

    def __init__(
        self, source: Iterable, prepare: Callable[[object, int], Batch], steps_per_epoch=None
    ) -> None:
        refuse_sparse(source, "X")
        if isinstance(source, np.ndarray) or not isinstance(source, Iterable):
            raise TypeError(
                "Without y, X must be an iterable of (X_batch, y_batch) batches, such as a "
                f"generator. Received {type(source).__name__}; for arrays give y as well."
            )
        self.source, self.prepare, self.steps_per_epoch = source, prepare, steps_per_epoch
        self._iterator = iter(source) if steps_per_epoch else None
        self.steps = steps_per_epoch or (len(source) if hasattr(source, "__len__") else None)
        self._first: tuple | None = None

    def prime(self) -> None:
        """Check the first batch now (a model builds itself from it); it is still the first
        batch the next epoch gives."""
        items = self._iterator if self._iterator is not None else iter(self.source)
        item = next(items, None)
        if item is not None:
            self._first = (self.prepare(item, 0), items)

    @property
    def first(self) -> Batch | None:
        """The first batch, checked, once ``prime`` has drawn it (else None)."""
        return None if self._first is None else self._first[0]

    def __iter__(self) -> Iterator[Batch]:
        start = 0
        if self._first is not None:
            (first, items), self._first = self._first, None
            yield first
            start = 1
        elif self._iterator is not None:
            items = self._iterator
        else:
            items = iter(self.source)
        if self.steps_per_epoch:
            items = itertools.islice(items, self.steps_per_epoch - start)
        for index, item in enumerate(items, start):
            yield self.prepare(item, index)


def unpack_batch(item: object, index: int) -> tuple:
    """(X_batch, y_batch, w_batch or None) from one item of a batch source."""
    if not isinstance(item, tuple) or len(item) not in (2, 3):
        raise ValueError(
            f"Batch {index} of the source is not a tuple (X_batch, y_batch) or "
            f"(X_batch, y_batch, w_batch). Received {type(item).__name__}."
        )
    return item if len(item) == 3 else (*item, None)
