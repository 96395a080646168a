"""Doctest collection of the package: modules of optional extras are skipped without them."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("numba") else ["jit/primitives.py"]
