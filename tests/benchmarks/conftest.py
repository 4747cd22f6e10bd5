"""Benchmarks are measurements, not tests: collected only with ``--benchmark-enable``."""

from __future__ import annotations


def pytest_ignore_collect(collection_path, config):
    """Skip collecting ``test_*.py`` here unless benchmarks are enabled."""
    if collection_path.name.startswith("test_") and not config.getoption("benchmark_enable"):
        return True
    return None
