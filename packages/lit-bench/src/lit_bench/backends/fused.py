"""The fused extension: each BasicBlock is one ``lit::fused_basic_block`` call (see lit_bench.fuse).

Two backends:
  * ``fused``        — ``fuse_model(model)`` run eagerly (CPU or CUDA); one launch per block.
  * ``fused_graphs`` — the same fused model captured in a CUDA graph and replayed (CUDA only):
                       launch overhead disappears, which is what matters at batch 1.
Both need the native op (``lit_bench.ops.is_available()``; the first call compiles it); without
it they report themselves unavailable rather than time the PyTorch reference.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .. import ops
from ..fuse import fuse_model
from . import Backend, RunFn, register_backend
from ._common import cuda_available
from .cuda_graphs import prepare_cuda_graph

_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def native_available() -> str | None:
    """None if the compiled lit op loaded, else why not."""
    if ops.is_available():
        return None
    return "the native lit op is not built (LIT_DISABLE_EXT=1 or the build failed; see its warning)"


def _fused_on(model: nn.Module, example: torch.Tensor) -> nn.Module:
    return fuse_model(model).to(device=example.device, dtype=example.dtype).eval()


def prepare_fused(model: nn.Module, example: torch.Tensor) -> RunFn:
    """``fuse_model`` on the example's device and dtype, called directly."""
    fused = _fused_on(model, example)

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return fused(x)

    return run


def prepare_fused_graphs(model: nn.Module, example: torch.Tensor) -> RunFn:
    """``fuse_model`` captured once in a CUDA graph for the example's shape, then replayed."""
    return prepare_cuda_graph(_fused_on(model, example), example)


def _graphs_available() -> str | None:
    return cuda_available() or native_available()


FUSED = register_backend(
    Backend(
        name="fused",
        devices=("cpu", "cuda"),
        dtypes=_DTYPES,
        folds_bn=True,
        prepare=prepare_fused,
        available=native_available,
    )
)

FUSED_GRAPHS = register_backend(
    Backend(
        name="fused_graphs",
        devices=("cuda",),
        dtypes=_DTYPES,
        folds_bn=True,
        prepare=prepare_fused_graphs,
        available=_graphs_available,
    )
)
