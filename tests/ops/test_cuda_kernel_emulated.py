"""The CUDA kernels' own source, run on a host emulator (tests/ops/emu), against the fp64 reference.

No GPU here, so this is what checks the device code's tiling, halo, stride, shared-memory layout,
mma fragment gathers and epilogues before a GPU is available: every CUDA thread is a host thread,
``__syncthreads`` a barrier, ``mma.sync`` a warp-wide exchange (see emu/cuda_emulator.h). Several
CTAs run at once in a shuffled order, 16-byte accesses must be 16-byte aligned, and more than 48 KB
of shared memory needs the per-kernel, per-device opt-in, as on a GPU.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest
import torch
from _fused_cases import BLOCK_SHAPES, ODD_SHAPES, TOLERANCE, make_case, oracle, rel_error

from lit_bench._extension import build_config

pytestmark = pytest.mark.ext

EMU = Path(__file__).parent / "emu"
TILE8, TILE4 = 0, 10**6  # "SM count" given to the planner: 0 → tile 8 always, huge → tile 4


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> None:
    """Compile the emulated kernels (g++, the .cuh from lit_bench/csrc) and load lit_emu."""
    from torch.utils.cpp_extension import load

    src = build_config(with_cuda=False).src_dir
    root = os.environ.get("LIT_EXT_DIR")
    build_dir = Path(root) / "lit_emu" if root else tmp_path_factory.mktemp("lit_emu")
    build_dir.mkdir(parents=True, exist_ok=True)
    load(
        name="lit_emu",
        sources=[str(EMU / "emulated_block.cpp"), str(src / "checks.cpp")],
        extra_include_paths=[str(src), str(EMU)],
        extra_cflags=["-O2", "-pthread"],
        extra_ldflags=["-pthread"],
        build_directory=str(build_dir),
        is_python_module=False,
    )


def _run(case, sms, allow_mma, **knobs):
    mma = int(allow_mma)
    plan = torch.ops.lit_emu.plan(*case.args(), sms, mma)
    out = torch.ops.lit_emu.fused_basic_block(*case.args(), sms, mma, **knobs)
    return out, plan


MMA_CASES = [
    (shape, dtype, tile)
    for shape in BLOCK_SHAPES
    for dtype, tile in [(torch.bfloat16, TILE8), (torch.float16, TILE4)]
]


@pytest.mark.parametrize(("shape", "dtype", "sms"), MMA_CASES, ids=str)
def test_tensor_core_kernel_matches_reference(emulator, shape, dtype, sms):
    gen = torch.Generator().manual_seed(zlib.crc32(repr((shape, sms)).encode()))
    size = 9 if shape[2] == 1 else 13  # not a multiple of the tile: partial tiles at the edges
    batch = 1 if shape[1] == 64 and shape[2] == 1 else 2  # 64 channels: the slowest to emulate
    case = make_case(gen, *shape, batch, size, dtype)
    out, (mma, tile) = _run(case, sms, True)
    assert (mma, tile) == (1, 8 if sms == TILE8 else 4)
    assert not out.isnan().any(), "unwritten output elements"
    assert rel_error(out, oracle(case)) <= TOLERANCE[dtype]


SIMT_CASES = [(shape, torch.float32, TILE8) for shape in BLOCK_SHAPES[::2]] + [
    (shape, [torch.bfloat16, torch.float16][i % 2], [TILE4, TILE8][i % 2])
    for i, shape in enumerate(ODD_SHAPES)
]


@pytest.mark.parametrize(("shape", "dtype", "sms"), SIMT_CASES, ids=str)
def test_cuda_core_kernel_matches_reference(emulator, shape, dtype, sms):
    gen = torch.Generator().manual_seed(zlib.crc32(repr((shape, str(dtype))).encode()))
    case = make_case(gen, *shape, 2, 7, dtype)
    out, (mma, tile) = _run(case, sms, False)
    assert mma == 0
    assert tile == (8 if sms == TILE8 else 4)
    assert not out.isnan().any(), "unwritten output elements"
    assert rel_error(out, oracle(case)) <= TOLERANCE[dtype]


def test_out_aliasing_x_is_rejected(emulator):
    # out=x: CTAs write output tiles over input pixels other CTAs still read as halo.
    gen = torch.Generator().manual_seed(11)
    case = make_case(gen, 16, 16, 1, 0, 1, 16, torch.bfloat16)
    with pytest.raises(RuntimeError, match="out overlaps x in memory"):
        torch.ops.lit_emu.fused_basic_block.out(*case.args(), TILE8, 1, out=case.x)


def test_results_do_not_depend_on_cta_order_or_concurrency(emulator):
    gen = torch.Generator().manual_seed(12)
    case = make_case(gen, 16, 32, 2, 2, 2, 13, torch.bfloat16)
    ref = oracle(case)
    outs = [_run(case, TILE4, True, ctas=c, seed=seed)[0] for c, seed in [(1, 0), (3, 1), (8, 2)]]
    for out in outs:
        assert rel_error(out, ref) <= TOLERANCE[torch.bfloat16]
        assert torch.equal(out, outs[0])


def test_misaligned_16_byte_load_is_a_fault(emulator):
    gen = torch.Generator().manual_seed(13)
    case = make_case(gen, 32, 32, 1, 0, 1, 8, torch.bfloat16)
    buf = torch.empty(case.x.numel() + 1, dtype=torch.bfloat16)
    x = buf[1:].view(1, 8, 8, 32).permute(0, 3, 1, 2)  # channels_last, 2 bytes off 16
    x.copy_(case.x)
    args = (x, *case.args()[1:])
    # the planner sends it to the CUDA-core kernel (use_mma checks alignment) ...
    out = torch.ops.lit_emu.fused_basic_block(*args, TILE8, 1)
    assert torch.ops.lit_emu.plan(*args, TILE8, 1)[0] == 0
    assert rel_error(out, oracle(case)) <= TOLERANCE[torch.bfloat16]
    # ... and forcing the tensor-core kernel on it faults like the GPU would.
    with pytest.raises(RuntimeError, match="misaligned address: 16-byte global load"):
        torch.ops.lit_emu.fused_basic_block(*args, TILE8, 2)


def test_shared_memory_above_48k_needs_the_opt_in_per_device(emulator):
    gen = torch.Generator().manual_seed(14)
    case = make_case(gen, 64, 64, 1, 0, 1, 8, torch.float32)  # fp32 tile 8: 62 KB per CTA
    with pytest.raises(RuntimeError, match="opt in with cudaFuncSetAttribute"):
        torch.ops.lit_emu.fused_basic_block(*case.args(), TILE8, 0, device=7, opt_in=False)
    for device in (7, 300):  # any device index, each with its own opt-in
        out = torch.ops.lit_emu.fused_basic_block(*case.args(), TILE8, 0, device=device)
        assert rel_error(out, oracle(case)) <= TOLERANCE[torch.float32]


def test_shared_memory_opt_in_cache_is_thread_safe(emulator):
    # 8 threads x 3 kernels x 4 devices (0, 100, 200, 300): the attribute ends at the largest ask.
    diffs = torch.ops.lit_emu.opt_in_race(8, 3000, 3, 4)
    assert diffs == [0] * 12


def test_build_without_sm80_code_is_a_clear_error(emulator):
    gen = torch.Generator().manual_seed(15)
    case = make_case(gen, 16, 16, 1, 0, 1, 8, torch.bfloat16)
    with pytest.raises(RuntimeError, match=r"holds no sm_80\+ code .*compute_75.*TORCH_CUDA_ARCH_LIST"):
        torch.ops.lit_emu.fused_basic_block(*case.args(), TILE8, 1, code_arch=75)
