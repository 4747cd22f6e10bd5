"""Small building blocks shared by the model families."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_chs: int, out_chs: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3×3 convolution with padding 1 and no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_chs, out_chs, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_chs: int, out_chs: int, stride: int = 1) -> nn.Conv2d:
    """1×1 convolution with no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_chs, out_chs, 1, stride=stride, bias=False)


class PadShortcut(nn.Module):
    """Parameter-free shortcut (He et al. 2016, option A): subsample by ``stride``, zero-pad channels."""

    def __init__(self, in_chs: int, out_chs: int, stride: int) -> None:
        super().__init__()
        if out_chs < in_chs:
            raise ValueError(f"option-A shortcut cannot shrink channels ({in_chs} → {out_chs})")
        self.in_chs, self.out_chs, self.stride = in_chs, out_chs, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_chs - self.in_chs
        return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2)) if extra else x

    def extra_repr(self) -> str:
        return f"{self.in_chs}, {self.out_chs}, stride={self.stride}"


def init_conv_bn(module: nn.Module) -> None:
    """Kaiming-normal convolutions, unit-gamma norms; linears keep PyTorch's default init."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif (
            isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d))
            and m.weight is not None
        ):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
