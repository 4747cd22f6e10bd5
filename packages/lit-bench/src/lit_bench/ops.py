"""The fused residual-block op: ``torch.ops.lit.fused_basic_block``, its reference and fallback.

Schema (declared once, in ``csrc/ops.cpp``)::

    lit::fused_basic_block(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws,
                           Tensor? bs, int shortcut, int stride) -> Tensor
    lit::fused_basic_block.out(..., *, Tensor(a!) out) -> Tensor(a!)

computes, for inference, one CIFAR ResNet BasicBlock with BN folded into the convs::

    out = relu(conv3x3(relu(conv3x3_stride(x, w1) + b1), w2) + b2 + shortcut(x))

Layouts: ``x`` is an ``[N, Cin, H, W]`` tensor that is channels_last-contiguous (NHWC in memory);
``w1 [Cmid, Cin, 3, 3]``, ``w2 [Cout, Cmid, 3, 3]`` and ``ws [Cout, Cin, 1, 1]`` are
channels_last-contiguous (OHWI in memory) — or, on the CPU, oneDNN-prepacked (see
:func:`prepack_weight`); biases are ``[Cmid]`` and ``[Cout]``; every tensor has x's dtype
(float32, float16 or bfloat16; accumulation is fp32 and the intermediate activation is rounded to
x's dtype). The result is ``[N, Cout, Ho, Wo]`` channels_last with ``Ho = (H - 1) // stride + 1``.
``shortcut``: ``Shortcut.IDENTITY`` (0), ``Shortcut.A`` (1: subsample, zero channel padding) or
``Shortcut.B`` (2: 1×1 conv); :func:`fused_basic_block` also takes the names ``"identity"``/``"A"``/``"B"``.
``Cmid`` (inner channels) equals ``Cout`` in a dense ResNet and differs after structured pruning;
the CUDA kernels need ``Cmid == Cout``. ``out`` must not overlap any input (it is an error).
The op is inference-only: inputs that require grad (with grad mode on) raise a ``RuntimeError``.

:func:`fused_basic_block` is what callers use: the native op when it loaded, else the reference.
"""

from __future__ import annotations

import enum
import functools
import os

import torch
import torch.nn.functional as F

from . import _extension

__all__ = [
    "SHORTCUT_IDENTITY",
    "SHORTCUT_OPTION_A",
    "SHORTCUT_OPTION_B",
    "Shortcut",
    "fused_basic_block",
    "fused_basic_block_reference",
    "is_available",
    "onednn_dtypes",
    "prepack_weight",
]

class Shortcut(enum.IntEnum):
    """The residual path of a block, by name: the op's ``int shortcut`` argument."""

    IDENTITY = 0  # x itself
    A = 1  # option A: subsample, zero channel padding (He et al.'s CIFAR ResNets)
    B = 2  # option B: 1×1 conv projection

    @classmethod
    def of(cls, kind: str | int) -> Shortcut:
        """``"identity"``, ``"A"``/``"option_a"``, ``"B"``/``"option_b"``, or a ``Shortcut``."""
        if isinstance(kind, str):
            key = kind.strip().upper().removeprefix("OPTION_").removeprefix("OPTION ")
            if key in cls.__members__:
                return cls[key]
            raise ValueError(f"shortcut must be 'identity', 'A' or 'B'; got {kind!r}")
        return cls(int(kind))


SHORTCUT_IDENTITY, SHORTCUT_OPTION_A, SHORTCUT_OPTION_B = Shortcut.IDENTITY, Shortcut.A, Shortcut.B


def _shortcut(x: torch.Tensor, ws, bs, shortcut: int, stride: int, cout: int) -> torch.Tensor:
    if shortcut == SHORTCUT_IDENTITY:
        return x
    if shortcut == SHORTCUT_OPTION_A:
        sub = x[:, :, ::stride, ::stride]
        extra = cout - x.shape[1]
        return F.pad(sub, (0, 0, 0, 0, extra // 2, extra - extra // 2))
    return F.conv2d(x, ws, bs, stride=stride)


def fused_basic_block_reference(
    x: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    ws: torch.Tensor | None = None,
    bs: torch.Tensor | None = None,
    shortcut: int = SHORTCUT_IDENTITY,
    stride: int = 1,
) -> torch.Tensor:
    """The op's maths in plain PyTorch (fp32 compute for half types): fallback and test oracle.

    float64 inputs are computed in float64 with no intermediate rounding (the test oracle).
    """
    dtype = x.dtype
    cdt = torch.float64 if dtype == torch.float64 else torch.float32
    f = [None if t is None else t.to(cdt) for t in (x, w1, b1, w2, b2, ws, bs)]
    xf, w1f, b1f, w2f, b2f, wsf, bsf = f
    mid = F.relu(F.conv2d(xf, w1f, b1f, stride=stride, padding=1))
    mid = mid.to(dtype).to(cdt)  # the native kernels keep the intermediate in x's dtype
    out = F.conv2d(mid, w2f, b2f, padding=1)
    out = F.relu(out + _shortcut(xf, wsf, bsf, shortcut, stride, w2.shape[0]))
    return out.to(dtype).contiguous(memory_format=torch.channels_last)


def _fake(x, w1, b1, w2, b2, ws, bs, shortcut, stride):
    n, _, h, w = x.shape
    ho, wo = (h - 1) // stride + 1, (w - 1) // stride + 1
    return x.new_empty((n, w2.shape[0], ho, wo)).contiguous(memory_format=torch.channels_last)


def _fake_out(x, w1, b1, w2, b2, ws, bs, shortcut, stride, *, out):
    return out


@functools.cache
def is_available() -> bool:
    """Whether the native ``torch.ops.lit`` op is loaded (builds it on the first call)."""
    if not _extension.load_library():
        return False
    torch.library.register_fake("lit::fused_basic_block")(_fake)
    torch.library.register_fake("lit::fused_basic_block.out")(_fake_out)
    return True


@functools.cache
def onednn_dtypes() -> tuple[torch.dtype, ...]:
    """Dtypes the native CPU kernel runs through oneDNN here (empty: the portable kernel runs)."""
    if not is_available() or not torch.backends.mkldnn.is_available():
        return ()
    if os.environ.get("LIT_CPU_KERNEL") == "portable":
        return ()
    mk = torch.ops.mkldnn
    half = [(torch.bfloat16, mk._is_mkldnn_bf16_supported), (torch.float16, mk._is_mkldnn_fp16_supported)]
    return (torch.float32, *(dt for dt, ok in half if ok()))


def prepack_weight(w: torch.Tensor, stride: int, input_shape: tuple[int, ...]) -> torch.Tensor:
    """A conv weight reordered once into oneDNN's blocked layout for inputs of ``input_shape``.

    The op's CPU kernel takes such a tensor in place of the dense channels_last weight (so oneDNN
    does not reorder the weight on every call); only where ``w.dtype in onednn_dtypes()``.
    """
    pad = w.shape[-1] // 2
    return torch.ops.mkldnn._reorder_convolution_weight(
        w.contiguous(), [pad, pad], [stride, stride], [1, 1], 1, list(input_shape)
    )


def _layout(t: torch.Tensor | None) -> torch.Tensor | None:
    if t is None or t.dim() != 4 or t.is_mkldnn:
        return t
    return t.contiguous(memory_format=torch.channels_last)


def fused_basic_block(
    x: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    ws: torch.Tensor | None = None,
    bs: torch.Tensor | None = None,
    *,
    shortcut: Shortcut | str = Shortcut.IDENTITY,
    stride: int = 1,
) -> torch.Tensor:
    """One BN-folded BasicBlock: the native op when it loaded, else the PyTorch reference.
    ``shortcut`` by name: ``"identity"``, ``"A"`` (zero-padding) or ``"B"`` (1×1 projection)."""
    shortcut = int(Shortcut.of(shortcut))
    if is_available():
        x, w1, w2, ws = _layout(x), _layout(w1), _layout(w2), _layout(ws)
        return torch.ops.lit.fused_basic_block(x, w1, b1, w2, b2, ws, bs, shortcut, stride)
    return fused_basic_block_reference(x, w1, b1, w2, b2, ws, bs, shortcut, stride)
