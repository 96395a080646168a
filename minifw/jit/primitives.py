"""numba implementations of the library functions minifw's formulas call on numbers.

The formulas (activations, losses) call ``scipy.special.expit``, ``log_expit``
and ``erf``; numba knows none of them, so they are given here for single
floats, in their standard stable forms (``tests/test_jit.py`` checks them
against scipy). Importing this module registers them.
"""

from __future__ import annotations

import math

from numba import types
from numba.extending import overload
from scipy import special


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
