"""numba implementations of the library functions minifw's formulas call on numbers.

The formulas (activations, losses) call ``scipy.special.expit``, ``log_expit``
and ``erf`` on numbers, and the row reductions of ``minifw.functional`` on
batches; numba knows none of them, so they are given here: the special
functions for single floats in their standard stable forms, the reductions for
2-D arrays as loops (``tests/test_jit.py`` checks them against scipy and
NumPy). ``softmax_parts`` itself is written in the subset numba compiles: it is
registered as its own implementation. ``product`` multiplies matrices through
NumPy's own BLAS (``blas.gemm``). Importing this module registers them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload
from scipy import special

from .. import functional
from .blas import NO_TRANS, ROW_MAJOR, TRANS


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


def product(gemm, a, b, out) -> None:
    """out = a @ b, for 2-D ``a`` and ``b`` each C- or F-ordered (a transposed view) and a
    C-ordered ``out``: by ``gemm`` (``blas.gemm``'s function), or ``np.dot`` when it is None."""
    np.matmul(a, b, out=out)


@overload(product)
def _product(gemm, a, b, out):
    if isinstance(gemm, types.NoneType):

        def by_numba(gemm, a, b, out):
            np.dot(a, b, out)

        return by_numba

    def by_gemm(gemm, a, b, out):
        m, k = a.shape
        n = b.shape[1]
        if not (a.flags.c_contiguous or a.flags.f_contiguous) or not (
            b.flags.c_contiguous or b.flags.f_contiguous
        ):
            np.dot(a, b, out)
            return
        # an F-ordered (m, k) array is a C-ordered (k, m) one read transposed
        op_a, lda = (NO_TRANS, k) if a.flags.c_contiguous else (TRANS, m)
        op_b, ldb = (NO_TRANS, n) if b.flags.c_contiguous else (TRANS, k)
        gemm(ROW_MAJOR, op_a, op_b, m, n, k, 1.0, a.ctypes.data, max(lda, 1),
             b.ctypes.data, max(ldb, 1), 0.0, out.ctypes.data, max(n, 1))  # fmt: skip

    return by_gemm
