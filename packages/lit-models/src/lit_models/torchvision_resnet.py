"""torchvision ResNet / ResNeXt / Wide-ResNet through the stage interface (no weights downloaded).

A ``torchvision.models.ResNet`` is re-assembled by moving its modules (same objects, same
weights): stem = ``Sequential(conv1, bn1, relu, maxpool)``, stages = ``layer1 … layer4``,
head = ``Sequential(avgpool, Flatten, fc)``. Registered under torchvision's own names
(``resnet50``, ``resnext50_32x4d``, ``wide_resnet50_2``, …) plus ``tv_resnet`` for any
per-stage block counts, so a ``[3, 4, 23, 3]`` teacher and a ``[2, 2, 2, 2]`` bottleneck
student line up (same stage widths 256/512/1024/2048, reductions 4/8/16/32).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn
import torchvision.models.resnet as tvr

from ._base import IMAGENET_MEAN, IMAGENET_STD, ClassifierNet, feature_info_entry, image_stats
from ._registry import register_model

__all__ = ["TorchvisionResNet", "torchvision_state_dict", "tv_resnet"]

_BLOCKS = {"basic": tvr.BasicBlock, "bottleneck": tvr.Bottleneck}


class TorchvisionResNet(ClassifierNet):
    """A torchvision ``ResNet`` split into stem / 4 stages / head (its modules are moved, not copied)."""

    def __init__(self, resnet: tvr.ResNet, *, img_size: int = 224) -> None:
        if not isinstance(resnet, tvr.ResNet):
            raise ValueError(f"expected a torchvision.models.ResNet; got {type(resnet).__name__}")
        stem = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool)
        stages = [resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4]
        info = [
            feature_info_entry(64 * 2**i * type(stage[-1]).expansion, 2 ** (i + 2), i)
            for i, stage in enumerate(stages)
        ]
        head = nn.Sequential(resnet.avgpool, nn.Flatten(1), resnet.fc)
        in_chans = resnet.conv1.in_channels
        super().__init__(stem, stages, head, info, input_size=(in_chans, img_size, img_size),
                         **image_stats(in_chans, IMAGENET_MEAN, IMAGENET_STD))


# stem = (conv1, bn1, relu, maxpool), stages.i = layer{i+1}, head = (avgpool, Flatten, fc)
_TV_KEYS = ((re.compile(r"stem\.0\."), "conv1."), (re.compile(r"stem\.1\."), "bn1."),
            (re.compile(r"head\.2\."), "fc."))


def torchvision_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A ``TorchvisionResNet`` state dict (e.g. a lit checkpoint's ``"model"``) under torchvision's
    own keys, for ``torchvision.models.resnet18(num_classes=N).load_state_dict(...)``.

    Args:
        state: keys ``stem.0.*``, ``stem.1.*``, ``stages.<i>.*``, ``head.2.*``, as ``state_dict()``
            of a ``TorchvisionResNet`` (``resnet18`` … ``wide_resnet101_2``, ``tv_resnet``) has them.

    Returns:
        The same tensors keyed ``conv1.*``, ``bn1.*``, ``layer<i+1>.*``, ``fc.*``.

    Raises:
        ValueError: a key that is not one of a ``TorchvisionResNet``'s.

    Example:
        >>> ckpt = torch.load("run/lit/best.pt", weights_only=True)  # doctest: +SKIP
        >>> torchvision.models.resnet18(num_classes=10).load_state_dict(
        ...     torchvision_state_dict(ckpt["model"]))  # doctest: +SKIP
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        stage = re.match(r"stages\.(\d+)\.", key)
        if stage:
            new = f"layer{int(stage.group(1)) + 1}." + key[stage.end():]
        else:
            new = next((rep + key[m.end():] for pat, rep in _TV_KEYS if (m := pat.match(key))), None)
        if new is None:
            raise ValueError(f"{key!r} is not a key of a TorchvisionResNet state dict (stem.0/stem.1/"
                             "stages.<i>/head.2); give the 'model' entry of a torchvision-ResNet checkpoint")
        out[new] = value
    return out

def _set_in_chans(resnet: tvr.ResNet, in_chans: int) -> None:
    if in_chans != 3:
        resnet.conv1 = nn.Conv2d(in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(resnet.conv1.weight, mode="fan_out", nonlinearity="relu")


def _create_tv_resnet(builder_name: str, *, num_classes: int = 1000, in_chans: int = 3,
                      img_size: int = 224) -> TorchvisionResNet:
    resnet = getattr(tvr, builder_name)(weights=None, num_classes=num_classes)
    _set_in_chans(resnet, in_chans)
    return TorchvisionResNet(resnet, img_size=img_size)


@register_model
def tv_resnet(
    *,
    block: str = "bottleneck",
    layers: Sequence[int] = (2, 2, 2, 2),
    groups: int = 1,
    width_per_group: int = 64,
    num_classes: int = 1000,
    in_chans: int = 3,
    img_size: int = 224,
) -> TorchvisionResNet:
    """torchvision ResNet with any block type (``"basic"``/``"bottleneck"``) and per-stage counts."""
    if block not in _BLOCKS:
        raise ValueError(f"block must be one of {sorted(_BLOCKS)}; got {block!r}")
    if len(layers) != 4 or any(int(n) < 1 for n in layers):
        raise ValueError(f"layers must be 4 positive block counts, e.g. [2, 2, 2, 2]; got {list(layers)}")
    resnet = tvr.ResNet(_BLOCKS[block], [int(n) for n in layers], num_classes=num_classes,
                        groups=groups, width_per_group=width_per_group)
    _set_in_chans(resnet, in_chans)
    return TorchvisionResNet(resnet, img_size=img_size)


@register_model
def resnet18(**kwargs) -> TorchvisionResNet:
    """torchvision's ``resnet18`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("resnet18", **kwargs)


@register_model
def resnet34(**kwargs) -> TorchvisionResNet:
    """torchvision's ``resnet34`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("resnet34", **kwargs)


@register_model
def resnet50(**kwargs) -> TorchvisionResNet:
    """torchvision's ``resnet50`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("resnet50", **kwargs)


@register_model
def resnet101(**kwargs) -> TorchvisionResNet:
    """torchvision's ``resnet101`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("resnet101", **kwargs)


@register_model
def resnet152(**kwargs) -> TorchvisionResNet:
    """torchvision's ``resnet152`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("resnet152", **kwargs)


@register_model
def resnext50_32x4d(**kwargs) -> TorchvisionResNet:
    """torchvision's ``resnext50_32x4d`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("resnext50_32x4d", **kwargs)


@register_model
def resnext101_32x8d(**kwargs) -> TorchvisionResNet:
    """torchvision's ``resnext101_32x8d`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("resnext101_32x8d", **kwargs)


@register_model
def resnext101_64x4d(**kwargs) -> TorchvisionResNet:
    """torchvision's ``resnext101_64x4d`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("resnext101_64x4d", **kwargs)


@register_model
def wide_resnet50_2(**kwargs) -> TorchvisionResNet:
    """torchvision's ``wide_resnet50_2`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("wide_resnet50_2", **kwargs)


@register_model
def wide_resnet101_2(**kwargs) -> TorchvisionResNet:
    """torchvision's ``wide_resnet101_2`` with the stage interface (stem, 4 stages, head); keyword arguments as ``TorchvisionResNet``."""
    return _create_tv_resnet("wide_resnet101_2", **kwargs)
