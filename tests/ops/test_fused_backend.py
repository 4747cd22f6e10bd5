"""The `fused` bench backend runs a CIFAR ResNet through the fused op and matches eager."""

from __future__ import annotations

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


def test_cuda_rows_need_a_cuda_kernel_registered(monkeypatch):
    from lit_bench.backends.fused import has_kernel_for

    # this build has CPU kernels only (no GPU here); pretend a GPU is visible
    assert has_kernel_for("cpu") and not has_kernel_for("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for name in ("fused", "fused_graphs"):
        why = get_backend(name).supports("cuda", torch.bfloat16)
        assert why is not None and "built without its CUDA kernel" in why, why
    assert get_backend("fused").supports("cpu", torch.float32) is None


def test_fused_backend_runs_structured_pruned_models():
    from lit_bench.prune import LI2017_CONFIGS, l1_filter_prune

    torch.manual_seed(0)
    model = l1_filter_prune(create_model("resnet56").eval(), LI2017_CONFIGS["resnet56"]["A"]).eval()
    x = torch.randn(2, 3, 32, 32)
    run = get_backend("fused").prepare(fold_bn(model), x)
    with torch.no_grad():
        ref = model(x)
    assert torch.allclose(run(x), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fused_graphs_backend_matches_eager_on_cuda():
    torch.manual_seed(0)
    model = create_model("resnet20").eval().cuda()
    x = torch.randn(8, 3, 32, 32, device="cuda")
    run = get_backend("fused_graphs").prepare(fold_bn(model).to(torch.bfloat16), x.bfloat16())
    with torch.no_grad():
        ref = model(x)
    out = run(x.bfloat16()).float()
    assert float((out - ref).norm() / ref.norm()) <= 5e-2
