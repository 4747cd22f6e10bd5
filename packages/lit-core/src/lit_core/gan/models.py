"""Build the StarGAN generators and discriminator of a run from its ``[models]`` table.

Through ``lit_core.build_model`` (the ``lit.model_factories`` entry points, i.e. lit-models):
lit-core never imports the zoo.
"""

from __future__ import annotations

import torch.nn as nn

from ..models.build import build_model
from .data import DomainData

__all__ = ["build_discriminator", "build_generator", "conv_layers", "param_count"]


def build_generator(models: dict, data: DomainData, stage_blocks: list[int]) -> nn.Module:
    """A StarGAN generator for ``data`` with ``stage_blocks[i]`` residual blocks in stage i."""
    return build_model(
        "stargan_generator", c_dim=data.c_dim, in_chans=data.in_chans, img_size=data.image_size,
        conv_dim=int(models.get("conv_dim", 64)), stage_blocks=list(stage_blocks))


def build_discriminator(models: dict, data: DomainData) -> nn.Module:
    """The PatchGAN discriminator with a domain classifier for ``data``."""
    return build_model(
        "stargan_discriminator", c_dim=data.c_dim, in_chans=data.in_chans, img_size=data.image_size,
        conv_dim=int(models.get("d_conv_dim", 64)), repeat_num=int(models.get("d_repeat_num", 6)))


def param_count(model: nn.Module) -> int:
    """Number of parameters (weights and affine norms; buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def conv_layers(model: nn.Module) -> int:
    """Number of convolution layers (Conv2d and ConvTranspose2d), the paper's depth measure."""
    return sum(isinstance(m, nn.Conv2d | nn.ConvTranspose2d) for m in model.modules())
