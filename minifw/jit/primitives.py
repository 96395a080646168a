"""numba implementations of the library functions minifw's formulas call on numbers.

The formulas (activations, losses) call ``scipy.special.expit``, ``log_expit``
and ``erf`` on numbers, and the row reductions of ``minifw.functional`` on
batches; numba knows none of them, so they are given here: the special
functions for single floats in their standard stable forms, the reductions for
2-D arrays as loops (``tests/test_jit.py`` checks them against scipy and
NumPy). ``softmax_parts`` itself is written in the subset numba compiles: it is
registered as its own implementation. Importing this module registers them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload
from scipy import special

from .. import functional


@overload(special.expit)
def expit(x):
    """σ(x) = 1 / (1 + e^(−x)), without overflow for either sign."""
    if isinstance(x, types.Float):

        def sigma(x):
            if x >= 0:
                return 1.0 / (1.0 + math.exp(-x))
            e = math.exp(x)
            return e / (1.0 + e)

        return sigma
    return None


@overload(special.log_expit)
def log_expit(x):
    """log σ(x) = −log(1 + e^(−x)), without overflow for either sign."""
    if isinstance(x, types.Float):

        def log_sigma(x):
            if x >= 0:
                return -math.log1p(math.exp(-x))
            return x - math.log1p(math.exp(x))

        return log_sigma
    return None


@overload(special.erf)
def erf(x):
    """The error function, ``math.erf``."""
    if isinstance(x, types.Float):
        return lambda x: math.erf(x)
    return None


def _row_reduction(function, reduce) -> None:
    """Register a numba form of ``function`` (a row reduction of ``minifw.functional``, each
    row's ``reduce`` as a column) for 2-D arrays: a loop over the rows."""

    @overload(function)
    def typed(z):
        if isinstance(z, types.Array) and z.ndim == 2:

            def by_rows(z):
                out = np.empty((z.shape[0], 1), dtype=z.dtype)
                for i in range(z.shape[0]):
                    out[i, 0] = reduce(z[i])
                return out

            return by_rows
        return None


_row_reduction(functional.row_max, np.max)
_row_reduction(functional.row_sum, np.sum)


@overload(functional.softmax_parts, strict=False)
def softmax_parts(z):
    """The NumPy function itself, compiled as written."""
    return functional.softmax_parts
