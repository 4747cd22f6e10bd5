"""lit::fused_basic_block's kernels against the fp64 reference, on each device (``device`` fixture).

The ``cuda`` parametrization is the point (it runs where a GPU is lent): both CUDA kernels
(tensor-core MMA for fp16/bf16 with 16-multiple channels, CUDA cores otherwise), both tile sizes
(4 at small batch, 8 once the grid fills the GPU), every block shape, batch 1…4096, poisoned
outputs, CUDA graph capture and non-default streams. The ``cpu`` parametrization runs the same
bodies on the CPU kernel with smaller batches, so CI exercises every helper these tests use.
"""

from __future__ import annotations

import pytest
import torch
from _fused_cases import BLOCK_SHAPES, ODD_SHAPES, TOLERANCE, make_case, oracle, rel_error

pytestmark = [pytest.mark.ext, pytest.mark.usefixtures("native_op")]

DTYPES = [torch.float32, torch.bfloat16, torch.float16]
# per device: the CPU kernel (and the fp64 oracle beside it) is ~1000× slower, so smaller sizes
BATCHES = {"cuda": [1, 2, 3, 7, 17, 64, 300], "cpu": [1, 2, 3, 7]}
SIZES = {"cuda": [1, 5, 8, 13, 16, 32], "cpu": [1, 5, 8, 13]}
RANDOM_CASES = {"cuda": 240, "cpu": 30}
LARGE_BATCH = {"cuda": 4096, "cpu": 8}
LARGE_BATCHES = {"cuda": (1, 1024), "cpu": (1, 4)}


def _poisoned_out(ref: torch.Tensor, dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.full(ref.shape, float("nan"), dtype=dtype, device=device).contiguous(
        memory_format=torch.channels_last
    )


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _check(case, dtype, label, device):
    ref = oracle(case, device=device)  # fp64 on the case's device (fast on a GPU)
    out = _poisoned_out(ref, dtype, device)
    torch.ops.lit.fused_basic_block.out(*case.args(), out=out)
    _sync(device)
    assert out.device.type == device
    assert not out.isnan().any(), f"{label}: unwritten or NaN output"
    err = rel_error(out, ref)
    assert err <= TOLERANCE[dtype], f"{label}: rel error {err:.2e}"


def test_random_cases_match_fp64_reference(device):
    gen = torch.Generator().manual_seed(0)
    shapes = BLOCK_SHAPES + ODD_SHAPES
    batches, sizes = BATCHES[device], SIZES[device]
    for i in range(RANDOM_CASES[device]):
        shape = shapes[i % len(shapes)]
        dtype = DTYPES[(i // len(shapes)) % 3]
        batch = batches[int(torch.randint(len(batches), (), generator=gen))]
        size = sizes[int(torch.randint(len(sizes), (), generator=gen))]
        case = make_case(gen, *shape, batch, size, dtype, device=device)
        _check(case, dtype, f"case {i}: shape={shape} {dtype} batch={batch} size={size}", device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BLOCK_SHAPES[:7])
def test_large_batch_matches_reference(shape, dtype, device):
    gen = torch.Generator().manual_seed(1)
    batch = LARGE_BATCH[device]
    case = make_case(gen, *shape, batch, 8, dtype, device=device)
    _check(case, dtype, f"batch {batch} {shape} {dtype}", device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_resnet20_sizes_at_batch_1_and_large(dtype, device):
    gen = torch.Generator().manual_seed(2)
    for cin, cout, stride, shortcut, size in [
        (16, 16, 1, 0, 32),
        (16, 32, 2, 1, 32),
        (32, 32, 1, 0, 16),
        (32, 64, 2, 1, 16),
        (64, 64, 1, 0, 8),
    ]:
        for batch in LARGE_BATCHES[device]:
            case = make_case(gen, cin, cout, stride, shortcut, batch, size, dtype, device=device)
            _check(case, dtype, f"{cin}->{cout} s{stride} {size}px batch {batch} {dtype}", device)


def test_misaligned_input_takes_the_safe_path(device):
    gen = torch.Generator().manual_seed(3)
    case = make_case(gen, 32, 32, 1, 0, 4, 16, torch.bfloat16, device=device)
    buf = torch.empty(case.x.numel() + 1, dtype=torch.bfloat16, device=device)
    x = buf[1:].view(4, 16, 16, 32).permute(0, 3, 1, 2)  # channels_last, 2-byte offset
    x.copy_(case.x)
    assert x.is_contiguous(memory_format=torch.channels_last) and x.data_ptr() % 16 != 0
    args = (x, *case.args()[1:])
    out = torch.ops.lit.fused_basic_block(*args)
    assert rel_error(out, oracle(case, device=device)) <= 1e-2


def _replayable(device: str, fn):
    """``fn`` captured for replay into one static output: a CUDA graph on CUDA, the out= op on CPU."""
    if device == "cuda":
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = fn()
        return static_out, graph.replay
    static_out = fn()
    return static_out, lambda: fn(out=static_out)


def test_runs_on_current_stream_and_replays_into_a_static_output(device):
    gen = torch.Generator().manual_seed(4)
    case = make_case(gen, 16, 32, 2, 2, 8, 32, torch.bfloat16, device=device)
    ref = oracle(case, device=device)
    if device == "cuda":
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            out = torch.ops.lit.fused_basic_block(*case.args())  # warm-up on a side stream
        torch.cuda.current_stream().wait_stream(side)
    else:
        out = torch.ops.lit.fused_basic_block(*case.args())
    assert rel_error(out, ref) <= 1e-2

    def call(out=None):
        if out is None:
            return torch.ops.lit.fused_basic_block(*case.args())
        return torch.ops.lit.fused_basic_block.out(*case.args(), out=out)

    static_out, replay = _replayable(device, call)
    static_out.fill_(float("nan"))
    replay()
    _sync(device)
    assert not static_out.isnan().any()
    assert rel_error(static_out, ref) <= 1e-2


def test_fuse_model_matches_original(device):
    from lit_bench.fuse import fuse_model
    from lit_models import create_model

    torch.manual_seed(0)
    model = create_model("resnet20").eval().to(device)
    x = torch.randn(16 if device == "cuda" else 2, 3, 32, 32, device=device)
    # the stem stays a stock conv: keep cuDNN off TF32 so fp32 means fp32
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        ref = model.double()(x.double())
        fused = fuse_model(model.float())
        assert rel_error(fused(x), ref) <= 1e-5
        assert rel_error(fused.to(torch.bfloat16)(x.bfloat16()), ref) <= 5e-2


def test_opcheck_passes(device):
    gen = torch.Generator().manual_seed(5)
    for shape, dtype in [((16, 16, 1, 0), torch.float32), ((16, 32, 2, 2), torch.bfloat16)]:
        case = make_case(gen, *shape, 2, 8, dtype, device=device)
        torch.library.opcheck(torch.ops.lit.fused_basic_block.default, case.args())


def test_out_aliasing_x_is_rejected(device):
    gen = torch.Generator().manual_seed(6)
    case = make_case(gen, 16, 16, 1, 0, 1, 32, torch.bfloat16, device=device)
    with pytest.raises(RuntimeError, match="out overlaps x in memory"):
        torch.ops.lit.fused_basic_block.out(*case.args(), out=case.x)


def test_inputs_that_require_grad_are_rejected(device):
    gen = torch.Generator().manual_seed(7)
    args = list(make_case(gen, 16, 16, 1, 0, 1, 8, torch.float32, device=device).args())
    args[1] = args[1].clone().requires_grad_()
    with pytest.raises(RuntimeError, match="w1 requires grad, but the op is inference-only"):
        torch.ops.lit.fused_basic_block(*args)


def test_structured_pruned_model_runs_via_zero_padding(device):
    from lit_bench.fuse import fuse_model
    from lit_bench.prune import LI2017_CONFIGS, l1_filter_prune
    from lit_models import create_model

    torch.manual_seed(0)
    model = l1_filter_prune(create_model("resnet56").eval(), LI2017_CONFIGS["resnet56"]["B"]).eval()
    x = torch.randn(8 if device == "cuda" else 2, 3, 32, 32)
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        ref = model.double()(x.double())
        fused = fuse_model(model.float().to(device)).to(torch.bfloat16)
        assert rel_error(fused(x.to(device).bfloat16()), ref) <= 5e-2
