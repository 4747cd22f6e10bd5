"""The compiled CPU kernel of lit::fused_basic_block against the fp64 reference."""

from __future__ import annotations

import itertools
import zlib

import pytest
import torch
from _fused_cases import BLOCK_SHAPES, ODD_SHAPES, TOLERANCE, make_case, oracle, rel_error

pytestmark = [pytest.mark.ext, pytest.mark.usefixtures("native_op")]

DTYPES = [torch.float32, torch.bfloat16, torch.float16]
# Every block shape x every dtype x (batch, size) pairs: 10 * 3 * 4 = 120 cases.
SIZES = [(1, 8), (2, 32), (3, 13), (5, 16)]
CASES = list(itertools.product(BLOCK_SHAPES, DTYPES, SIZES))


@pytest.mark.parametrize(("shape", "dtype", "bs_size"), CASES, ids=str)
def test_out_variant_matches_fp64_reference_and_writes_every_element(shape, dtype, bs_size):
    cin, cout, stride, shortcut = shape
    batch, size = bs_size
    gen = torch.Generator().manual_seed(zlib.crc32(repr((shape, str(dtype), bs_size)).encode()))
    case = make_case(gen, cin, cout, stride, shortcut, batch, size, dtype)
    ref = oracle(case)
    out = torch.full(ref.shape, float("nan"), dtype=dtype).contiguous(
        memory_format=torch.channels_last
    )
    res = torch.ops.lit.fused_basic_block.out(*case.args(), out=out)
    assert res.data_ptr() == out.data_ptr()
    assert not out.isnan().any(), "some output elements were never written"
    assert rel_error(out, ref) <= TOLERANCE[dtype]


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_functional_op_matches_reference_across_batch_sizes(batch):
    gen = torch.Generator().manual_seed(batch)
    case = make_case(gen, 16, 16, 1, 0, batch, 32, torch.float32)
    out = torch.ops.lit.fused_basic_block(*case.args())
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert out.shape == (batch, 16, 32, 32)
    assert rel_error(out, oracle(case)) <= 1e-5


def test_random_batches_and_sizes_match_reference():
    gen = torch.Generator().manual_seed(0)
    shapes = BLOCK_SHAPES + ODD_SHAPES
    for i in range(30):
        cin, cout, stride, shortcut = shapes[i % len(shapes)]
        dtype = DTYPES[i % 3]
        batch = int(torch.randint(1, 9, (), generator=gen))
        size = int(torch.randint(1, 20, (), generator=gen))
        case = make_case(gen, cin, cout, stride, shortcut, batch, size, dtype)
        out = torch.ops.lit.fused_basic_block(*case.args())
        err = rel_error(out, oracle(case))
        assert err <= TOLERANCE[dtype], (cin, cout, stride, shortcut, batch, size, dtype, err)


def test_bad_layout_gets_one_clear_error():
    gen = torch.Generator().manual_seed(1)
    case = make_case(gen, 16, 16, 1, 0, 2, 8, torch.float32)
    x_nchw = case.x.contiguous()
    with pytest.raises(RuntimeError, match="channels_last-contiguous"):
        torch.ops.lit.fused_basic_block(x_nchw, *case.args()[1:])


def test_identity_shortcut_with_channel_change_is_rejected():
    gen = torch.Generator().manual_seed(2)
    case = make_case(gen, 16, 32, 2, 1, 1, 8, torch.float32)
    args = list(case.args())
    args[7] = 0
    with pytest.raises(RuntimeError, match="identity shortcut needs Cin == Cout"):
        torch.ops.lit.fused_basic_block(*args)


def test_opcheck_passes():
    gen = torch.Generator().manual_seed(3)
    for shape in [(16, 16, 1, 0), (16, 32, 2, 1), (16, 32, 2, 2)]:
        case = make_case(gen, *shape, 2, 8, torch.float32)
        torch.library.opcheck(torch.ops.lit.fused_basic_block.default, case.args())


def test_torch_compile_fullgraph_runs_the_op():
    gen = torch.Generator().manual_seed(4)
    case = make_case(gen, 16, 32, 2, 2, 2, 8, torch.float32)

    def block(x, w1, b1, w2, b2, ws, bs):
        return torch.ops.lit.fused_basic_block(x, w1, b1, w2, b2, ws, bs, 2, 2) * 2.0

    compiled = torch.compile(block, fullgraph=True)  # inductor: fake kernel + C++ codegen
    out = compiled(*case.args()[:7])
    assert rel_error(out, 2.0 * oracle(case)) <= 1e-5


def test_out_overlapping_an_input_is_rejected():
    gen = torch.Generator().manual_seed(5)
    case = make_case(gen, 16, 16, 1, 0, 2, 16, torch.float32)
    with pytest.raises(RuntimeError, match="out overlaps x in memory"):
        torch.ops.lit.fused_basic_block.out(*case.args(), out=case.x)
    # partial overlap: x and out are two windows of one buffer that share some pixels
    n = case.x.numel()
    buf = torch.empty(n + n // 2)
    x = buf[:n].view(2, 16, 16, 16).permute(0, 3, 1, 2)
    out = buf[n // 2 :].view(2, 16, 16, 16).permute(0, 3, 1, 2)
    x.copy_(case.x)
    with pytest.raises(RuntimeError, match="out overlaps x in memory"):
        torch.ops.lit.fused_basic_block.out(x, *case.args()[1:], out=out)


def test_out_with_internal_overlap_is_rejected():
    gen = torch.Generator().manual_seed(6)
    case = make_case(gen, 16, 16, 1, 0, 2, 8, torch.float32)
    out = torch.empty(1, 16, 1, 1).expand(2, 16, 8, 8)  # every pixel is one address
    with pytest.raises(RuntimeError, match="out has overlapping elements"):
        torch.ops.lit.fused_basic_block.out(*case.args(), out=out)


@pytest.mark.parametrize("arg", [0, 1, 3])
def test_inputs_that_require_grad_are_rejected_inference_only(arg):
    gen = torch.Generator().manual_seed(7)
    args = list(make_case(gen, 16, 16, 1, 0, 1, 8, torch.float32).args())
    args[arg] = args[arg].clone().requires_grad_()
    name = ["x", "w1", "b1", "w2"][arg]
    with pytest.raises(RuntimeError, match=f"{name} requires grad, but the op is inference-only"):
        torch.ops.lit.fused_basic_block(*args)
    with torch.no_grad():  # the documented way: no graph, so nothing to differentiate
        out = torch.ops.lit.fused_basic_block(*args)
    assert not out.requires_grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(16, 16, 1, 0), (16, 32, 2, 1), (32, 64, 2, 2), (12, 24, 2, 1)])
def test_portable_kernel_matches_reference(monkeypatch, shape, dtype):
    monkeypatch.setenv("LIT_CPU_KERNEL", "portable")  # the kernel oneDNN replaces where it can
    gen = torch.Generator().manual_seed(zlib.crc32(repr((shape, str(dtype))).encode()))
    case = make_case(gen, *shape, 2, 11, dtype)
    out = torch.ops.lit.fused_basic_block(*case.args())
    assert rel_error(out, oracle(case)) <= TOLERANCE[dtype]


def _pruned_case(gen, cin, cmid, cout, stride, shortcut, dtype):
    """A block whose conv1 keeps only ``cmid`` filters (structured pruning)."""
    big = make_case(gen, cin, max(cmid, cout), stride, shortcut, 2, 9, dtype)
    w2 = torch.randn(cout, cmid, 3, 3, generator=gen, dtype=torch.float64) * (2 / (9 * cmid)) ** 0.5
    w2 = w2.to(dtype).contiguous(memory_format=torch.channels_last)
    ws, bs = (None, None) if shortcut != 2 else (big.ws[:cout], big.bs[:cout])
    return type(big)(big.x, big.w1[:cmid].contiguous(memory_format=torch.channels_last),
                     big.b1[:cmid], w2, big.b2[:cout], ws, bs, shortcut, stride)


@pytest.mark.parametrize("portable", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("cin", "cmid", "cout", "stride", "shortcut"),
                         [(16, 5, 16, 1, 0), (16, 24, 32, 2, 1), (32, 40, 64, 2, 2)])
def test_pruned_block_with_other_inner_channels_matches_reference(
    monkeypatch, portable, dtype, cin, cmid, cout, stride, shortcut
):
    if portable:
        monkeypatch.setenv("LIT_CPU_KERNEL", "portable")
    gen = torch.Generator().manual_seed(cmid)
    case = _pruned_case(gen, cin, cmid, cout, stride, shortcut, dtype)
    out = torch.ops.lit.fused_basic_block(*case.args())
    assert out.shape[1] == cout
    assert rel_error(out, oracle(case)) <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_onednn_prepacked_weights_give_the_dense_result(dtype):
    from lit_bench.ops import onednn_dtypes, prepack_weight

    if dtype not in onednn_dtypes():
        pytest.skip(f"oneDNN does not run {dtype} on this CPU")
    gen = torch.Generator().manual_seed(8)
    case = make_case(gen, 16, 32, 2, 2, 3, 10, dtype)
    shape, mid = tuple(case.x.shape), (3, 32, 5, 5)
    packed = (prepack_weight(case.w1, 2, shape), case.b1, prepack_weight(case.w2, 1, mid), case.b2,
              prepack_weight(case.ws, 2, shape), case.bs)
    assert packed[0].is_mkldnn
    out = torch.ops.lit.fused_basic_block(case.x, *packed, 2, 2)
    dense = torch.ops.lit.fused_basic_block(*case.args())
    assert torch.allclose(out.float(), dense.float(), rtol=1e-3, atol=1e-3)
    assert rel_error(out, oracle(case)) <= TOLERANCE[dtype]


def test_shortcut_is_named_and_a_bad_name_is_one_clear_error():
    from lit_bench.ops import Shortcut, fused_basic_block_reference
    from lit_bench.ops import fused_basic_block as fused

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 6, 6, generator=g).contiguous(memory_format=torch.channels_last)
    w1, w2 = (torch.randn(8, c, 3, 3, generator=g) * 0.1 for c in (4, 8))
    b = torch.zeros(8)
    assert Shortcut.of("A") is Shortcut.of("option_a") is Shortcut.A and Shortcut.of(2) is Shortcut.B
    with torch.no_grad():
        named = fused(x, w1, b, w2, b, shortcut="A", stride=2)
        ref = fused_basic_block_reference(x, w1, b, w2, b, None, None, 1, 2)
    torch.testing.assert_close(named, ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="shortcut must be 'identity', 'A' or 'B'; got 'C'"):
        fused(x, w1, b, w2, b, shortcut="C", stride=2)
