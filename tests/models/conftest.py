"""Shared settings for the lit-models tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_cpu_thread():
    """Run each model test on one intra-op thread: on a shared 2-core machine, OpenMP threads
    that spin against other processes make the big models 10-30x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
