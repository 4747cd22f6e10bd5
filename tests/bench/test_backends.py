"""Backend registry and the stock backends on CPU (CUDA-only ones are checked where a GPU exists)."""

from __future__ import annotations

import onnxruntime as ort
import pytest
import torch
import torch.nn as nn

from lit_bench.backends import (
    Backend,
    get_backend,
    list_backends,
    register_backend,
    unregister_backend,
)
from lit_bench.backends.onnxrt import export_onnx
from lit_bench.bench import relative_error
from lit_bench.catalog import calibrate_bn
from lit_bench.fold import fold_bn

lit_models = pytest.importorskip("lit_models")


@pytest.fixture
def resnet20() -> nn.Module:
    model = lit_models.create_model("resnet20")
    calibrate_bn(model, (3, 32, 32))
    return model.eval()


def test_registry_lists_the_stock_backends_and_rejects_duplicates_and_unknown_names():
    assert {"eager", "cuda_graphs", "compile", "onnxrt"} <= set(list_backends())
    with pytest.raises(ValueError, match="already registered"):
        register_backend(get_backend("eager"))
    with pytest.raises(ValueError, match=r"unknown backend 'tensorflow'; valid: .*eager.*onnxrt"):
        get_backend("tensorflow")


def test_a_registered_backend_is_listed_and_can_be_removed():
    b = Backend("test_identity", ("cpu",), (torch.float32,), False, lambda m, x: m)
    try:
        register_backend(b)
        assert get_backend("test_identity") is b and "test_identity" in list_backends()
    finally:
        unregister_backend("test_identity")
    assert "test_identity" not in list_backends()


def test_supports_explains_device_and_dtype_limits():
    assert "runs on cuda, not cpu" in get_backend("cuda_graphs").supports("cpu", torch.float32)
    assert "not bfloat16" in get_backend("onnxrt").supports("cpu", torch.bfloat16)
    assert get_backend("eager").supports("cpu", torch.float32) is None


def test_onnx_export_runs_in_onnxruntime_cpu_within_1e4(resnet20):
    folded = fold_bn(resnet20)
    model_bytes = export_onnx(folded, torch.randn(2, 3, 32, 32))
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    x = torch.randn(5, 3, 32, 32)  # another batch size: the batch axis is dynamic
    (y,) = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        ref = resnet20(x)
    assert relative_error(torch.from_numpy(y), ref) <= 1e-4
    assert torch.allclose(torch.from_numpy(y), ref, rtol=1e-4, atol=1e-4)


def test_onnxrt_backend_with_io_binding_matches_eager(resnet20):
    x = torch.randn(3, 3, 32, 32)
    run = get_backend("onnxrt").prepare(fold_bn(resnet20), x)
    x2 = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert relative_error(run(x2), resnet20(x2)) <= 1e-4
        assert relative_error(run(x), resnet20(x)) <= 1e-4  # rebinding a new input works
    with pytest.raises(ValueError, match="prepared for"):
        run(torch.randn(4, 3, 32, 32))


@pytest.mark.slow
def test_torch_compile_backend_matches_eager_on_cpu():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 64, 4))
    model.eval()
    x = torch.randn(2, 3, 8, 8)
    run = get_backend("compile").prepare(fold_bn(model), x)
    with torch.no_grad():
        assert relative_error(run(x), model(x)) <= 1e-4


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["eager", "cuda_graphs", "onnxrt", "compile"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_gpu_backends_match_eager_fp32(resnet20, name, dtype):
    backend = get_backend(name)
    if backend.supports("cuda", dtype):
        pytest.skip(backend.supports("cuda", dtype))
    ref_model = resnet20.cuda()
    x = torch.randn(4, 3, 32, 32, device="cuda")
    model = (fold_bn(resnet20) if backend.folds_bn else resnet20).cuda().to(dtype)
    run = backend.prepare(model, x.to(dtype))
    with torch.inference_mode():
        err = relative_error(run(x.to(dtype)), ref_model(x))
    assert err <= (1e-4 if dtype == torch.float32 else 2e-2)
