"""The fused extension: each BasicBlock is one ``lit::fused_basic_block`` call (see lit_bench.fuse).

Two backends:
  * ``fused``        — ``fuse_model(model)`` run eagerly (CPU or CUDA); one launch per block.
  * ``fused_graphs`` — the same fused model captured in a CUDA graph and replayed (CUDA only):
                       launch overhead disappears, which is what matters at batch 1.
Both need the native op (``lit_bench.ops.is_available()``; the first call compiles it); without
it they report themselves unavailable rather than time the PyTorch reference. On CUDA they also
need the op's CUDA kernel: a library built without nvcc (no ``CUDA_HOME``) has CPU kernels only,
so the CUDA rows say that instead of failing. Structured-pruned models run (see lit_bench.fuse).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .. import ops
from ..fuse import fuse_model
from . import Backend, RunFn, register_backend
from ._common import cuda_available
from .cuda_graphs import prepare_cuda_graph

__all__ = ["FUSED", "FUSED_GRAPHS", "cuda_kernel_available", "has_kernel_for", "native_available", "prepare_fused", "prepare_fused_graphs"]

_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _always_none() -> str | None:
    return None


def native_available() -> str | None:
    """None if the compiled lit op loaded, else why not."""
    if ops.is_available():
        return None
    return "the native lit op is not built (LIT_DISABLE_EXT=1 or the build failed; see its warning)"


def has_kernel_for(device: str) -> bool:
    """Whether ``lit::fused_basic_block`` has a kernel registered for ``device`` ("cpu"/"cuda")."""
    key = {"cpu": "CPU", "cuda": "CUDA"}[device]
    return torch._C._dispatch_has_kernel_for_dispatch_key("lit::fused_basic_block", key)


def cuda_kernel_available() -> str | None:
    """None if a CUDA GPU is visible and the loaded op has a CUDA kernel, else why not."""
    why = cuda_available() or native_available()
    if why is None and not has_kernel_for("cuda"):
        why = (
            "the native lit op was built without its CUDA kernel (CPU only: nvcc not found or "
            "LIT_EXT_CUDA=0); set CUDA_HOME to a CUDA toolkit and rebuild (python -m lit_bench._extension)"
        )
    return why


def _available(device: str) -> str | None:
    return cuda_kernel_available() if device == "cuda" else native_available()


def _fused_on(model: nn.Module, example: torch.Tensor) -> nn.Module:
    return fuse_model(model, example)


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


class _FusedBackend(Backend):
    """``fused``: availability depends on the device asked for (CUDA needs the CUDA kernel)."""

    def supports(self, device: str, dtype: torch.dtype) -> str | None:
        return super().supports(device, dtype) or (_available(device) if device in self.devices else None)


FUSED = register_backend(
    _FusedBackend(
        name="fused",
        devices=("cpu", "cuda"),
        dtypes=_DTYPES,
        folds_bn=True,
        prepare=prepare_fused,
        available=_always_none,
        shape_agnostic=True,
    )
)

FUSED_GRAPHS = register_backend(
    Backend(
        name="fused_graphs",
        devices=("cuda",),
        dtypes=_DTYPES,
        folds_bn=True,
        prepare=prepare_fused_graphs,
        available=cuda_kernel_available,
    )
)
