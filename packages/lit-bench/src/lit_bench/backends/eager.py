"""PyTorch eager: the model as is (fp32 everywhere; bf16/fp16 with channels_last on GPU).

Two rows per model, for a fair comparison: ``eager`` keeps BatchNorm (the model as trained),
``eager_folded`` runs the BN-folded model every other backend also runs. The speed-up of a
backend over ``eager_folded`` is the backend's own; over ``eager`` it includes folding.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from . import Backend, RunFn, register_backend
from ._common import channels_last_for

__all__ = ["EAGER", "EAGER_FOLDED", "prepare_eager"]


def prepare_eager(model: nn.Module, example: torch.Tensor) -> RunFn:
    """Run the module directly; half types on GPU switch model and input to channels_last (the
    input's conversion is a staged step, timed apart from the call)."""
    if channels_last_for(example):
        model = model.to(memory_format=torch.channels_last)

        def to_nhwc(x: torch.Tensor) -> torch.Tensor:
            return x.contiguous(memory_format=torch.channels_last)

        def run(x: torch.Tensor) -> torch.Tensor:
            return model(to_nhwc(x))

        run.staged = (to_nhwc, model, "NCHW → NHWC input conversion")
        return run
    return model


_DTYPES = (torch.float32, torch.bfloat16, torch.float16)

EAGER = register_backend(
    Backend(name="eager", devices=("cpu", "cuda"), dtypes=_DTYPES, folds_bn=False, prepare=prepare_eager,
            shape_agnostic=True)
)

EAGER_FOLDED = register_backend(
    Backend(name="eager_folded", devices=("cpu", "cuda"), dtypes=_DTYPES, folds_bn=True, prepare=prepare_eager,
            shape_agnostic=True)
)
