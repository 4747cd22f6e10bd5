"""The ``cuda`` marker: skipped without a GPU, but a run that requires one fails instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# a cheap test with a cuda parametrization (no extension build, no data)
TARGET = "tests/core/test_precision_and_logging.py::test_mixed_precision_and_channels_last[cuda-bf16]"


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess:
    # CUDA_VISIBLE_DEVICES="" hides any GPU, so this checks the no-GPU path on a GPU host too
    full = {k: v for k, v in os.environ.items() if k != "LIT_REQUIRE_CUDA"}
    full.update(CUDA_VISIBLE_DEVICES="", **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TARGET, *args],
        cwd=ROOT, env=full, capture_output=True, text=True, timeout=300,
    )


def test_cuda_test_is_skipped_without_a_gpu_by_default():
    proc = _pytest()
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "1 skipped" in proc.stdout


@pytest.mark.parametrize("how", ["option", "env"])
def test_required_gpu_turns_the_skip_into_a_failure(how):
    proc = _pytest("--require-cuda") if how == "option" else _pytest(LIT_REQUIRE_CUDA="1")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "1 error" in proc.stdout or "1 failed" in proc.stdout, proc.stdout[-2000:]
    assert "this run requires a CUDA GPU" in proc.stdout
