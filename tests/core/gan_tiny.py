"""Tiny StarGAN models and multi-domain data shared by the GAN tests (not a test module)."""

from __future__ import annotations

import torch

from lit_core.gan.data import DomainData, DomainSplit
from lit_core.gan.models import build_discriminator, build_generator

MODELS = {"conv_dim": 4, "d_conv_dim": 4, "d_repeat_num": 2}
C_DIM = 3


def domain_data(n: int = 24, size: int = 8, seed: int = 0) -> DomainData:
    """Random 1×size×size images in [-1, 1], three one-hot domains (every domain present)."""
    g = torch.Generator().manual_seed(seed)
    splits = []
    for count in (n, n // 2):
        labels = torch.arange(count) % C_DIM
        x = torch.rand(count, 1, size, size, generator=g) * 2 - 1
        splits.append(DomainSplit(x, torch.nn.functional.one_hot(labels, C_DIM).float()))
    return DomainData("tiny", splits[0], splits[1], ("a", "b", "c"), "single", "generated")


def generator(data: DomainData, blocks: list[int], seed: int = 0):
    torch.manual_seed(seed)
    return build_generator(MODELS, data, blocks)


def discriminator(data: DomainData, seed: int = 0):
    torch.manual_seed(seed)
    return build_discriminator(MODELS, data)
