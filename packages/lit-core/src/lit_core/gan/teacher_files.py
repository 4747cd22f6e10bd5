"""Teacher checkpoints: the small shipped format, lit training states, official StarGAN files.

``save_teacher`` writes ``{"format": "lit-stargan-1", "g", "d", "stage_blocks", "c_dim",
"in_chans", "image_size", "models", "meta"}`` (weights optionally as float16 to keep the shipped
file small; they are loaded back as float32). ``load_teacher`` reads that, a ``train_gan``
state (``g``/``d``/``iter``…), or an official StarGAN generator file (``*-G.ckpt``; its
``*-D.ckpt`` sibling is loaded too when present), always with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..errors import ConfigError, MissingFileError
from ..io.checkpoint import load_checkpoint, load_state_into, save_atomic
from .official import convert_discriminator, convert_generator, is_official_generator

__all__ = ["load_generator_state", "load_teacher", "save_teacher"]

FORMAT = "lit-stargan-1"


def save_teacher(g: nn.Module, d: nn.Module, path: Path, *, models: dict, meta: dict,
                 dtype: torch.dtype = torch.float32) -> Path:
    """Write the portable teacher file (floating tensors cast to ``dtype``)."""
    def cast(sd: dict) -> dict:
        return {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}

    return save_atomic({"format": FORMAT, "g": cast(g.state_dict()), "d": cast(d.state_dict()),
                        "stage_blocks": list(g.stage_blocks), "c_dim": g.c_dim,
                        "in_chans": g.input_size[0] - g.c_dim, "image_size": g.input_size[-1],
                        "models": models, "meta": meta}, path)


def _float32(sd: dict) -> dict:
    return {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}


def load_generator_state(path: Path, stage_blocks: list[int]) -> tuple[dict, dict | None, dict]:
    """(G state, D state or None, meta) in lit_models names, from any supported teacher file."""
    ck = load_checkpoint(path)
    if not isinstance(ck, dict) or not ck:
        raise ConfigError(f"{path} is not a StarGAN checkpoint (empty or not a dict)")
    if ck.get("format") == FORMAT or ("g" in ck and "d" in ck):
        return _float32(ck["g"]), _float32(ck["d"]), {k: ck[k] for k in ("meta", "iter", "history") if k in ck}
    if is_official_generator(ck):
        g = convert_generator(ck, stage_blocks)
        d_path = path.with_name(path.name.replace("-G.", "-D.")) if "-G." in path.name else None
        d = convert_discriminator(load_checkpoint(d_path)) if d_path is not None and d_path.is_file() else None
        return g, d, {"meta": {"source": f"official StarGAN checkpoint {path.name}"}}
    first = next(iter(ck))
    raise ConfigError(f"{path}: key {first!r} does not map onto a StarGAN generator; expected a lit "
                     "teacher file (format/g/d) or an official StarGAN G state_dict (main.<i>.*)")


def load_teacher(path: Path, g: nn.Module, d: nn.Module | None) -> dict:
    """Load a teacher file into ``g`` (and ``d`` when the file has one); returns its meta."""
    if not path.is_file():
        raise MissingFileError(f"no teacher checkpoint at {path}; train one with "
                                "`python -m lit_core.gan --preset gan-cpu --train-teacher`")
    g_sd, d_sd, meta = load_generator_state(path, list(g.stage_blocks))
    load_state_into(g, g_sd)
    if d is not None and d_sd is not None:
        load_state_into(d, d_sd)
    meta["has_d"] = d_sd is not None
    return meta
