"""Loading the native op: never at import, LIT_DISABLE_EXT forces the reference, a failed build
warns once and falls back. Each case runs in a fresh interpreter (the load is cached per process)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

_PROBE = r"""
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import torch
    import lit_bench, lit_bench.ops as ops, lit_bench.fuse, lit_bench.backends
    imported_cuda = torch.cuda.is_initialized()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, 8, 8, generator=g).contiguous(memory_format=torch.channels_last)
    w = (torch.randn(16, 16, 3, 3, generator=g) * 0.1).contiguous(memory_format=torch.channels_last)
    b = torch.zeros(16)
    outs = [ops.fused_basic_block(x, w, b, w, b) for _ in range(2)]
    ref = ops.fused_basic_block_reference(x, w, b, w, b)
    available = ops.is_available()
print(json.dumps({
    "available": available,
    "cuda_initialised_by_import": imported_cuda,
    "matches_reference": all(torch.allclose(o, ref, atol=1e-5) for o in outs),
    "warnings": [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
                 and "lit:" in str(w.message)],
}))
"""


def _probe(tmp_path: Path, **env: str) -> dict:
    full = {**os.environ, "LIT_EXT_DIR": str(tmp_path / "build"), "LIT_EXT_CUDA": "0", **env}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], env=full, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_compiles_nothing_and_leaves_cuda_alone(tmp_path):
    code = (
        "import torch, lit_bench, lit_bench.ops, lit_bench.fuse, lit_bench.backends;"
        "print(torch.cuda.is_initialized())"
    )
    env = {**os.environ, "LIT_EXT_DIR": str(tmp_path / "build")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert not (tmp_path / "build").exists()


def test_disable_env_var_forces_the_reference(tmp_path):
    result = _probe(tmp_path, LIT_DISABLE_EXT="1")
    assert result == {
        "available": False,
        "cuda_initialised_by_import": False,
        "matches_reference": True,
        "warnings": [],
    }
    assert not (tmp_path / "build").exists()


@pytest.mark.ext
def test_failed_build_warns_once_with_log_and_falls_back(tmp_path):
    src = tmp_path / "broken_csrc"
    (src / "cpu").mkdir(parents=True)
    (src / "ops.cpp").write_text("this is not C++;\n")
    (src / "cpu" / "kernel.cpp").write_text("int ok() { return 0; }\n")
    result = _probe(tmp_path, LIT_EXT_SRC_DIR=str(src))
    assert result["available"] is False
    assert result["matches_reference"] is True
    assert len(result["warnings"]) == 1, result["warnings"]
    message = result["warnings"][0]
    assert "reference runs instead" in message
    log = Path(message.split("Compiler output: ")[1].split(". Install")[0])
    text = log.read_text()
    # the failure itself: the build of this library stopped at the compiler's error on ops.cpp
    assert "Error building extension 'lit_ops_cpu'" in text
    assert re.search(r"ops\.cpp:1:\d+: error: .*\n.*this is not C\+\+;", text), text[-2000:]
