"""CIFAR ResNets (He et al. 2016): depth 6n+2, three stages of BasicBlocks, 16/32/64 channels.

Shortcut option A (parameter-free zero padding, the default, as in the LIT paper's code) or B
(1×1 conv + BN). ``width`` multiplies the stage widths (``resnet8x4``, ``resnet32x4`` follow the
KD literature (CRD): stem 32, stages 64/128/256, option-B shortcuts).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ._base import CIFAR_MEAN, CIFAR_STD, ClassifierNet, feature_info_entry, image_stats
from ._layers import PadShortcut, conv1x1, conv3x3, init_conv_bn
from ._registry import register_model

__all__ = ["BasicBlock", "CifarResNet", "cifar_resnet"]


class BasicBlock(nn.Module):
    """conv3×3-BN-ReLU-conv3×3-BN, plus shortcut, then ReLU."""

    expansion = 1

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, shortcut: str = "A") -> None:
        super().__init__()
        self.conv1 = conv3x3(in_chs, out_chs, stride)
        self.bn1 = nn.BatchNorm2d(out_chs)
        self.conv2 = conv3x3(out_chs, out_chs)
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.relu = nn.ReLU(inplace=True)
        if stride == 1 and in_chs == out_chs:
            self.shortcut: nn.Module = nn.Identity()
        elif shortcut == "A":
            self.shortcut = PadShortcut(in_chs, out_chs, stride)
        else:
            self.shortcut = nn.Sequential(conv1x1(in_chs, out_chs, stride), nn.BatchNorm2d(out_chs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


def _blocks_per_stage(depth: int) -> int:
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"CIFAR ResNet depth must be of the form 6n+2 (8, 14, 20, 32, 44, 56, 110, ...); got {depth}"
        )
    return (depth - 2) // 6


class CifarResNet(ClassifierNet):
    """stem (conv3×3-BN-ReLU) → 3 stages of BasicBlocks → head (global pool, linear)."""

    def __init__(
        self,
        depth: int = 20,
        *,
        num_classes: int = 10,
        in_chans: int = 3,
        width: int = 1,
        stem_chs: int | None = None,
        shortcut: str = "A",
        img_size: int = 32,
        blocks: tuple[int, int, int] | None = None,
    ) -> None:
        if blocks is not None:  # per-stage block counts (a partly compressed student)
            if len(blocks) != 3 or any(int(b) < 1 for b in blocks):
                raise ValueError(f"blocks must be three positive block counts; got {blocks}")
            depth = 2 + 2 * sum(int(b) for b in blocks)
        counts = [int(b) for b in blocks] if blocks is not None else [_blocks_per_stage(depth)] * 3
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut must be 'A' (zero padding) or 'B' (1x1 conv); got {shortcut!r}")
        if width < 1:
            raise ValueError(f"width must be a positive integer; got {width}")
        widths = [16 * width, 32 * width, 64 * width]
        stem_chs = stem_chs or widths[0]
        stem = nn.Sequential(conv3x3(in_chans, stem_chs), nn.BatchNorm2d(stem_chs), nn.ReLU(inplace=True))
        stages, info, in_chs = [], [], stem_chs
        for i, out_chs in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers = [BasicBlock(in_chs, out_chs, stride, shortcut)]
            layers += [BasicBlock(out_chs, out_chs, 1, shortcut) for _ in range(counts[i] - 1)]
            stages.append(nn.Sequential(*layers))
            info.append(feature_info_entry(out_chs, 2**i, i))
            in_chs = out_chs
        head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(in_chs, num_classes))
        super().__init__(stem, stages, head, info, input_size=(in_chans, img_size, img_size),
                         **image_stats(in_chans, CIFAR_MEAN, CIFAR_STD))
        self.depth, self.shortcut_type = depth, shortcut
        init_conv_bn(self)


def _create(depth: int, **kwargs) -> CifarResNet:
    return CifarResNet(depth, **kwargs)


@register_model
def cifar_resnet(*, depth: int = 20, **kwargs) -> CifarResNet:
    """CIFAR ResNet of any depth 6n+2, e.g. ``create_model("cifar_resnet", depth=26)``, or with
    per-stage block counts, ``create_model("cifar_resnet", blocks=(3, 1, 3))`` (depth 16)."""
    return _create(depth, **kwargs)


@register_model
def resnet8(**kwargs) -> CifarResNet:
    """ResNet-8 for CIFAR (He et al. 2016, 3 stages of 1 BasicBlocks); keyword arguments as ``CifarResNet``."""
    return _create(8, **kwargs)


@register_model
def resnet14(**kwargs) -> CifarResNet:
    """ResNet-14 for CIFAR (He et al. 2016, 3 stages of 2 BasicBlocks); keyword arguments as ``CifarResNet``."""
    return _create(14, **kwargs)


@register_model
def resnet20(**kwargs) -> CifarResNet:
    """ResNet-20 for CIFAR (He et al. 2016, 3 stages of 3 BasicBlocks); keyword arguments as ``CifarResNet``."""
    return _create(20, **kwargs)


@register_model
def resnet32(**kwargs) -> CifarResNet:
    """ResNet-32 for CIFAR (He et al. 2016, 3 stages of 5 BasicBlocks); keyword arguments as ``CifarResNet``."""
    return _create(32, **kwargs)


@register_model
def resnet44(**kwargs) -> CifarResNet:
    """ResNet-44 for CIFAR (He et al. 2016, 3 stages of 7 BasicBlocks); keyword arguments as ``CifarResNet``."""
    return _create(44, **kwargs)


@register_model
def resnet56(**kwargs) -> CifarResNet:
    """ResNet-56 for CIFAR (He et al. 2016, 3 stages of 9 BasicBlocks); keyword arguments as ``CifarResNet``."""
    return _create(56, **kwargs)


@register_model
def resnet110(**kwargs) -> CifarResNet:
    """ResNet-110 for CIFAR (He et al. 2016, 3 stages of 18 BasicBlocks); keyword arguments as ``CifarResNet``."""
    return _create(110, **kwargs)


@register_model
def resnet1202(**kwargs) -> CifarResNet:
    """ResNet-1202 for CIFAR (He et al. 2016, 3 stages of 200 BasicBlocks); keyword arguments as ``CifarResNet``."""
    return _create(1202, **kwargs)


@register_model
def resnet8x4(**kwargs) -> CifarResNet:
    """ResNet-8x4 for CIFAR (CRD's 4x-wide variant: stem 32, option-B shortcuts); keyword arguments as ``CifarResNet``."""
    return _create(8, **{"width": 4, "stem_chs": 32, "shortcut": "B", **kwargs})


@register_model
def resnet32x4(**kwargs) -> CifarResNet:
    """ResNet-32x4 for CIFAR (CRD's 4x-wide variant: stem 32, option-B shortcuts); keyword arguments as ``CifarResNet``."""
    return _create(32, **{"width": 4, "stem_chs": 32, "shortcut": "B", **kwargs})
