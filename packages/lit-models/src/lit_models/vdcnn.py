"""VDCNN (Conneau et al. 2017): very deep character-level CNNs for text classification.

Input: ``(B, seq_len)`` character ids (``seq_len`` 1014 as in the LIT code; id 0 is padding,
see ``encode_text``; ``vocab_size`` must cover the ids a quantizer produces, e.g. lit_core's
``DataSplits.model_kwargs()``). Stem = 16-dim embedding + temporal conv (k=3, 64 ch); 4 stages
of 64/128/256/512 channels made of conv blocks (conv-BN-ReLU ×2, optional shortcut); stages 1–3
start by halving the sequence (max-pool k=3 s=2, or k-max pooling); head = k-max pooling (k=8)
+ FC 2048-2048-classes. Depths 9/17/29/49 = blocks per stage [1,1,1,1] / [2,2,2,2] / [5,5,2,2]
/ [8,8,5,3].

The stage boundaries are the pooling points of the LIT code (``lit-code/vdcnn``): its four
``sections`` end just before each halving, and the embedding + first conv (stem) and k-max +
FCs (head) are what LIT copies from teacher to student. Every depth has the same four stages
with the same widths and reductions, so any two depths line up for LIT; the paper's pair is
vdcnn29 → vdcnn17 (Koratana et al. 2019, Table 1 and Fig. 3). ``widths`` and ``hidden`` scale
the model down for CPU runs (the paper's are the defaults).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ._base import ClassifierNet, feature_info_entry
from ._layers import init_conv_bn
from ._registry import register_model

__all__ = ["ALPHABET", "VDCNN", "KMaxPool1d", "encode_text"]

# Conneau et al. 2017, Sec. 3: 26 letters, 10 digits, 30 symbols and the space; with the padding
# and unknown ids that is their 69 tokens. lit_core.data.text.Quantizer encodes the same way.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/|_#$%^&*~`+=<>()[]{} "
PAD_ID = 0
UNKNOWN_ID = 1
_CHAR_TO_ID = {c: i + 2 for i, c in enumerate(ALPHABET)}
_BLOCKS = {9: (1, 1, 1, 1), 17: (2, 2, 2, 2), 29: (5, 5, 2, 2), 49: (8, 8, 5, 3)}
_WIDTHS = (64, 128, 256, 512)


def encode_text(texts: list[str], seq_len: int = 1014) -> torch.Tensor:
    """Character ids ``(len(texts), seq_len)`` for VDCNN: lower-cased, truncated, 0-padded.

    Characters outside ``ALPHABET`` map to the unknown id 1; the alphabet takes ids 2…68.
    """
    ids = torch.zeros(len(texts), seq_len, dtype=torch.long)
    for row, text in enumerate(texts):
        chars = [_CHAR_TO_ID.get(c, UNKNOWN_ID) for c in text.lower()[:seq_len]]
        ids[row, : len(chars)] = torch.tensor(chars, dtype=torch.long)
    return ids


class KMaxPool1d(nn.Module):
    """Keep the ``k`` largest values along time, in their original order (``k=None``: half)."""

    def __init__(self, k: int | None = None) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.k if self.k is not None else (x.shape[-1] + 1) // 2  # ceil(L/2), fx-traceable
        idx = x.topk(k, dim=-1).indices.sort(dim=-1).values
        return x.gather(-1, idx)

    def extra_repr(self) -> str:
        return f"k={self.k if self.k is not None else 'ceil(L/2)'}"


class ConvBlock(nn.Module):
    """conv3-BN-ReLU-conv3-BN (+ shortcut), ReLU; optionally down-samples its input first."""

    def __init__(self, in_chs: int, out_chs: int, *, shortcut: bool, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.downsample = downsample if downsample is not None else nn.Identity()
        self.conv1 = nn.Conv1d(in_chs, out_chs, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm1d(out_chs)
        self.conv2 = nn.Conv1d(out_chs, out_chs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm1d(out_chs)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module | None = None
        if shortcut:
            same = in_chs == out_chs
            self.shortcut = nn.Identity() if same else nn.Conv1d(in_chs, out_chs, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu(out)


class _Stem(nn.Module):
    """Character embedding (padding id 0) then a temporal conv k=3 to 64 channels."""

    def __init__(self, vocab_size: int, embed_dim: int, out_chs: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.conv = nn.Conv1d(embed_dim, out_chs, 3, padding=1, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.conv(self.embed(ids).transpose(1, 2))


def _downsample(pool: str) -> nn.Module:
    if pool == "max":
        return nn.MaxPool1d(3, stride=2, padding=1)
    return KMaxPool1d(None)


class VDCNN(ClassifierNet):
    """Embedding + conv stem → 4 stages (64/128/256/512 by default) → k-max pooling + 3 FCs.

    Takes token ids, so ``pretrained_cfg["input_size"]`` is ``(seq_len,)`` and its ``mean``/``std``
    are None; ``forward_head(x, pre_logits=True)`` is the second FC's ReLU output.
    """

    def __init__(
        self,
        depth: int = 9,
        *,
        num_classes: int = 5,
        pool: str = "max",
        shortcut: bool = False,
        seq_len: int = 1014,
        vocab_size: int = len(ALPHABET) + 2,
        embed_dim: int = 16,
        k: int = 8,
        hidden: int = 2048,
        widths: tuple[int, int, int, int] = _WIDTHS,
    ) -> None:
        if depth not in _BLOCKS:
            raise ValueError(f"VDCNN depth must be one of {sorted(_BLOCKS)}; got {depth}")
        if pool not in ("max", "kmax"):
            raise ValueError(f"pool must be 'max' or 'kmax' (k-max pooling); got {pool!r}")
        widths = tuple(int(w) for w in widths)
        if len(widths) != 4 or min(widths) < 1:
            raise ValueError(f"widths must be 4 positive channel counts (one per stage); got {widths}")
        if seq_len < k * 8:
            raise ValueError(f"seq_len must be at least {k * 8} (8x down-sampling, then k-max k={k}); got {seq_len}")
        stem = _Stem(vocab_size, embed_dim, widths[0])
        stages, info, in_chs = [], [], widths[0]
        for i, (n, out_chs) in enumerate(zip(_BLOCKS[depth], widths, strict=True)):
            down = _downsample(pool) if i > 0 else None
            blocks = [ConvBlock(in_chs, out_chs, shortcut=shortcut, downsample=down)]
            blocks += [ConvBlock(out_chs, out_chs, shortcut=shortcut) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            info.append(feature_info_entry(out_chs, 2**i, i))
            in_chs = out_chs
        head = nn.Sequential(
            KMaxPool1d(k), nn.Flatten(1),
            nn.Linear(in_chs * k, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )
        super().__init__(stem, stages, head, info, input_size=(seq_len,), mean=None, std=None)
        self.depth, self.vocab_size = depth, vocab_size
        init_conv_bn(self)

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        """Random character ids ``(batch_size, seq_len)`` (long)."""
        return torch.randint(1, self.vocab_size, (batch_size, *self.input_size))


def _create_vdcnn(depth: int, **kwargs) -> VDCNN:
    return VDCNN(depth, **kwargs)


@register_model
def vdcnn(*, depth: int = 9, **kwargs) -> VDCNN:
    """VDCNN of depth 9, 17, 29 or 49; ``pool="max"|"kmax"``, ``shortcut=True|False``."""
    return _create_vdcnn(depth, **kwargs)


@register_model
def vdcnn9(**kwargs) -> VDCNN:
    """VDCNN-9 (Conneau et al. 2017; the shallowest); keyword arguments as ``VDCNN``."""
    return _create_vdcnn(9, **kwargs)


@register_model
def vdcnn17(**kwargs) -> VDCNN:
    """VDCNN-17 (Conneau et al. 2017; the paper's student); keyword arguments as ``VDCNN``."""
    return _create_vdcnn(17, **kwargs)


@register_model
def vdcnn29(**kwargs) -> VDCNN:
    """VDCNN-29 (Conneau et al. 2017; the paper's teacher); keyword arguments as ``VDCNN``."""
    return _create_vdcnn(29, **kwargs)


@register_model
def vdcnn49(**kwargs) -> VDCNN:
    """VDCNN-49 (Conneau et al. 2017; the deepest); keyword arguments as ``VDCNN``."""
    return _create_vdcnn(49, **kwargs)
