"""StarGAN (Choi et al. 2018): the image-to-image generator and the PatchGAN discriminator.

Generator input: the image with the target-domain label tiled as ``c_dim`` extra channels
(``tile_domain(image, label)``), so the model takes one ``(B, 3 + c_dim, H, W)`` tensor.
stem = conv7×7 + two stride-2 down-sampling convs; stages = the residual bottleneck blocks
(6 in the paper), split evenly into ``num_stages`` stages so a 6-block teacher and a 2-block
student both have ``num_stages`` boundaries (6 → 3+3, 2 → 1+1), or given per stage with
``stage_blocks`` (e.g. ``(3, 1)``: compress only the second stage); head = two transposed convs,
conv7×7 and tanh. InstanceNorm (affine, running stats) everywhere, as in the authors' code; the
authors never call ``eval()`` on G, so its norms always use instance statistics (keep G in train
mode to reproduce their outputs — ``lit_core.gan`` does).

The official implementation's ``state_dict`` (one ``main`` Sequential) maps onto these names with
``lit_core.gan.official``.

Discriminator: stem = conv4×4 s2 + LeakyReLU; stages = the remaining ``repeat_num - 1``
stride-2 convs (one per stage); the head returns a tuple ``(src, cls)``: the PatchGAN real/fake
map ``(B, 1, H/2^repeat_num, W/2^repeat_num)`` and the domain logits ``(B, c_dim)``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ._base import StagedNet, feature_info_entry
from ._registry import register_model

__all__ = ["StarGANDiscriminator", "StarGANGenerator", "tile_domain"]


def tile_domain(image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Generator input: ``image (B, C, H, W)`` with ``label (B, c_dim)`` tiled as extra channels."""
    if label.dim() != 2 or label.shape[0] != image.shape[0]:
        raise ValueError(
            f"label must be (batch, c_dim) with the image's batch size {image.shape[0]}; got {tuple(label.shape)}"
        )
    maps = label.to(image.dtype)[:, :, None, None].expand(-1, -1, *image.shape[2:])
    return torch.cat([image, maps], dim=1)


def _norm(chs: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(chs, affine=True, track_running_stats=True)


class ResidualBlock(nn.Module):
    """conv3×3-IN-ReLU-conv3×3-IN plus identity (no activation after the sum, as the paper)."""

    def __init__(self, chs: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(chs, chs, 3, padding=1, bias=False), _norm(chs), nn.ReLU(inplace=True),
            nn.Conv2d(chs, chs, 3, padding=1, bias=False), _norm(chs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _split(num_blocks: int, num_stages: int) -> list[int]:
    """Blocks per stage: as even as possible, earlier stages take the remainder."""
    if num_stages < 1 or num_blocks < num_stages:
        raise ValueError(
            f"need 1 <= num_stages <= num_blocks; got num_blocks={num_blocks}, num_stages={num_stages}"
        )
    q, r = divmod(num_blocks, num_stages)
    return [q + (i < r) for i in range(num_stages)]


class StarGANGenerator(StagedNet):
    """Down-sampling stem → residual stages at 1/4 resolution → up-sampling head with tanh.

    An image-to-image generator, not a classifier: it is a plain ``StagedNet`` without timm's
    classifier interface (no ``num_classes``, ``get_classifier``, ``reset_classifier``).
    """

    def __init__(
        self,
        *,
        c_dim: int = 5,
        conv_dim: int = 64,
        num_blocks: int = 6,
        num_stages: int = 2,
        img_size: int = 128,
        in_chans: int = 3,
        stage_blocks: tuple[int, ...] | list[int] | None = None,
    ) -> None:
        if img_size % 4:
            raise ValueError(f"img_size must be a multiple of 4 (two stride-2 convs); got {img_size}")
        layers: list[nn.Module] = [nn.Conv2d(in_chans + c_dim, conv_dim, 7, padding=3, bias=False),
                                   _norm(conv_dim), nn.ReLU(inplace=True)]
        chs = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(chs, chs * 2, 4, stride=2, padding=1, bias=False), _norm(chs * 2), nn.ReLU(inplace=True)]
            chs *= 2
        if stage_blocks is not None:
            if not stage_blocks or any(int(n) < 1 for n in stage_blocks):
                raise ValueError(f"stage_blocks needs one count >= 1 per stage; got {list(stage_blocks)}")
            per_stage = [int(n) for n in stage_blocks]
        else:
            per_stage = _split(num_blocks, num_stages)
        stages = [nn.Sequential(*[ResidualBlock(chs) for _ in range(n)]) for n in per_stage]
        info = [feature_info_entry(chs, 4, i) for i in range(len(per_stage))]
        up: list[nn.Module] = []
        for _ in range(2):
            up += [nn.ConvTranspose2d(chs, chs // 2, 4, stride=2, padding=1, bias=False), _norm(chs // 2), nn.ReLU(inplace=True)]
            chs //= 2
        up += [nn.Conv2d(chs, in_chans, 7, padding=3, bias=False), nn.Tanh()]
        super().__init__(nn.Sequential(*layers), stages, nn.Sequential(*up), info,
                         input_size=(in_chans + c_dim, img_size, img_size))
        self.c_dim, self.num_blocks, self.stage_blocks = c_dim, sum(per_stage), tuple(per_stage)


class _DiscriminatorHead(nn.Module):
    """PatchGAN source map and domain logits from the last feature map: ``(src, cls)``."""

    def __init__(self, chs: int, c_dim: int, final_size: int) -> None:
        super().__init__()
        self.src = nn.Conv2d(chs, 1, 3, padding=1, bias=False)
        self.cls = nn.Conv2d(chs, c_dim, final_size, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.src(x), self.cls(x).flatten(1)


class StarGANDiscriminator(StagedNet):
    """PatchGAN discriminator with an auxiliary domain classifier; ``forward`` returns ``(src, cls)``.

    Not a ``ClassifierNet``: its head returns two outputs and its domain classifier is a conv,
    so it has no timm classifier interface (``c_dim`` is its number of domains).
    """

    def __init__(
        self,
        *,
        c_dim: int = 5,
        conv_dim: int = 64,
        repeat_num: int = 6,
        img_size: int = 128,
        in_chans: int = 3,
    ) -> None:
        if repeat_num < 2 or img_size % 2**repeat_num:
            raise ValueError(
                f"img_size must be a multiple of 2**repeat_num = {2**repeat_num} and repeat_num >= 2; "
                f"got img_size={img_size}, repeat_num={repeat_num}"
            )
        stem = nn.Sequential(nn.Conv2d(in_chans, conv_dim, 4, stride=2, padding=1), nn.LeakyReLU(0.01))
        stages, info, chs = [], [], conv_dim
        for i in range(repeat_num - 1):
            stages.append(nn.Sequential(nn.Conv2d(chs, chs * 2, 4, stride=2, padding=1), nn.LeakyReLU(0.01)))
            chs *= 2
            info.append(feature_info_entry(chs, 2 ** (i + 2), i))
        head = _DiscriminatorHead(chs, c_dim, img_size // 2**repeat_num)
        super().__init__(stem, stages, head, info, input_size=(in_chans, img_size, img_size))
        self.c_dim = c_dim


@register_model
def stargan_generator(**kwargs) -> StarGANGenerator:
    """StarGAN generator; ``num_blocks`` residual blocks (6 in the paper) in ``num_stages`` stages
    (or ``stage_blocks=(n_0, n_1, …)`` blocks per stage)."""
    return StarGANGenerator(**kwargs)


@register_model
def stargan_discriminator(**kwargs) -> StarGANDiscriminator:
    """StarGAN discriminator; ``forward`` returns ``(src, cls)``."""
    return StarGANDiscriminator(**kwargs)
