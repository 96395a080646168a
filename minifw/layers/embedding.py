"""Embedding: integer ids (n, T) → their vectors (n, T, output_dim), a row gather."""

from __future__ import annotations

import numpy as np

from .. import initializers
from ..validation import positive_int
from .base import LOCAL, BatchContext, Layer, Step, Weight, register

__all__ = ["Embedding"]


@register()
class Embedding(Layer):
    """o[s, t] = E[id[s, t]]: row id of the table E (input_dim, output_dim), ``params``
    ``"embeddings"`` (Keras's name).

    Backward: ∂L/∂E[k] = Σ over the positions holding id k of ∂L/∂o there — the rows of
    repeated ids added, by sorting the ids and summing each run (``np.add.reduceat``, not
    the 8–12× slower ``np.add.at``); only the rows used are written (and the rows the
    previous batch used set back to 0). Ids are not differentiable: ∂L/∂id is 0.

    An id outside [0, input_dim) or a value that is not a whole number is refused,
    naming it. Ids may come as integers or as whole floats (a model converts its input
    to its dtype).

    Parameters
    ----------
    input_dim : int
        The vocabulary's size: ids run from 0 to input_dim − 1.
    output_dim : int
        The length of each vector.
    embeddings_initializer : str or Initializer
        How E starts: ``"uniform"`` is U(−0.05, 0.05), as in Keras.
    mask_zero : bool
        Id 0 is padding: the output's mask (``output_mask``, the ids that are not 0) tells
        the recurrent layers after it to skip those steps, carrying their state and
        output over (Keras's ``mask_zero``). The vectors of id 0 are still computed and
        trained like any other (losses see every step).
    input_length : int, optional
        The sequences' length T, for the first layer of a model (Keras's name;
        ``input_shape=(T,)`` is the same).
    """

    #: Its inputs are ids: no ∂L/∂input to check, and ``example_input`` draws ids.
    differentiable_input = False
    any_length = True

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        *,
        embeddings_initializer="uniform",
        mask_zero: bool = False,
        input_length: int | None = None,
        input_shape: tuple | None = None,
        name: str | None = None,
    ) -> None:
        if input_length is not None:
            length = positive_int(input_length, "input_length", "Embedding")
            if input_shape is not None and tuple(input_shape) != (length,):
                raise ValueError("Embedding: `input_length` and `input_shape` disagree.")
            input_shape = (length,)
        super().__init__(name=name, input_shape=input_shape)
        self.input_dim = positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = positive_int(output_dim, "output_dim", "Embedding")
        if not isinstance(mask_zero, bool):
            raise TypeError(
                f"Embedding: `mask_zero` must be True or False. Received: {mask_zero!r}"
            )
        self.mask_zero = mask_zero
        initializer = "random_uniform" if embeddings_initializer == "uniform" else (
            embeddings_initializer
        )
        self.embeddings_initializer = initializers.get(initializer)
        self._used: np.ndarray | None = None  # the rows the last backward wrote

    def weights(self, input_shape):
        return {
            "embeddings": Weight((self.input_dim, self.output_dim), self.embeddings_initializer)
        }

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def example_input(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        """Ids in [0, input_dim), as a test of the layer feeds it."""
        return rng.integers(0, self.input_dim, size=shape).astype(np.float64)

    def check_values(self, x):
        """Every id whole and in range (ValueError naming the first that is not)."""
        self.ids(x)

    @property
    def makes_mask(self) -> bool:
        return self.mask_zero

    def forward(self, x, training=False):
        """o = E[ids], after checking that every id is a whole number in range; with
        ``mask_zero``, ``output_mask`` = (ids ≠ 0)."""
        self._ids = self.ids(x)
        self.output_mask = self._ids != 0 if self.mask_zero else None
        return self.params["embeddings"][self._ids]

    def ids(self, x: np.ndarray) -> np.ndarray:
        """``x`` as integer ids, or ValueError naming the first bad one."""
        if x.dtype.kind in "iub":
            ids = x.astype(np.intp, copy=False)
        else:
            with np.errstate(invalid="ignore"):  # NaN, inf, huge: refused just below
                ids = x.astype(np.intp)
            fractional = ids != x
            if fractional.any():
                raise ValueError(
                    f"Embedding expects integer ids; received {x[fractional].flat[0]!r} "
                    f"(at {tuple(int(i) for i in np.argwhere(fractional)[0])})."
                )
        outside = (ids < 0) | (ids >= self.input_dim)
        if outside.any():
            raise ValueError(
                f"Embedding(input_dim={self.input_dim}) takes ids in [0, {self.input_dim}); "
                f"received {x[outside].flat[0]!r} "
                f"(at {tuple(int(i) for i in np.argwhere(outside)[0])})."
            )
        return ids

    def backward(self, grad_output):
        """∂L/∂E by sort-and-reduce over the ids; ∂L/∂ids = 0."""
        grad = self.grads["embeddings"]
        if self._used is not None:
            grad[self._used] = 0
        flat = self._ids.reshape(-1)
        if not flat.size:  # a batch of no rows (a data-parallel rank's share)
            self._used = None
            return np.zeros(self._ids.shape, dtype=grad_output.dtype)
        order = np.argsort(flat, kind="stable")
        ordered = flat[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        rows = grad_output.reshape(-1, self.output_dim)[order]
        self._used = ordered[starts]
        grad[self._used] = np.add.reduceat(rows, starts, axis=0)
        return np.zeros(self._ids.shape, dtype=grad_output.dtype)

    def steps(self, context: BatchContext = LOCAL) -> list[Step]:
        """Forward and backward; where the gradient vector is summed over processes
        (``context.summed_gradients``), the rows other processes used land in this one's
        table too, so each backward clears the whole table before writing its rows."""
        [step] = super().steps(context)
        if not context.summed_gradients:
            return [step]

        def backward(grad_output, rows_only=step.backward):
            self.grads["embeddings"][...] = 0
            self._used = None
            return rows_only(grad_output)

        return [Step(self, step.forward, backward)]

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "mask_zero": self.mask_zero,
        }
