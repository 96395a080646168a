"""Benchmarks of BENCHMARKS.md: pytest-benchmark files and ``python -m benchmarks.compare``."""
