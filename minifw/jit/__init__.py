"""The compiled training engine (``compile(..., jit_compile=True)``): numba, optional.

``pip install minifw[fast]`` adds numba. The engine runs ``steps_per_execution``
training steps (or a whole epoch) per call of one compiled function, with no
Python between the steps. It computes nothing of its own: the function is
generated from the model's steps and calls the formulas the NumPy engine runs,
compiled by numba — each activation's ``function`` and ``slope``, the loss's
``entry``, the optimizer's ``rule`` and ``clip`` — so a formula still has one
home. The compiled functions are cached on disk (``cache_directory()``).

- ``primitives``: numba implementations of the few library functions those
  formulas call (``scipy.special.expit``, ``log_expit``, ``erf``);
- ``codegen``: the source of the compiled steps of one model layout;
- ``engine``: ``CompiledSteps``, the Python side (batches, Dropout masks, learning
  rates, the finite guard's restore).
"""

from __future__ import annotations

import importlib.util

__all__ = ["available", "require"]

EXTRA = "minifw[fast]"


def available() -> bool:
    """Whether numba can be imported."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        return False


def require() -> None:
    """Import numba, or raise ImportError naming the extra that installs it."""
    try:
        import numba  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "jit_compile=True needs numba, which the optional extra installs: "
            f"pip install '{EXTRA}' (or jit_compile='auto' to fall back to the NumPy "
            "engine without it)."
        ) from error
