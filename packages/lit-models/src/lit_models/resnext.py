"""ResNeXt for CIFAR (Xie et al. 2017): depth 9n+2, three stages of grouped-conv bottlenecks.

As in the paper's CIFAR code: stem conv3×3 to 64 channels; stage i outputs
``64 · widen_factor · 2^i`` channels (256/512/1024 for widen factor 4) and its bottleneck inner
width is ``cardinality · base_width · 2^i``. The stage output width does not depend on the
cardinality or the bottleneck width, so a cardinality-32 teacher and a cardinality-16 student
line up at every stage boundary (what LIT needs). LIT (Koratana et al. 2019) compresses
ResNeXt-110 to ResNeXt-20: ``resnext110_32x4d`` → ``resnext20_32x4d`` / ``resnext20_16x4d``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ._base import CIFAR_MEAN, CIFAR_STD, ClassifierNet, feature_info_entry, image_stats
from ._layers import conv1x1, conv3x3, init_conv_bn
from ._registry import register_model

__all__ = ["CifarResNeXt", "ResNeXtBottleneck", "cifar_resnext"]


class ResNeXtBottleneck(nn.Module):
    """conv1×1-BN-ReLU → grouped conv3×3-BN-ReLU → conv1×1-BN, plus shortcut, then ReLU."""

    def __init__(self, in_chs: int, out_chs: int, inner_chs: int, cardinality: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv1x1(in_chs, inner_chs)
        self.bn1 = nn.BatchNorm2d(inner_chs)
        self.conv2 = conv3x3(inner_chs, inner_chs, stride, groups=cardinality)
        self.bn2 = nn.BatchNorm2d(inner_chs)
        self.conv3 = conv1x1(inner_chs, out_chs)
        self.bn3 = nn.BatchNorm2d(out_chs)
        self.relu = nn.ReLU(inplace=True)
        if stride == 1 and in_chs == out_chs:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(conv1x1(in_chs, out_chs, stride), nn.BatchNorm2d(out_chs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _make_stage(in_chs: int, out_chs: int, inner_chs: int, cardinality: int, n: int, stride: int) -> nn.Sequential:
    blocks = [ResNeXtBottleneck(in_chs, out_chs, inner_chs, cardinality, stride)]
    blocks += [ResNeXtBottleneck(out_chs, out_chs, inner_chs, cardinality) for _ in range(n - 1)]
    return nn.Sequential(*blocks)


def _blocks_per_stage(depth: int) -> int:
    if depth < 11 or (depth - 2) % 9:
        raise ValueError(
            f"CIFAR ResNeXt depth must be of the form 9n+2 (11, 20, 29, 56, 110, ...); got {depth}"
        )
    return (depth - 2) // 9


class CifarResNeXt(ClassifierNet):
    """stem (conv3×3-BN-ReLU, 64 ch) → 3 stages of ResNeXt bottlenecks → head (pool, linear)."""

    def __init__(
        self,
        depth: int = 29,
        *,
        cardinality: int = 8,
        base_width: int = 64,
        widen_factor: int = 4,
        num_classes: int = 10,
        in_chans: int = 3,
        img_size: int = 32,
    ) -> None:
        n = _blocks_per_stage(depth)
        for name, value in (("cardinality", cardinality), ("base_width", base_width), ("widen_factor", widen_factor)):
            if value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value}")
        stem_chs = 64
        stem = nn.Sequential(conv3x3(in_chans, stem_chs), nn.BatchNorm2d(stem_chs), nn.ReLU(inplace=True))
        stages, info, in_chs = [], [], stem_chs
        for i in range(3):
            out_chs = 64 * widen_factor * 2**i
            inner_chs = cardinality * base_width * 2**i
            stages.append(_make_stage(in_chs, out_chs, inner_chs, cardinality, n, 1 if i == 0 else 2))
            info.append(feature_info_entry(out_chs, 2**i, i))
            in_chs = out_chs
        head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(in_chs, num_classes))
        super().__init__(stem, stages, head, info, input_size=(in_chans, img_size, img_size),
                         **image_stats(in_chans, CIFAR_MEAN, CIFAR_STD))
        self.depth, self.cardinality, self.base_width = depth, cardinality, base_width
        init_conv_bn(self)


def _create_resnext(depth: int, cardinality: int, base_width: int, **kwargs) -> CifarResNeXt:
    return CifarResNeXt(depth, cardinality=cardinality, base_width=base_width, **kwargs)


# name: (depth, cardinality, base_width). The 29-layer ones are the paper's CIFAR models;
# the 110/20-layer ones are the pair LIT compresses between.
_CFGS = {
    "resnext29_8x64d": (29, 8, 64),
    "resnext29_16x64d": (29, 16, 64),
    "resnext110_32x4d": (110, 32, 4),
    "resnext20_32x4d": (20, 32, 4),
    "resnext20_16x4d": (20, 16, 4),
}


@register_model
def cifar_resnext(*, depth: int = 29, cardinality: int = 8, base_width: int = 64, **kwargs) -> CifarResNeXt:
    """CIFAR ResNeXt of any depth 9n+2, cardinality and bottleneck width."""
    return _create_resnext(depth, cardinality, base_width, **kwargs)


@register_model
def resnext29_8x64d(**kwargs) -> CifarResNeXt:
    """ResNeXt-29 for CIFAR, cardinality 8, bottleneck width 64; keyword arguments as ``CifarResNeXt``."""
    return _create_resnext(*_CFGS["resnext29_8x64d"], **kwargs)


@register_model
def resnext29_16x64d(**kwargs) -> CifarResNeXt:
    """ResNeXt-29 for CIFAR, cardinality 16, bottleneck width 64; keyword arguments as ``CifarResNeXt``."""
    return _create_resnext(*_CFGS["resnext29_16x64d"], **kwargs)


@register_model
def resnext110_32x4d(**kwargs) -> CifarResNeXt:
    """ResNeXt-110 for CIFAR, cardinality 32, bottleneck width 4; keyword arguments as ``CifarResNeXt``."""
    return _create_resnext(*_CFGS["resnext110_32x4d"], **kwargs)


@register_model
def resnext20_32x4d(**kwargs) -> CifarResNeXt:
    """ResNeXt-20 for CIFAR, cardinality 32, bottleneck width 4; keyword arguments as ``CifarResNeXt``."""
    return _create_resnext(*_CFGS["resnext20_32x4d"], **kwargs)


@register_model
def resnext20_16x4d(**kwargs) -> CifarResNeXt:
    """ResNeXt-20 for CIFAR, cardinality 16, bottleneck width 4; keyword arguments as ``CifarResNeXt``."""
    return _create_resnext(*_CFGS["resnext20_16x4d"], **kwargs)
