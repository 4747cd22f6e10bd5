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
