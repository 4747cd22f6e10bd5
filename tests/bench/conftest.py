"""One intra-op thread for the bench tests: on a shared 2-core CI machine, OpenMP's multi-thread
barriers turn oversubscription into 10-50× slowdowns; single-threaded runs degrade gracefully."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
