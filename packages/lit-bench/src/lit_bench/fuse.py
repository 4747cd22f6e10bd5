"""``fuse_model``: a CIFAR ResNet as stem → fused residual blocks → head, BN folded, NHWC inside.

Each BasicBlock becomes one :class:`FusedBasicBlock`, i.e. one ``lit::fused_basic_block`` call
(one kernel launch on a GPU). Blocks are recognised by structure, not class: anything with
``conv1, bn1, conv2, bn2, shortcut`` where the convs are 3×3/pad 1 and the shortcut is
``nn.Identity``, an option-A ``PadShortcut`` (``in_chs, out_chs, stride``) or ``Sequential(1×1
conv, BN)``. Anything else raises a ``ValueError`` naming the module. Structured-pruned blocks
(conv1 with fewer or more channels than the block's output) are supported.

On the CPU the op runs as oneDNN primitives; their weights are prepacked into oneDNN's layout once
per block, dtype and input shape (``fuse_model(model, example)`` does it up front; a new shape
packs on its first call). On CUDA a pruned block with fewer inner channels than outputs is
zero-padded to the kernels' ``Cmid == Cout`` once (exact: padded channels are ReLU(0) = 0 and meet
zero weights); more inner than output channels is an error on CUDA.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import ops
from .fold import fold_bn

__all__ = ["FusedBasicBlock", "FusedResNet", "fuse_model"]

_MAX_PACKED = 8  # oneDNN packings kept per block (one per input shape and dtype)
_SUPPORTED_SHORTCUTS = "Identity, option-A PadShortcut, and 1x1-conv+BN shortcuts"


class FusedBasicBlock(nn.Module):
    """One BN-folded BasicBlock run by ``lit_bench.ops.fused_basic_block`` (NHWC in and out).

    Conv weights are stored as 2-D ``[Cout, kh*kw*Cin]`` (OHWI order) so ``Module.to(memory_format=
    ...)`` cannot re-lay them out; ``forward`` views them as channels_last ``[Cout, Cin, kh, kw]``
    (or uses their oneDNN-prepacked / CUDA-padded forms, cached per device, dtype and shape).
    """

    def __init__(
        self,
        w1: torch.Tensor,
        b1: torch.Tensor,
        w2: torch.Tensor,
        b2: torch.Tensor,
        ws: torch.Tensor | None,
        bs: torch.Tensor | None,
        *,
        shortcut: int,
        stride: int,
    ) -> None:
        super().__init__()
        self.in_chs, self.mid_chs, self.out_chs = w1.shape[1], w1.shape[0], w2.shape[0]
        self.shortcut, self.stride = shortcut, stride
        self.register_buffer("w1", _ohwi_2d(w1))
        self.register_buffer("b1", b1.detach().clone())
        self.register_buffer("w2", _ohwi_2d(w2))
        self.register_buffer("b2", b2.detach().clone())
        self.register_buffer("ws", None if ws is None else _ohwi_2d(ws))
        self.register_buffer("bs", None if bs is None else bs.detach().clone())
        self._cache: dict[Any, tuple] = {}  # derived weights; cleared when buffers move or cast

    def _apply(self, fn, recurse=True):
        self._cache = {}
        return super()._apply(fn, recurse)

    def _dense(self) -> tuple:
        cin, cmid, cout = self.in_chs, self.mid_chs, self.out_chs
        ws = None if self.ws is None else _conv_view(self.ws, cout, cin, 1)
        w1, w2 = _conv_view(self.w1, cmid, cin, 3), _conv_view(self.w2, cout, cmid, 3)
        return w1, self.b1, w2, self.b2, ws, self.bs

    def _weights(self, x: torch.Tensor) -> tuple:
        """The op's weight arguments for input ``x`` (prepacked on CPU, padded on CUDA)."""
        if x.device.type == "cpu" and x.dtype in ops.onednn_dtypes():
            key = ("onednn", x.dtype, tuple(x.shape))
            if key not in self._cache:
                if len(self._cache) >= _MAX_PACKED:  # many shapes: drop the oldest packing
                    del self._cache[next(iter(self._cache))]
                self._cache[key] = self._prepacked(x.shape)
            return self._cache[key]
        if x.is_cuda and self.mid_chs != self.out_chs:
            key = ("cuda-padded", x.device, x.dtype)
            if key not in self._cache:
                self._cache[key] = self._padded_mid()
            return self._cache[key]
        return self._dense()

    def _prepacked(self, shape: torch.Size) -> tuple:
        w1, b1, w2, b2, ws, bs = self._dense()
        n, _, h, w = shape
        ho, wo = (h - 1) // self.stride + 1, (w - 1) // self.stride + 1
        s = self.stride
        return (
            ops.prepack_weight(w1, s, shape),
            b1,
            ops.prepack_weight(w2, 1, (n, self.mid_chs, ho, wo)),
            b2,
            None if ws is None else ops.prepack_weight(ws, s, shape),
            bs,
        )

    def _padded_mid(self) -> tuple:
        if self.mid_chs > self.out_chs:
            raise NotImplementedError(
                f"fused_basic_block on CUDA needs inner channels <= output channels (pruned block "
                f"with Cmid={self.mid_chs} > Cout={self.out_chs}); run this model on the CPU"
            )
        w1, b1, w2, b2, ws, bs = self._dense()
        extra = self.out_chs - self.mid_chs
        w1 = F.pad(w1, (0, 0, 0, 0, 0, 0, 0, extra))  # zero filters: mid channels = ReLU(0) = 0
        w2 = F.pad(w2, (0, 0, 0, 0, 0, extra))  # ... which meet zero weights in conv2
        cl = torch.channels_last
        return w1.contiguous(memory_format=cl), F.pad(b1, (0, extra)), w2.contiguous(memory_format=cl), b2, ws, bs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        w1, b1, w2, b2, ws, bs = self._weights(x)
        return ops.fused_basic_block(
            x, w1, b1, w2, b2, ws, bs, shortcut=self.shortcut, stride=self.stride
        )

    def extra_repr(self) -> str:
        kind = {0: "identity", 1: "option A", 2: "option B"}[self.shortcut]
        mid = "" if self.mid_chs == self.out_chs else f", mid={self.mid_chs}"
        return f"{self.in_chs}, {self.out_chs}{mid}, stride={self.stride}, shortcut={kind}"


class FusedResNet(nn.Module):
    """stem (BN folded) → stages of FusedBasicBlocks → head; activations channels_last inside."""

    def __init__(self, stem: nn.Module, stages: nn.ModuleList, head: nn.Module) -> None:
        super().__init__()
        self.stem, self.stages, self.head = stem, stages, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x.contiguous(memory_format=torch.channels_last))
        x = x.contiguous(memory_format=torch.channels_last)
        for stage in self.stages:
            x = stage(x)
        return self.head(x)


def _ohwi_2d(w: torch.Tensor) -> torch.Tensor:
    return w.detach().permute(0, 2, 3, 1).reshape(w.shape[0], -1).contiguous()


def _conv_view(w2d: torch.Tensor, cout: int, cin: int, k: int) -> torch.Tensor:
    return w2d.view(cout, k, k, cin).permute(0, 3, 1, 2)


def _bias(conv: nn.Conv2d) -> torch.Tensor:
    if conv.bias is not None:
        return conv.bias.detach()
    return torch.zeros(conv.out_channels, dtype=conv.weight.dtype, device=conv.weight.device)


def _check_conv(conv: nn.Module, name: str, kernel: int, strides: tuple[int, ...]) -> nn.Conv2d:
    pad = kernel // 2
    ok = (
        isinstance(conv, nn.Conv2d)
        and conv.kernel_size == (kernel, kernel)
        and conv.padding == (pad, pad)
        and conv.stride[0] == conv.stride[1]
        and conv.stride[0] in strides
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )
    if not ok:
        raise ValueError(
            f"{name}: unsupported module {conv!r}; fuse_model needs a {kernel}x{kernel} Conv2d with "
            f"padding {pad}, stride in {strides}, no groups or dilation"
        )
    return conv


def _check_folded(bn: nn.Module, name: str) -> None:
    if not isinstance(bn, nn.Identity):
        raise ValueError(
            f"{name}: {type(bn).__name__} could not be folded into its conv (a BatchNorm2d needs "
            "running statistics, and must directly follow the conv); fuse_model needs foldable BN"
        )


def _is_pad_shortcut(m: nn.Module) -> bool:
    return type(m).__name__ == "PadShortcut" and all(
        hasattr(m, a) for a in ("in_chs", "out_chs", "stride")
    )


def _fuse_block(block: nn.Module, name: str) -> FusedBasicBlock:
    if not all(hasattr(block, a) for a in ("conv1", "bn1", "conv2", "bn2", "shortcut")):
        raise ValueError(
            f"{name}: unsupported module {type(block).__name__}; fuse_model supports CIFAR "
            "BasicBlocks (conv1, bn1, conv2, bn2, shortcut)"
        )
    conv1 = _check_conv(block.conv1, f"{name}.conv1", 3, (1, 2))
    conv2 = _check_conv(block.conv2, f"{name}.conv2", 3, (1,))
    _check_folded(block.bn1, f"{name}.bn1")
    _check_folded(block.bn2, f"{name}.bn2")
    stride, cin, cout = conv1.stride[0], conv1.in_channels, conv2.out_channels
    if conv2.in_channels != conv1.out_channels:
        raise ValueError(
            f"{name}: conv1 gives {conv1.out_channels} channels but conv2 takes "
            f"{conv2.in_channels}; the block is inconsistent"
        )
    sc, ws, bs = block.shortcut, None, None
    if isinstance(sc, nn.Identity) and cin == cout and stride == 1:
        mode = ops.Shortcut.IDENTITY
    elif _is_pad_shortcut(sc) and (sc.in_chs, sc.out_chs, sc.stride) == (cin, cout, stride):
        mode = ops.Shortcut.A
    elif isinstance(sc, nn.Sequential) and len(sc) == 2 and isinstance(sc[0], nn.Conv2d):
        proj = _check_conv(sc[0], f"{name}.shortcut.0", 1, (stride,))
        _check_folded(sc[1], f"{name}.shortcut.1")
        mode, ws, bs = ops.Shortcut.B, proj.weight.detach(), _bias(proj)
    else:
        raise ValueError(
            f"{name}.shortcut: unsupported module {type(sc).__name__} (for Cin={cin}, Cout={cout}, "
            f"stride={stride}); fuse_model supports {_SUPPORTED_SHORTCUTS}"
        )
    return FusedBasicBlock(
        conv1.weight.detach(),
        _bias(conv1),
        conv2.weight.detach(),
        _bias(conv2),
        ws,
        bs,
        shortcut=mode,
        stride=stride,
    )


@torch.no_grad()
def fuse_model(model: nn.Module, example: torch.Tensor | None = None) -> FusedResNet:
    """A CIFAR ResNet (option A or B shortcuts) as stem → fused blocks → head, for inference.

    Each BasicBlock (BN folded) runs as one ``lit::fused_basic_block`` op: the native kernel
    when the extension builds, else its PyTorch reference. Inference only (no backward).

    Args:
        model: a staged CIFAR ResNet (unchanged; its BN statistics are folded into a copy).
        example: an input batch; the result is moved to its device and dtype and run once,
            which prepacks every block's weights for oneDNN (CPU) for that input shape.

    Returns:
        The ``FusedResNet``.

    Raises:
        ValueError: the model has no stage interface or a block the op cannot run.

    Examples:
        >>> import torch
        >>> from lit_models import create_model
        >>> model, x = create_model("resnet20").eval(), torch.randn(2, 3, 32, 32)
        >>> with torch.no_grad():
        ...     torch.allclose(fuse_model(model, x)(x), model(x), atol=1e-4)
        True
    """
    for part in ("stem", "stages", "head"):
        if not hasattr(model, part):
            raise ValueError(
                f"fuse_model needs a staged CIFAR ResNet (stem, stages, head); "
                f"{type(model).__name__} has no {part!r}"
            )
    folded = fold_bn(model)
    stages = nn.ModuleList()
    for i, stage in enumerate(folded.stages):
        blocks = stage if isinstance(stage, nn.Sequential) else [stage]
        stages.append(
            nn.Sequential(*(_fuse_block(b, f"stages.{i}.{j}") for j, b in enumerate(blocks)))
        )
    fused = FusedResNet(folded.stem, stages, folded.head)
    param = next(model.parameters(), None)
    fused = fused.to(param.device) if param is not None else fused
    if example is not None:
        fused = fused.to(device=example.device, dtype=example.dtype).eval()
        fused(example)
    return fused
