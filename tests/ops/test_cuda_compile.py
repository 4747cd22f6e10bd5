"""CI compile check: the CUDA sources build to sm_90 object files with nvcc (no GPU needed)."""

from __future__ import annotations

import pytest

from lit_bench._extension import compile_cuda_objects, find_nvcc

pytestmark = pytest.mark.ext


@pytest.mark.skipif(find_nvcc() is None, reason="nvcc not found (set CUDA_HOME to a CUDA toolkit)")
def test_cuda_sources_compile_for_sm90(tmp_path):
    objects = compile_cuda_objects(tmp_path, archs=("90",))
    assert objects, "no .cu sources found in lit_bench/csrc/cuda"
    for obj in objects:
        assert obj.stat().st_size > 0
