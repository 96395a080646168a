"""The matrix product of the BLAS library NumPy itself uses, for the compiled steps.

numba's ``np.dot`` calls the BLAS that SciPy ships, a second OpenBLAS beside
NumPy's with its own pool of threads. The two pools then share the cores: after
NumPy's BLAS has worked (the NumPy engine, ``fit``'s check of X for NaN, the
user's own code), its threads keep spinning for a while, and SciPy's threads
wait for the cores they hold. Measured on W3 (a 2-core machine): one compiled
epoch took 0.37 s alone and 0.43–0.60 s right after a NumPy product, against
0.50 s for the NumPy engine. Calling NumPy's own ``cblas_?gemm`` from the
compiled code keeps one pool, and gives the NumPy engine's products bit for bit.

``gemm(dtype)`` is that function as a ctypes object (numba calls it, and its
cache keeps no address), or None where NumPy's BLAS is not found: the compiled
steps then use ``np.dot``.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np

__all__ = ["ROW_MAJOR", "NO_TRANS", "TRANS", "gemm"]

#: CBLAS's enumerations (cblas.h).
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

#: Names of ?gemm in the BLAS builds NumPy ships, with the width of their integers:
#: OpenBLAS of NumPy's wheels (64-bit integers, symbols prefixed and suffixed), then plain.
_SYMBOLS = (("scipy_cblas_{}gemm64_", ctypes.c_int64), ("cblas_{}gemm64_", ctypes.c_int64))


def gemm(dtype: np.dtype):
    """NumPy's BLAS ``cblas_sgemm`` (float32) or ``cblas_dgemm`` (float64) as a ctypes
    function, C = α op(A) op(B) + β C with CBLAS's arguments; None if not found."""
    letter = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}.get(np.dtype(dtype))
    return None if letter is None else _find(letter)


@functools.cache
def _find(letter: str):
    scalar = ctypes.c_float if letter == "s" else ctypes.c_double
    for path in _numpy_blas_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for pattern, integer in _SYMBOLS:
            function = getattr(library, pattern.format(letter), None)
            if function is None:
                continue
            function.restype = None
            pointer = ctypes.c_void_p
            function.argtypes = [
                ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer,
                scalar, pointer, integer, pointer, integer, scalar, pointer, integer,
            ]  # fmt: skip
            return function
    return None


def _numpy_blas_paths() -> list[str]:
    """The BLAS libraries loaded from NumPy's own folders (its wheels put them in
    ``numpy.libs`` or ``numpy/.dylibs``), as threadpoolctl finds them."""
    from threadpoolctl import ThreadpoolController

    home = Path(np.__file__).resolve().parent
    folders = {home.parent / "numpy.libs", home / ".dylibs"}
    return [
        library.filepath
        for library in ThreadpoolController().select(user_api="blas").lib_controllers
        if Path(library.filepath).resolve().parent in folders
    ]
