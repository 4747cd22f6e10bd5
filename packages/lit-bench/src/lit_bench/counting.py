"""Model size and cost: parameters, nonzero parameters, MACs and conv-layer count.

MACs follow Li et al. (2017)'s "FLOPs": one multiply-add per weight per output position, for
conv and linear layers only (no BN, ReLU, pooling, additions, biases), at the model's input size
(32×32 for the CIFAR nets). This reproduces their Table 1: ResNet-56 1.25e8, ResNet-110 2.53e8.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["count_conv_layers", "count_macs", "count_nonzero_params", "count_params"]


def count_params(model: nn.Module) -> int:
    """Number of parameters (every element, zero or not)."""
    return sum(p.numel() for p in model.parameters())


def count_nonzero_params(model: nn.Module) -> int:
    """Number of parameter elements that are not exactly zero (what unstructured pruning cuts)."""
    return sum(int(torch.count_nonzero(p)) for p in model.parameters())


def count_conv_layers(model: nn.Module) -> int:
    """Number of convolution modules (sets the sequential kernel count at small batch)."""
    return sum(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())


@torch.no_grad()
def count_macs(model: nn.Module, input_size: tuple[int, ...] = (3, 32, 32)) -> int:
    """Multiply-accumulates of conv and linear layers for one input of ``input_size`` (C, H, W)."""
    total = 0

    def conv_hook(m: nn.modules.conv._ConvNd, _inp, out: torch.Tensor) -> None:
        nonlocal total
        kernel = m.weight[0].numel()  # (in_channels / groups) × kernel elements
        total += out[0].numel() * kernel

    def linear_hook(m: nn.Linear, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += out[0].numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None else torch.float32
        model(torch.zeros(1, *input_size, device=device, dtype=dtype))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return total
