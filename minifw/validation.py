"""Checks for user input, shared by every public entry point.

Each check either returns a clean value or raises ``ValueError``/``TypeError``
with a message that names the argument, what was expected, what was received
and, where it is obvious, the fix. Checks never modify the caller's data.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike

FLOAT_DTYPES = ("float32", "float64")

# Rows checked per slice when scanning for NaN/inf, so the check never
# allocates a mask the size of the whole data set.
_FINITE_CHUNK_ROWS = 4096


def positive_int(value: object, name: str, owner: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int if it is a whole number > 0 (or >= 0)."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int or value < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{owner}: `{name}` must be a {kind} integer. Received: {name}={value!r}")
    return int(value)


def positive_float(value: object, name: str, owner: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number > 0 (or >= 0)."""
    is_real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_real or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"{owner}: `{name}` must be a {kind} finite number. Received: {name}={value!r}"
        )
    return float(value)


def unit_fraction(value: object, name: str, owner: str) -> float:
    """Return ``value`` as a float if it is a number in [0, 1) (a decay rate, a momentum)."""
    is_real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_real or not 0 <= value < 1:
        raise ValueError(f"{owner}: `{name}` must be in [0, 1). Received: {name}={value!r}")
    return float(value)


def float_dtype(dtype: object) -> np.dtype:
    """The model dtype: float32 or float64, given by name or as a NumPy dtype."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in FLOAT_DTYPES:
        raise ValueError(f"`dtype` must be 'float32' or 'float64'. Received: dtype={dtype!r}")
    return resolved


def as_numeric_array(data: ArrayLike, name: str) -> np.ndarray:
    """``np.asarray`` for user data: numbers only (bool, int, float), at least one value.

    Lists, object arrays of numbers and pandas DataFrames (anything with
    ``to_numpy``) are accepted. Floating arrays come back without a copy.
    """
    refuse_sparse(data, name)
    if hasattr(data, "to_numpy") and not isinstance(data, np.ndarray):
        data = data.to_numpy()
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as error:
        raise ValueError(f"`{name}` must be a rectangular array of numbers: {error}") from None
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (ValueError, TypeError):
            raise TypeError(
                f"`{name}` must hold numbers only; its object array holds a value that is "
                "not a number."
            ) from None
    if array.dtype.kind not in "biuf":
        what = {"U": "strings", "S": "bytes", "c": "complex numbers"}.get(
            array.dtype.kind, f"values of dtype {array.dtype}"
        )
        raise TypeError(
            f"`{name}` must hold real numbers (bool, int or float); got {what} "
            f"(dtype {array.dtype})."
        )
    return array


def refuse_sparse(data: object, name: str) -> None:
    """Raise TypeError for a scipy.sparse matrix or array: minifw computes on dense arrays."""
    if scipy.sparse.issparse(data):
        raise TypeError(
            f"`{name}` is a scipy.sparse {type(data).__name__} of shape {data.shape}; minifw "
            f"computes on dense arrays. Convert it with {name}.toarray() (it needs "
            f"{data.shape[0]}×{data.shape[1]} values in memory)."
        )


def check_fits_dtype(array: np.ndarray, dtype: np.dtype, name: str) -> None:
    """Raise ValueError if ``array`` holds values too large for ``dtype`` (they would become
    inf when cast, e.g. 1e39 for float32, and training would diverge for no visible reason)."""
    if array.size == 0 or array.dtype.kind != "f" or array.itemsize <= dtype.itemsize:
        return  # integers and narrower floats always fit
    limit = float(np.finfo(dtype).max)
    largest = max(abs(float(array.min())), abs(float(array.max())))
    if largest > limit:
        raise ValueError(
            f"`{name}` holds values up to {largest:g}, too large for the model's dtype "
            f"{dtype.name} (largest {limit:g}). Rescale the data (e.g. standardize it) or "
            "build the model with dtype='float64'."
        )


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ValueError if ``array`` holds NaN or inf, naming the first bad row.

    Fast path: the row sums, as one BLAS matrix-vector product, are all finite
    only if every entry is (a NaN or inf propagates into its row's sum). Only
    when a sum is not finite (a bad entry, or finite entries whose sum
    overflows) are the rows checked entry by entry.
    """
    if array.dtype.kind != "f" or array.size == 0:
        return
    rows = array.reshape(len(array), -1) if array.ndim > 1 else array.reshape(-1, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        row_sums = rows.dot(np.ones(rows.shape[1], dtype=rows.dtype))
    if np.isfinite(row_sums).all():
        return
    for start in range(0, len(rows), _FINITE_CHUNK_ROWS):
        chunk = rows[start : start + _FINITE_CHUNK_ROWS]
        finite = np.isfinite(chunk)
        if not finite.all():
            row = start + int(np.argmin(finite.all(axis=1)))
            raise ValueError(
                f"`{name}` contains NaN or infinity (first at row {row}). "
                "Remove or impute those values before training."
            )


def as_features(X: ArrayLike, name: str = "X") -> np.ndarray:
    """Samples along axis 0, features after: at least 2-D, non-empty, finite numbers."""
    array = as_numeric_array(X, name)
    if array.ndim < 2:
        if array.ndim == 0:
            hint = f"wrap it: {name} = [[value]]"
        else:
            hint = (
                f"use {name}.reshape(-1, 1) if it holds one feature, "
                f"or {name}.reshape(1, -1) if it is one sample"
            )
        raise ValueError(
            f"`{name}` must be a 2-D array of shape (samples, features). "
            f"Received shape {array.shape}: {hint}."
        )
    if array.shape[0] == 0:
        raise ValueError(f"`{name}` has 0 samples (shape {array.shape}); at least 1 is needed.")
    if 0 in array.shape[1:]:
        raise ValueError(f"`{name}` has 0 features (shape {array.shape}); at least 1 is needed.")
    check_finite(array, name)
    return array


def as_targets(y: ArrayLike, n_samples: int, name: str = "y") -> np.ndarray:
    """Targets with one entry per sample: shape (n,) or (n, k), or (n, T, k) for sequence
    outputs; finite numbers."""
    array = as_numeric_array(y, name)
    if array.ndim == 0 or array.ndim > 3:
        raise ValueError(
            f"`{name}` must have shape (samples,) or (samples, outputs), or (samples, "
            f"timesteps, outputs) for sequence outputs. Received shape {array.shape}."
        )
    if len(array) != n_samples:
        raise ValueError(
            f"X and `{name}` must have the same number of samples. "
            f"Received {n_samples} and {len(array)}."
        )
    check_finite(array, name)
    return array


def column_names(X: object) -> tuple[str, ...] | None:
    """A DataFrame's column names (as scikit-learn's ``feature_names_in_``), or None for
    data without named columns."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    return tuple(str(column) for column in columns)


def check_column_names(seen: tuple[str, ...] | None, X: object, name: str = "X") -> None:
    """Raise ValueError if ``X`` is a DataFrame whose columns are not those the model was
    fitted on, in the same order; plain arrays (and unnamed fits) pass."""
    given = column_names(X)
    if seen is None or given is None or given == seen:
        return
    if sorted(given) == sorted(seen):
        problem = "the same columns in another order"
        fix = f"select them in the fitted order: {name}[model.feature_names_in_]"
    else:
        missing = [column for column in seen if column not in given]
        extra = [column for column in given if column not in seen]
        problem = "; ".join(
            text
            for text in (
                f"columns missing: {missing}" if missing else "",
                f"columns not seen in fit: {extra}" if extra else "",
                "a column given twice" if not missing and not extra else "",
            )
            if text
        )
        fix = "give the columns the model was fitted on"
    raise ValueError(
        f"`{name}` has {problem}. The model was fitted on the columns {list(seen)}: {fix}, "
        "or pass a plain array."
    )


def fits_shape(shape: tuple, expected: tuple) -> bool:
    """Whether an array of ``shape`` fits ``expected`` past the batch axis (None: any)."""
    return len(shape) == len(expected) and all(
        want is None or got == want for got, want in zip(shape[1:], expected[1:])
    )


def check_input_shape(X: np.ndarray, input_shape: tuple) -> None:
    """Raise ValueError unless X has the model's number of axes and feature shape."""
    expected = ("n",) + tuple(input_shape[1:])
    shape_text = f"({', '.join(map(str, expected))})"
    if X.ndim != len(expected):
        hint = (
            " Flatten it, e.g. X.reshape(len(X), -1), or put a Flatten layer first."
            if len(expected) == 2 and math.prod(X.shape[1:]) == expected[1]
            else ""
        )
        raise ValueError(
            f"The model expects a {len(expected)}-D array X of shape {shape_text}; "
            f"received a {X.ndim}-D array of shape {X.shape}.{hint}"
        )
    if not fits_shape(X.shape, input_shape):
        if len(expected) == 4 and X.shape[1:] == (input_shape[3], *input_shape[1:3]):
            hint = (
                f" The images look channels-first (channels on axis 1: {X.shape[1]}); minifw "
                "is channels-last, as Keras: X.transpose(0, 2, 3, 1)."
            )
        elif None not in input_shape[1:] and math.prod(X.shape[1:]) == math.prod(input_shape[1:]):
            target = "-1" if len(expected) == 2 else ", ".join(map(str, input_shape[1:]))
            hint = f" Reshape it, e.g. X.reshape(len(X), {target})."
        else:
            hint = ""
        raise ValueError(f"The model expects X of shape {shape_text}, got {X.shape}.{hint}")


def warn_if_channels_first(input_shape: tuple) -> None:
    """Warn when an image input shape (None, H, W, C) looks channels-first: H is 1, 3 or 4
    (the usual channel counts) while W and C are both image-sized, e.g. (None, 3, 16, 16)."""
    if len(input_shape) != 4:
        return
    height, width, channels = input_shape[1:]
    if height in (1, 3, 4) and width is not None and channels is not None:
        if width >= 8 and channels >= 8:
            warnings.warn(
                f"The input shape {tuple(input_shape[1:])} looks channels-first ({height} "
                f"channels of {width}×{channels} pixels); minifw is channels-last, as Keras: "
                "(H, W, C). Give input_shape=(H, W, C) and the data as "
                "X.transpose(0, 2, 3, 1).",
                UserWarning,
                stacklevel=4,
            )
