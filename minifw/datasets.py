"""Small built-in data sets."""

from __future__ import annotations

import numpy as np

__all__ = ["salary", "shapes"]


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


SHAPE_CLASSES = ("square", "disc", "cross", "bar")


def shapes(
    n: int = 600, size: int = 16, *, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Small images of four shape classes, drawn at random places and sizes, with noise.

    Classes (``SHAPE_CLASSES``): 0 a filled square, 1 a filled disc, 2 a cross,
    3 a bar (horizontal or vertical). Needs no download; the same ``seed`` gives the
    same images.

    Returns
    -------
    X : ndarray, shape (n, size, size, 1), float32
        Pixel values about 0 (background) and 1 (shape), plus Gaussian noise.
    y : ndarray, shape (n,), int64
        Class labels 0 … 3, balanced.

    Examples
    --------
    >>> X, y = shapes(8, seed=1)
    >>> X.shape, sorted(set(y.tolist()))
    ((8, 16, 16, 1), [0, 1, 2, 3])
    """
    if size < 8:
        raise ValueError(f"shapes: `size` must be at least 8. Received: size={size!r}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(SHAPE_CLASSES)
    rng.shuffle(y)
    rows, columns = np.mgrid[0:size, 0:size]
    X = np.zeros((n, size, size), np.float32)
    for image, label in zip(X, y):
        radius = rng.uniform(size * 0.15, size * 0.3)
        cy, cx = rng.uniform(radius + 1, size - radius - 1, 2)
        dy, dx = np.abs(rows - cy), np.abs(columns - cx)
        if label == 0:
            image[(dy <= radius) & (dx <= radius)] = 1
        elif label == 1:
            image[dy**2 + dx**2 <= radius**2] = 1
        elif label == 2:
            image[((dy <= radius) & (dx <= 1)) | ((dx <= radius) & (dy <= 1))] = 1
        else:
            along, across = (dy, dx) if rng.random() < 0.5 else (dx, dy)
            image[(along <= radius) & (across <= 1)] = 1
    X += rng.normal(0, noise, X.shape).astype(np.float32)
    return X[..., np.newaxis], y.astype(np.int64)
