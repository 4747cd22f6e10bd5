"""The CUDA kernels' own source, run on a host emulator (tests/ops/emu), against the fp64 reference.

No GPU here, so this is what checks the device code's tiling, halo, stride, shared-memory layout,
mma fragment gathers and epilogues before a GPU is available: every CUDA thread is a host thread,
``__syncthreads`` a barrier, ``mma.sync`` a warp-wide exchange (see emu/cuda_emulator.h).
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


def _run(case, sms, allow_mma):
    plan = torch.ops.lit_emu.plan(*case.args(), sms, allow_mma)
    out = torch.ops.lit_emu.fused_basic_block(*case.args(), sms, allow_mma)
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
