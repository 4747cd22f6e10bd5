"""The `fused` bench backend runs a CIFAR ResNet through the fused op and matches eager."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from lit_bench.backends import get_backend
from lit_bench.fold import fold_bn
from lit_models import create_model

pytestmark = [pytest.mark.ext, pytest.mark.usefixtures("native_op")]


def test_fused_backend_matches_eager_on_cpu():
    torch.manual_seed(0)
    model = create_model("resnet8").eval()
    x = torch.randn(2, 3, 32, 32)
    backend = get_backend("fused")
    assert backend.supports("cpu", torch.float32) is None
    run = backend.prepare(fold_bn(model), x)
    with torch.no_grad():
        ref = model(x)
    out = run(x)
    assert torch.allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_fused_graphs_backend_is_cuda_only():
    assert get_backend("fused_graphs").supports("cpu", torch.float32) is not None


_CPU_ONLY_PROBE = """
import json, torch
from lit_bench import ops
from lit_bench.backends import get_backend
from lit_bench.backends.fused import has_kernel_for
assert ops.is_available()
cpu, cuda = has_kernel_for("cpu"), has_kernel_for("cuda")
torch.cuda.is_available = lambda: True  # pretend a GPU is visible
why = {n: get_backend(n).supports("cuda", torch.bfloat16) for n in ("fused", "fused_graphs")}
print(json.dumps({"cpu": cpu, "cuda": cuda, "why": why,
                  "cpu_ok": get_backend("fused").supports("cpu", torch.float32)}))
"""


def test_cuda_rows_need_a_cuda_kernel_registered():
    # the CPU-only build (LIT_EXT_CUDA=0), also on a GPU host with nvcc, in a fresh process
    env = {**os.environ, "LIT_EXT_CUDA": "0"}
    proc = subprocess.run([sys.executable, "-c", _CPU_ONLY_PROBE], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["cpu"] and not result["cuda"]
    for name, why in result["why"].items():
        assert why is not None and "built without its CUDA kernel" in why, (name, why)
    assert result["cpu_ok"] is None


def test_fused_backend_runs_structured_pruned_models():
    from lit_bench.prune import LI2017_CONFIGS, l1_filter_prune

    torch.manual_seed(0)
    model = l1_filter_prune(create_model("resnet56").eval(), LI2017_CONFIGS["resnet56"]["A"]).eval()
    x = torch.randn(2, 3, 32, 32)
    run = get_backend("fused").prepare(fold_bn(model), x)
    with torch.no_grad():
        ref = model(x)
    assert torch.allclose(run(x), ref, rtol=1e-4, atol=1e-4)


def test_fused_backend_of_the_device_matches_eager_in_bf16(device):
    # CUDA: fused_graphs (the fused model captured in a CUDA graph); CPU: fused, eagerly
    torch.manual_seed(0)
    model = create_model("resnet20").eval().to(device)
    x = torch.randn(8 if device == "cuda" else 2, 3, 32, 32, device=device)
    name = "fused_graphs" if device == "cuda" else "fused"
    assert get_backend(name).supports(device, torch.bfloat16) is None
    run = get_backend(name).prepare(fold_bn(model).to(torch.bfloat16), x.bfloat16())
    with torch.no_grad():
        ref = model(x)
    out = run(x.bfloat16()).float()
    assert float((out - ref).norm() / ref.norm()) <= 5e-2
