"""``torch.compile`` (Inductor): mode "max-autotune" on GPU, the default mode on CPU."""

from __future__ import annotations

import shutil

import torch
import torch.nn as nn

from . import Backend, RunFn, register_backend
from ._common import channels_last_for


def _compiler_available() -> str | None:
    # Inductor generates C++ on CPU and Triton on GPU; on CPU it needs a C++ compiler.
    if shutil.which("g++") or shutil.which("c++") or shutil.which("clang++"):
        return None
    return "torch.compile needs a C++ compiler (g++) for its CPU code; none on PATH"


def prepare_compiled(model: nn.Module, example: torch.Tensor) -> RunFn:
    """Compile for a static input shape and run once so compilation is not timed."""
    mode = "max-autotune" if example.is_cuda else None
    if channels_last_for(example):
        model = model.to(memory_format=torch.channels_last)
        example = example.contiguous(memory_format=torch.channels_last)
    compiled = torch.compile(model, mode=mode, dynamic=False, fullgraph=True)
    with torch.inference_mode():
        compiled(example)
    if channels_last_for(example):
        return lambda x: compiled(x.contiguous(memory_format=torch.channels_last))
    return compiled


COMPILE = register_backend(
    Backend(
        name="compile",
        devices=("cpu", "cuda"),
        dtypes=(torch.float32, torch.bfloat16, torch.float16),
        folds_bn=True,
        prepare=prepare_compiled,
        available=_compiler_available,
    )
)
