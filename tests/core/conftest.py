"""Shared setup for tests/core: one intra-op thread per test.

The tests use tiny models (8x8 inputs, batches of 8) where intra-op parallelism buys nothing,
and on a shared 2-core machine OpenMP threads contending with other processes made these tests
over 10x slower (measured: 28 s with one thread vs 340 s with two under load).
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
