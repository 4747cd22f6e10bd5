"""Suite-wide test settings: one intra-op torch thread.

The tests use small models and batches where intra-op parallelism buys little, and on a shared
2-core machine (CI's size) OpenMP threads contending with other processes made them 10–50×
slower (measured while writing them: tests/core 28 s with one thread vs 340 s with two under load).
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
