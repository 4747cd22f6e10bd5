"""``torch.compile`` (Inductor): mode "max-autotune" on GPU by default, the default mode on CPU.

The mode is the ``mode`` option (``BenchConfig.options``; the quick GPU plan uses
"reduce-overhead": Inductor's CUDA graphs without autotuning). Compiled for a static shape
(``dynamic=False``, the Inductor norm): one compile per model × dtype × batch size.

Every model of the zoo shares one ``forward`` code object, and Dynamo caches compiled versions
per code object: with ``fullgraph=True`` the 9th (``torch._dynamo.config.recompile_limit`` = 8)
would be an error, and the guard checks of a long cache slow every call. So each compile traces
a small wrapper with its own code object (``_own_code``): its cache holds exactly one version,
and groups can hold many models at once. ``torch.compiler.reset()`` between groups
(``lit_bench.bench``) frees them.

"max-autotune" and "reduce-overhead" ask for Inductor's CUDA graphs, which Inductor skips
silently in some cases (a CPU tensor, a mutated input, dynamic shapes); the row's note says
"with CUDA graphs" only when Inductor's ``cudagraph_skips`` counter did not move during the
compile and first call, and "CUDA graphs skipped by Inductor" otherwise.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import torch
import torch.nn as nn

from . import Backend, RunFn, register_backend
from ._common import channels_last_for

__all__ = ["COMPILE", "GPU_MODE", "compile_mode", "cudagraph_skips", "dry_check_compile", "prepare_compiled"]

GPU_MODE = "max-autotune"
GRAPHED_MODES = ("max-autotune", "reduce-overhead")  # modes that ask Inductor for CUDA graphs


def _compiler_available() -> str | None:
    # Inductor generates C++ on CPU and Triton on GPU; on CPU it needs a C++ compiler.
    if shutil.which("g++") or shutil.which("c++") or shutil.which("clang++"):
        return None
    return "torch.compile needs a C++ compiler (g++) for its CPU code; none on PATH"


def compile_mode(example: torch.Tensor, mode: str | None = GPU_MODE) -> str | None:
    """The Inductor mode used for ``example``'s device (None: the default mode; CPU always)."""
    return mode if example.is_cuda else None


def cudagraph_skips() -> int:
    """How many times Inductor has skipped CUDA graphs in this process (its own counter)."""
    from torch._dynamo.utils import counters

    return int(counters["inductor"]["cudagraph_skips"])


def _own_code(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``model(x)`` behind a function with a code object of its own (a Dynamo cache of its own)."""

    def call(x: torch.Tensor) -> torch.Tensor:
        return model(x)

    call.__code__ = call.__code__.replace()  # a new code object: Dynamo keys its cache on it
    return call


def prepare_compiled(model: nn.Module, example: torch.Tensor, *, mode: str | None = GPU_MODE) -> RunFn:
    """Compile for a static input shape and run once so compilation is not timed; half types on
    GPU run channels_last (the input's conversion is a staged step, timed apart)."""
    mode = compile_mode(example, mode)
    channels_last = channels_last_for(example)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        example = example.contiguous(memory_format=torch.channels_last)
    skips = cudagraph_skips()
    compiled = torch.compile(_own_code(model), mode=mode, dynamic=False, fullgraph=True)
    with torch.inference_mode():
        compiled(example)
        if mode in GRAPHED_MODES:
            compiled(example)  # Inductor records its graph on a later call than the first
    graphed = mode in GRAPHED_MODES and cudagraph_skips() == skips

    def to_input(x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    def run(x: torch.Tensor) -> torch.Tensor:
        return compiled(to_input(x))

    if channels_last:
        run.staged = (to_input, compiled, "NCHW → NHWC input conversion")
    if mode is None:
        run.info = "torch.compile default mode"
    elif mode in GRAPHED_MODES:
        run.info = (f"torch.compile mode={mode}, with CUDA graphs" if graphed
                    else f"torch.compile mode={mode}, CUDA graphs skipped by Inductor (plain compile)")
    else:
        run.info = f"torch.compile mode={mode}"
    run.graphed = graphed
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
