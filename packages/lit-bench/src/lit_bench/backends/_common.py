"""Small helpers shared by the backend modules."""

from __future__ import annotations

import torch


def cuda_available() -> str | None:
    """None if a CUDA device is usable, else why not."""
    return None if torch.cuda.is_available() else "needs a CUDA GPU (none visible)"


def channels_last_for(x: torch.Tensor) -> bool:
    """Half-precision runs on a GPU use channels_last (NHWC is what tensor-core convs want)."""
    return x.is_cuda and x.dtype in (torch.float16, torch.bfloat16) and x.dim() == 4
