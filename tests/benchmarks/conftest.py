"""Benchmarks are measurements, not tests: collected only with ``--benchmark-enable``."""

from __future__ import annotations

import pytest


def pytest_ignore_collect(collection_path, config):
    """Skip collecting ``test_*.py`` here unless benchmarks are enabled."""
    if collection_path.name.startswith("test_") and not config.getoption("benchmark_enable"):
        return True
    return None


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Benchmarks time the machine as configured: keep torch's own thread count (overrides the
    suite-wide single-thread fixture in tests/conftest.py)."""
    yield
