"""BLAS threads while training: one thread when a step's matrix products are small.

On a quiet 2-core machine a second OpenBLAS thread speeds up a product of a
million multiply-adds or more by about 1.7×; below about 250 000 OpenBLAS uses
one thread anyway. But when another process holds a core, a product that waits
for its second thread can take milliseconds instead of microseconds (measured
here: a 64×128 @ 128×128 product, 19 µs on one thread, took up to 16 ms with
two; see docs/engines.md). A training step is many small products in a row, so
for small networks one thread is both faster on average and steady.

``for_training(layers, batch_size)`` limits the BLAS libraries to one thread
(with ``threadpoolctl``) for the duration of a fit whose largest product per
step, batch × positions × the kernel's entries, is at most ``SMALL_PRODUCT``
multiply-adds, and restores their settings afterwards; larger steps keep every
thread.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

from ..layers.base import Layer

__all__ = ["SMALL_PRODUCT", "largest_product", "for_training"]

#: The largest per-step product (multiply-adds) trained on one BLAS thread: 64 × 128 × 128.
SMALL_PRODUCT = 1 << 20

_controller = None  # threadpoolctl's view of the loaded BLAS libraries, found once


def largest_product(layers: Sequence[Layer], batch_size: int) -> int:
    """Multiply-adds of the largest matrix product in one training step: for each layer
    with a kernel W, batch_size × its output positions (1 for Dense, H·W for Conv2D)
    × W's entries."""
    largest = 0
    for layer in layers:
        kernel = layer.params.get("W") if layer.params else None
        if kernel is None or layer.output_shape is None:
            continue
        positions = math.prod(dim or 1 for dim in layer.output_shape[1:-1])
        largest = max(largest, batch_size * positions * kernel.size)
    return largest


@contextlib.contextmanager
def for_training(layers: Sequence[Layer], batch_size: int) -> Iterator[None]:
    """One BLAS thread inside the block when the step's products are small (see above)."""
    global _controller
    if largest_product(layers, batch_size) > SMALL_PRODUCT:
        yield
        return
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()  # 1.4 ms to find the libraries: once
    with _controller.limit(limits=1, user_api="blas"):
        yield
