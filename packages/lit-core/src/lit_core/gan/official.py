"""Explicit key mapping from the official StarGAN checkpoints to ``lit_models``' StarGAN names.

Official generator (yunjey/stargan ``model.py``), one ``main`` Sequential::

    main.0 conv7×7, main.1 IN | main.3 conv↓, main.4 IN | main.6 conv↓, main.7 IN     → stem.{same}
    main.{9+k}.main.{0,1,3,4}   residual block k (conv, IN, conv, IN)               → stages.s.b.body.{same}
    main.{9+R}, +1, +3, +4, +6  convT, IN, convT, IN, conv7×7 (R = number of blocks) → head.{0,1,3,4,6}

The LIT authors' fork (lit-code ``stargan/model.py``) names the same three parts
``downsampling_layers``, ``bottleneck_section1.{k}.main`` and ``upsampling_layers``; both map.
Block k goes to the stage that holds it under ``stage_blocks`` (the target model's split).

Official discriminator: ``main.{2i}`` (stride-2 convs, LeakyReLU between) → ``stem.0`` for i = 0 and
``stages.{i-1}.0`` after; ``conv1`` (PatchGAN source) → ``head.src``; ``conv2`` (domains) → ``head.cls``.

A key that fits none of these raises one ``ValueError`` naming it.
"""

from __future__ import annotations

import re

import torch

from ..errors import ConfigError

__all__ = ["convert_discriminator", "convert_generator", "is_official_discriminator", "is_official_generator"]

_G_STEM = (0, 1, 3, 4, 6, 7)
_G_HEAD = (0, 1, 3, 4, 6)
_BLOCK = re.compile(r"^(?:main|bottleneck_section1)\.(\d+)\.main\.(\d+)\.(.+)$")
_FLAT = re.compile(r"^(main|downsampling_layers|upsampling_layers)\.(\d+)\.(.+)$")


def is_official_generator(state: dict[str, torch.Tensor]) -> bool:
    """Whether ``state`` uses an official StarGAN generator layout (yunjey or lit-code)."""
    return any(_BLOCK.match(k) for k in state)


def is_official_discriminator(state: dict[str, torch.Tensor]) -> bool:
    """Whether ``state`` uses the official discriminator layout (``main.*``, ``conv1``, ``conv2``)."""
    return "conv1.weight" in state and "conv2.weight" in state and any(k.startswith("main.") for k in state)


def _block_index(k: int, stage_blocks: list[int]) -> str:
    for s, n in enumerate(stage_blocks):
        if k < n:
            return f"stages.{s}.{k}"
        k -= n
    raise ConfigError(f"the checkpoint has more residual blocks than the model's {sum(stage_blocks)}; "
                     "set models.teacher_blocks to the checkpoint's block count")


def convert_generator(state: dict[str, torch.Tensor], stage_blocks: list[int] | None = None) -> dict[str, torch.Tensor]:
    """An official generator ``state_dict`` → ``StarGANGenerator`` names (``stage_blocks``: the split)."""
    blocks = sorted({int(m.group(1)) for k in state if (m := _BLOCK.match(k))})
    if not blocks:
        raise ConfigError("not an official StarGAN generator checkpoint: no residual-block keys "
                         "(main.<k>.main.* or bottleneck_section1.<k>.main.*)")
    forked = any(k.startswith("bottleneck_section1.") for k in state)
    first, num = (0 if forked else blocks[0]), len(blocks)
    if not forked and first != 9:
        raise ConfigError(f"official generator: residual blocks start at main.{first}, expected main.9")
    stage_blocks = list(stage_blocks or [num])
    if sum(stage_blocks) != num:
        raise ConfigError(f"the checkpoint's generator has {num} residual blocks but the model has "
                         f"{sum(stage_blocks)} ({stage_blocks}); set models.teacher_blocks to match")
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        out[_generator_key(key, first, num, forked, stage_blocks)] = tensor
    return out


def _generator_key(key: str, first: int, num: int, forked: bool, stage_blocks: list[int]) -> str:
    if m := _BLOCK.match(key):
        return f"{_block_index(int(m.group(1)) - first, stage_blocks)}.body.{m.group(2)}.{m.group(3)}"
    if m := _FLAT.match(key):
        part, idx, rest = m.group(1), int(m.group(2)), m.group(3)
        if forked:
            if part == "downsampling_layers" and idx in _G_STEM:
                return f"stem.{idx}.{rest}"
            if part == "upsampling_layers" and idx in _G_HEAD:
                return f"head.{idx}.{rest}"
        elif part == "main":
            if idx < first and idx in _G_STEM:
                return f"stem.{idx}.{rest}"
            if idx - first - num in _G_HEAD:
                return f"head.{idx - first - num}.{rest}"
    raise ConfigError(f"checkpoint key {key!r} does not map onto the StarGAN generator (expected "
                     "main.<i>.*, downsampling_layers/bottleneck_section1/upsampling_layers.*); "
                     "is this an official StarGAN G checkpoint?")


def convert_discriminator(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An official discriminator ``state_dict`` → ``StarGANDiscriminator`` names."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        m = re.match(r"^main\.(\d+)\.(weight|bias)$", key)
        if m and int(m.group(1)) % 2 == 0:
            i = int(m.group(1)) // 2
            out[f"stem.0.{m.group(2)}" if i == 0 else f"stages.{i - 1}.0.{m.group(2)}"] = tensor
        elif key in ("conv1.weight", "conv2.weight"):
            out[f"head.{'src' if key == 'conv1.weight' else 'cls'}.weight"] = tensor
        else:
            raise ConfigError(f"checkpoint key {key!r} does not map onto the StarGAN discriminator "
                             "(expected main.<2i>.weight/bias, conv1.weight, conv2.weight)")
    return out
