"""The CUDA kernels of lit::fused_basic_block against the fp64 reference (runs where a GPU is lent).

Covers both kernels (tensor-core MMA for fp16/bf16 with 16-multiple channels, CUDA cores
otherwise), both tile sizes (4 at small batch, 8 once the grid fills the GPU), every block shape,
batch 1…4096, poisoned outputs, CUDA graph capture and non-default streams.
"""

from __future__ import annotations

import pytest
import torch
from _fused_cases import BLOCK_SHAPES, ODD_SHAPES, TOLERANCE, make_case, oracle, rel_error

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.ext,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.usefixtures("native_op"),
]

DTYPES = [torch.float32, torch.bfloat16, torch.float16]
BATCHES = [1, 2, 3, 7, 17, 64, 300]
SIZES = [1, 5, 8, 13, 16, 32]


def _poisoned_out(ref: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return torch.full(ref.shape, float("nan"), dtype=dtype, device="cuda").contiguous(
        memory_format=torch.channels_last
    )


def _check(case, dtype, label):
    ref = oracle(case, device="cuda")
    out = _poisoned_out(ref, dtype)
    torch.ops.lit.fused_basic_block.out(*case.args(), out=out)
    torch.cuda.synchronize()
    assert not out.isnan().any(), f"{label}: unwritten or NaN output"
    err = rel_error(out, ref)
    assert err <= TOLERANCE[dtype], f"{label}: rel error {err:.2e}"


def test_240_random_cases_match_fp64_reference():
    gen = torch.Generator().manual_seed(0)
    shapes = BLOCK_SHAPES + ODD_SHAPES
    for i in range(240):
        shape = shapes[i % len(shapes)]
        dtype = DTYPES[(i // len(shapes)) % 3]
        batch = BATCHES[int(torch.randint(len(BATCHES), (), generator=gen))]
        size = SIZES[int(torch.randint(len(SIZES), (), generator=gen))]
        case = make_case(gen, *shape, batch, size, dtype, device="cuda")
        _check(case, dtype, f"case {i}: shape={shape} {dtype} batch={batch} size={size}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BLOCK_SHAPES[:7])
def test_batch_4096_matches_reference(shape, dtype):
    gen = torch.Generator().manual_seed(1)
    case = make_case(gen, *shape, 4096, 8, dtype, device="cuda")
    _check(case, dtype, f"batch 4096 {shape} {dtype}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_resnet20_sizes_at_batch_1_and_1024(dtype):
    gen = torch.Generator().manual_seed(2)
    for cin, cout, stride, shortcut, size in [
        (16, 16, 1, 0, 32),
        (16, 32, 2, 1, 32),
        (32, 32, 1, 0, 16),
        (32, 64, 2, 1, 16),
        (64, 64, 1, 0, 8),
    ]:
        for batch in (1, 1024):
            case = make_case(gen, cin, cout, stride, shortcut, batch, size, dtype, device="cuda")
            _check(case, dtype, f"{cin}->{cout} s{stride} {size}px batch {batch} {dtype}")


def test_misaligned_input_takes_the_safe_path():
    gen = torch.Generator().manual_seed(3)
    case = make_case(gen, 32, 32, 1, 0, 4, 16, torch.bfloat16, device="cuda")
    buf = torch.empty(case.x.numel() + 1, dtype=torch.bfloat16, device="cuda")
    x = buf[1:].view(4, 16, 16, 32).permute(0, 3, 1, 2)  # channels_last, 2-byte offset
    x.copy_(case.x)
    assert x.is_contiguous(memory_format=torch.channels_last) and x.data_ptr() % 16 != 0
    args = (x, *case.args()[1:])
    out = torch.ops.lit.fused_basic_block(*args)
    assert rel_error(out, oracle(case, device="cuda")) <= 1e-2


def test_runs_on_current_stream_and_in_cuda_graphs():
    gen = torch.Generator().manual_seed(4)
    case = make_case(gen, 16, 32, 2, 2, 8, 32, torch.bfloat16, device="cuda")
    ref = oracle(case, device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        out = torch.ops.lit.fused_basic_block(*case.args())  # warm-up on a side stream
    torch.cuda.current_stream().wait_stream(side)
    assert rel_error(out, ref) <= 1e-2
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = torch.ops.lit.fused_basic_block(*case.args())
    static_out.fill_(float("nan"))
    graph.replay()
    torch.cuda.synchronize()
    assert rel_error(static_out, ref) <= 1e-2


def test_fuse_model_on_cuda_matches_original():
    from lit_bench.fuse import fuse_model
    from lit_models import create_model

    torch.manual_seed(0)
    model = create_model("resnet20").eval().cuda()
    x = torch.randn(16, 3, 32, 32, device="cuda")
    # the stem stays a stock conv: keep cuDNN off TF32 so fp32 means fp32
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        ref = model.double()(x.double())
        fused = fuse_model(model.float())
        assert rel_error(fused(x), ref) <= 1e-5
        assert rel_error(fused.to(torch.bfloat16)(x.bfloat16()), ref) <= 5e-2


def test_opcheck_passes_on_cuda():
    gen = torch.Generator().manual_seed(5)
    for shape, dtype in [((16, 16, 1, 0), torch.float32), ((16, 32, 2, 2), torch.bfloat16)]:
        case = make_case(gen, *shape, 2, 8, dtype, device="cuda")
        torch.library.opcheck(torch.ops.lit.fused_basic_block.default, case.args())


def test_out_aliasing_x_is_rejected_on_cuda():
    gen = torch.Generator().manual_seed(6)
    case = make_case(gen, 16, 16, 1, 0, 1, 32, torch.bfloat16, device="cuda")
    with pytest.raises(RuntimeError, match="out overlaps x in memory"):
        torch.ops.lit.fused_basic_block.out(*case.args(), out=case.x)


def test_inputs_that_require_grad_are_rejected_on_cuda():
    gen = torch.Generator().manual_seed(7)
    args = list(make_case(gen, 16, 16, 1, 0, 1, 8, torch.float32, device="cuda").args())
    args[1] = args[1].clone().requires_grad_()
    with pytest.raises(RuntimeError, match="w1 requires grad, but the op is inference-only"):
        torch.ops.lit.fused_basic_block(*args)


def test_structured_pruned_model_runs_on_cuda_via_zero_padding():
    from lit_bench.fuse import fuse_model
    from lit_bench.prune import LI2017_CONFIGS, l1_filter_prune
    from lit_models import create_model

    torch.manual_seed(0)
    model = l1_filter_prune(create_model("resnet56").eval(), LI2017_CONFIGS["resnet56"]["B"]).eval()
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        ref = model.double()(x.double())
        fused = fuse_model(model.float().cuda()).to(torch.bfloat16)
        assert rel_error(fused(x.cuda().bfloat16()), ref) <= 5e-2
