"""minifw's benchmark workloads: pytest-benchmark files and ``python -m benchmarks.compare``."""
