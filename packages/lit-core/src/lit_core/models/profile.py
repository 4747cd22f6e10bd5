"""Size of a model: parameters, multiply-accumulates (MACs) per example, and conv layer count.

MACs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts the matrix products of
convolutions and linear layers (2 FLOPs per multiply-accumulate) and ignores element-wise work
(bias, BatchNorm, ReLU, pooling, the residual add). So ``MACs = FLOPs / 2`` is the usual
"conv + FC multiply-accumulates" figure that papers quote (ResNet-20 on 32×32: about 41 M).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["ModelProfile", "count_conv_layers", "count_depth", "count_macs", "count_params", "profile_model"]


@dataclass(frozen=True)
class ModelProfile:
    """Parameters, MACs for one example of ``input_shape``, conv layers and depth.

    ``depth`` counts weighted layers (conv + linear), the way ResNet depths are named: ResNet-20
    (19 convs + 1 linear) has depth 20 (1×1 projection shortcuts, where present, add to it).
    """

    params: int
    macs: int
    conv_layers: int
    depth: int
    input_shape: tuple[int, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_conv_layers(model: nn.Module) -> int:
    """Number of convolution modules (1-, 2- and 3-d, transposed included)."""
    return sum(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: tuple[int, ...],
               input_dtype: torch.dtype | None = None) -> int:
    """Multiply-accumulates of one forward pass on one example of shape ``input_shape`` (C×H×W
    images; (L,) token ids with ``input_dtype=torch.int64``)."""
    p = next(model.parameters(), None)
    dtype = input_dtype or (p.dtype if p is not None else torch.float32)
    x = torch.zeros(1, *input_shape, device=p.device if p is not None else "cpu", dtype=dtype)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


def count_depth(model: nn.Module) -> int:
    """Number of weighted layers: convolutions plus linear layers."""
    return count_conv_layers(model) + sum(isinstance(m, nn.Linear) for m in model.modules())


def profile_model(model: nn.Module, input_shape: tuple[int, ...],
                  input_dtype: torch.dtype | None = None) -> ModelProfile:
    """Params, MACs and conv-layer count of ``model`` for inputs of shape ``input_shape`` (C×H×W,
    or (L,) token ids with ``input_dtype=torch.int64``)."""
    return ModelProfile(
        params=count_params(model),
        macs=count_macs(model, tuple(input_shape), input_dtype),
        conv_layers=count_conv_layers(model),
        depth=count_depth(model),
        input_shape=tuple(int(s) for s in input_shape),
    )
