"""Random fused-block cases shared by the CPU and CUDA op tests."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lit_bench.ops import fused_basic_block_reference

# (Cin, Cout, stride, shortcut): every block shape a CIFAR ResNet (16/32/64 channels) can have.
BLOCK_SHAPES = [
    (16, 16, 1, 0),
    (32, 32, 1, 0),
    (64, 64, 1, 0),
    (16, 32, 2, 1),
    (32, 64, 2, 1),
    (16, 32, 2, 2),
    (32, 64, 2, 2),
    (16, 16, 1, 2),
    (32, 32, 2, 1),
    (16, 32, 1, 1),
]
# Channel counts off the tensor-core grid (the CUDA-core path for every dtype), odd option-A padding.
ODD_SHAPES = [(8, 8, 1, 0), (12, 24, 2, 1), (24, 40, 2, 2), (16, 19, 1, 1), (3, 16, 1, 2)]
TOLERANCE = {torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 1e-2}


@dataclass(frozen=True)
class Case:
    """One block: the op's arguments, all channels_last where 4-D."""

    x: torch.Tensor
    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor
    ws: torch.Tensor | None
    bs: torch.Tensor | None
    shortcut: int
    stride: int

    def args(self) -> tuple:
        return (
            self.x,
            self.w1,
            self.b1,
            self.w2,
            self.b2,
            self.ws,
            self.bs,
            self.shortcut,
            self.stride,
        )

    def to(self, **kw) -> Case:
        conv = lambda t: None if t is None else t.to(**kw)  # noqa: E731
        return Case(*(conv(t) for t in self.args()[:7]), self.shortcut, self.stride)


def make_case(
    gen: torch.Generator,
    cin: int,
    cout: int,
    stride: int,
    shortcut: int,
    batch: int,
    size: int,
    dtype: torch.dtype,
    device: str = "cpu",
) -> Case:
    """Random inputs and He-scaled weights (so activations stay O(1) in half precision)."""

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).to(dtype)

    cl = torch.channels_last
    x = rnd(batch, cin, size, size).contiguous(memory_format=cl)
    w1 = rnd(cout, cin, 3, 3, scale=(2 / (9 * cin)) ** 0.5).contiguous(memory_format=cl)
    w2 = rnd(cout, cout, 3, 3, scale=(2 / (9 * cout)) ** 0.5).contiguous(memory_format=cl)
    b1, b2 = rnd(cout, scale=0.1), rnd(cout, scale=0.1)
    ws = bs = None
    if shortcut == 2:
        ws = rnd(cout, cin, 1, 1, scale=(1 / cin) ** 0.5).contiguous(memory_format=cl)
        bs = rnd(cout, scale=0.1)
    case = Case(x, w1, b1, w2, b2, ws, bs, shortcut, stride)
    return case.to(device=device)


def oracle(case: Case, device: str = "cpu") -> torch.Tensor:
    """The fp64 reference (on ``device``): no rounding anywhere."""
    return fused_basic_block_reference(*case.to(device=device, dtype=torch.float64).args())


def rel_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """‖out − ref‖ / ‖ref‖ in fp64 on the CPU (either may live on any device); NaN gives NaN."""
    out, ref = out.detach().cpu().double(), ref.detach().cpu().double()
    return float((out - ref).norm() / ref.norm())
