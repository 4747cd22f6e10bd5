"""CI compile check and static-report guard: the CUDA sources build for sm_80 and sm_90 with nvcc
(no GPU needed), without spills, and no kernel is worse than the committed static report
(results/fused-op/gpu_static.json, regenerated with ``nox -s gpu-report``) in registers or in
global loads per HMMA in its hot loop. One compile serves every test here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lit_bench._extension import compile_cuda_objects, find_nvcc
from lit_bench.gpu_static import ARCHS, build_report, compile_and_read, find_cuobjdump, regressions

pytestmark = [
    pytest.mark.ext,
    pytest.mark.skipif(find_nvcc() is None, reason="nvcc not found (set CUDA_HOME to a CUDA toolkit)"),
]

BASELINE = Path(__file__).resolve().parents[2] / "results" / "fused-op" / "gpu_static.json"


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cuda")
    compile_cuda_objects(out, archs=ARCHS, ptxas_verbose=True)
    return out


@pytest.fixture(scope="module")
def report(build) -> dict:
    return build_report(*compile_and_read(build))


def test_cuda_sources_compile_for_sm80_and_sm90(build, report):
    objects = sorted(build.glob("*.o"))
    assert objects, "no .cu sources found in lit_bench/csrc/cuda"
    assert all(obj.stat().st_size > 0 for obj in objects)
    archs = {k["arch"] for k in report["kernels"].values()}
    assert archs == {f"sm_{a}" for a in ARCHS}


def test_no_kernel_spills_or_needs_more_registers_than_the_baseline(report):
    baseline = json.loads(BASELINE.read_text())
    problems = [p for p in regressions({**report, "sass": False}, baseline)]
    assert not problems, "\n".join(problems) + "\n(regenerate with `nox -s gpu-report` only if intended)"


@pytest.mark.skipif(find_cuobjdump() is None, reason="cuobjdump not found (CUDA toolkit or triton)")
def test_hot_loops_load_no_more_globals_per_hmma_than_the_baseline(report):
    baseline = json.loads(BASELINE.read_text())
    assert report["sass"]
    mma = [k for k in report["kernels"].values() if k["kernel"].startswith("block_mma")]
    assert mma and all(k["hot_loop"]["hmma"] > 0 for k in mma)
    problems = regressions(report, baseline)
    assert not problems, "\n".join(problems) + "\n(regenerate with `nox -s gpu-report` only if intended)"
