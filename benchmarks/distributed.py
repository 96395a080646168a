"""W3 data-parallel: one epoch on N ranks against one process, and the allreduce's share.

    mpiexec -n 2 python -m benchmarks.distributed      # 2 ranks × 1 BLAS thread
    python -m benchmarks.distributed                   # 1 process × 2 BLAS threads

Prints the median epoch time over ``--repeats`` epochs and the time spent in the
gradient allreduce (rank 0's view).
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks import workloads
from benchmarks.workloads import W3
from minifw.distributed import DataParallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y = workloads.make_data(W3)
    model = workloads.minifw_model(W3)
    distribute = DataParallel()
    model.compile(model.optimizer, model.loss, distribute=distribute)
    reduce, spent = distribute.reduce, [0.0]

    def timed_reduce(grads, loss):
        start = time.perf_counter()
        result = reduce(grads, loss)
        spent[0] += time.perf_counter() - start
        return result

    distribute.reduce = timed_reduce
    model.fit(X[:1024], y[:1024], epochs=1, batch_size=W3.batch, verbose=0)  # warm up
    times, shares = [], []
    for _ in range(args.repeats):
        spent[0] = 0.0
        start = time.perf_counter()
        model.fit(X, y, epochs=1, batch_size=W3.batch, verbose=0)
        times.append(time.perf_counter() - start)
        shares.append(spent[0] / times[-1])
    if distribute.is_chief:
        print(
            f"W3, {distribute.size} rank(s): {statistics.median(times):.3f} s/epoch "
            f"({min(times):.3f}–{max(times):.3f}), allreduce {statistics.median(shares):.1%} "
            "of the epoch"
        )


if __name__ == "__main__":
    main()
