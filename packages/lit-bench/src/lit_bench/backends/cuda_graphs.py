"""CUDA graphs: the BN-folded eager model captured once for a static input shape, then replayed."""

from __future__ import annotations

import torch
import torch.nn as nn

from . import Backend, RunFn, register_backend
from ._common import channels_last_for, cuda_available

__all__ = ["CUDA_GRAPHS", "WARMUP_ITERS", "prepare_cuda_graph"]

WARMUP_ITERS = 3  # eager iterations on a side stream before capture (cuDNN picks its algorithms)


def prepare_cuda_graph(model: nn.Module, example: torch.Tensor) -> RunFn:
    """Capture ``model(static_input)``; ``run`` copies into the static input (a staged step,
    timed apart) and replays."""
    memory_format = torch.channels_last if channels_last_for(example) else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    static_in = example.clone().contiguous(memory_format=memory_format)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.inference_mode():
        for _ in range(WARMUP_ITERS):
            model(static_in)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.inference_mode():
        static_out = model(static_in)

    def stage(x: torch.Tensor) -> torch.Tensor:
        if x.shape != static_in.shape:
            raise ValueError(f"CUDA graph captured for input {tuple(static_in.shape)}, got {tuple(x.shape)}")
        return static_in.copy_(x)

    def replay(_: torch.Tensor) -> torch.Tensor:
        graph.replay()
        return static_out

    def run(x: torch.Tensor) -> torch.Tensor:
        return replay(stage(x))

    run.staged = (stage, replay, "input copy into the graph's static input")
    return run


CUDA_GRAPHS = register_backend(
    Backend(
        name="cuda_graphs",
        devices=("cuda",),
        dtypes=(torch.float32, torch.bfloat16, torch.float16),
        folds_bn=True,
        prepare=prepare_cuda_graph,
        available=cuda_available,
    )
)
