"""``torch.compile`` (Inductor): mode "max-autotune" on GPU, the default mode on CPU.

Every model of the zoo shares one ``forward`` code object, and Dynamo caches compiled versions
per code object: each model × dtype × batch adds one, and with ``fullgraph=True`` the 9th
(``torch._dynamo.config.recompile_limit`` = 8) is an error, while the guard checks of a long
cache slow every call. The bench therefore times one model at a time and calls
``torch.compiler.reset()`` between groups (``lit_bench.bench``), so a cache holds at most one
version per dtype. "max-autotune" also turns on Inductor's CUDA graphs; the row's note says so.
"""

from __future__ import annotations

import shutil

import torch
import torch.nn as nn

from . import Backend, RunFn, register_backend
from ._common import channels_last_for

__all__ = ["COMPILE", "GPU_MODE", "compile_mode", "dry_check_compile", "prepare_compiled"]

GPU_MODE = "max-autotune"


def _compiler_available() -> str | None:
    # Inductor generates C++ on CPU and Triton on GPU; on CPU it needs a C++ compiler.
    if shutil.which("g++") or shutil.which("c++") or shutil.which("clang++"):
        return None
    return "torch.compile needs a C++ compiler (g++) for its CPU code; none on PATH"


def compile_mode(example: torch.Tensor) -> str | None:
    """The Inductor mode used for ``example``'s device (None: the default mode)."""
    return GPU_MODE if example.is_cuda else None


def prepare_compiled(model: nn.Module, example: torch.Tensor) -> RunFn:
    """Compile for a static input shape and run once so compilation is not timed."""
    mode = compile_mode(example)
    channels_last = channels_last_for(example)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        example = example.contiguous(memory_format=torch.channels_last)
    compiled = torch.compile(model, mode=mode, dynamic=False, fullgraph=True)
    with torch.inference_mode():
        compiled(example)

    def run(x: torch.Tensor) -> torch.Tensor:
        return compiled(x.contiguous(memory_format=torch.channels_last) if channels_last else x)

    run.info = (f"torch.compile mode={mode} (includes Inductor CUDA graphs)" if mode
                else "torch.compile default mode")
    return run


def dry_check_compile(model: nn.Module, example: torch.Tensor) -> str:
    """Dynamo-trace the model as one graph (fullgraph=True) on CPU: graph breaks show here in seconds."""
    torch.compiler.reset()
    traced = torch.compile(model, backend="eager", dynamic=False, fullgraph=True)
    with torch.inference_mode():
        traced(example.float().cpu())
    torch.compiler.reset()
    return "Dynamo traces it as one graph; Inductor code generation not run here"


COMPILE = register_backend(
    Backend(
        name="compile",
        devices=("cpu", "cuda"),
        dtypes=(torch.float32, torch.bfloat16, torch.float16),
        folds_bn=True,
        prepare=prepare_compiled,
        available=_compiler_available,
        dry_check=dry_check_compile,
    )
)
