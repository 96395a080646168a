"""Small built-in data sets."""

from __future__ import annotations

import numpy as np

__all__ = ["salary"]


def salary() -> tuple[np.ndarray, np.ndarray]:
    """The lecture's table: IQ and GPA of four people, and their Salary.

    Returns
    -------
    X : ndarray, shape (4, 2), float64
        Columns x_i1 = IQ, x_i2 = GPA.
    y : ndarray, shape (4,), float64
        Salary.

    Examples
    --------
    >>> X, y = salary()
    >>> X[0], y[0]
    (array([60. ,  3.5]), np.float64(40.0))
    """
    X = np.array([[60.0, 3.5], [80.0, 4.7], [20.0, 3.0], [90.0, 3.0]])
    y = np.array([40.0, 60.0, 25.0, 50.0])
    return X, y
