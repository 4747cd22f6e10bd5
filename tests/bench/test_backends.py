"""Backend registry and the stock backends on CPU (the CUDA parametrizations run where a GPU exists)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

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
from lit_bench.backends.onnxrt import (
    CPU_EP,
    CUDA_EP,
    TRT_EP,
    ProviderPlan,
    export_onnx,
    library_problem,
    open_session,
    provider_plan,
    provider_problem,
    session_problem,
)
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
    assert {"eager", "eager_folded", "cuda_graphs", "compile", "onnxrt", "ort_cuda", "ort_trt"} <= set(list_backends())
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
    assert "runs on cuda, not cpu" in get_backend("ort_cuda").supports("cpu", torch.float32)
    assert get_backend("eager").supports("cpu", torch.float32) is None


def test_eager_comes_with_and_without_bn_folding_for_a_fair_comparison():
    assert not get_backend("eager").folds_bn
    folded = get_backend("eager_folded")
    assert folded.folds_bn and folded.prepare is get_backend("eager").prepare


@pytest.fixture
def tiny_onnx() -> bytes:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 2)).eval()
    return export_onnx(model, torch.randn(1, 3, 8, 8), dynamic_batch=False)


def test_a_provider_this_onnxruntime_lacks_fails_instead_of_running_on_the_cpu(tiny_onnx):
    # ORT itself only warns and runs on the CPU EP; the check after creation refuses that
    with pytest.raises(RuntimeError, match=r"runs on \['CPUExecutionProvider'\], not the asked \['CUDAExecutionProvider'\]"):
        open_session(tiny_onnx, ProviderPlan([(CUDA_EP, {})]))


@pytest.mark.skipif(CUDA_EP in ort.get_available_providers(), reason="needs the CPU-only onnxruntime")
def test_gpu_plan_refuses_nodes_that_fall_back_to_the_cpu_ep(tiny_onnx):
    # the CPU package has no CUDA EP: every node would land on the CPU EP, which the plan forbids
    plan = provider_plan("cuda", torch.randn(1, 3, 8, 8))
    assert plan.config == {"session.disable_cpu_ep_fallback": "1"}
    assert CPU_EP not in [name for name, _ in plan.providers]  # listing it would conflict with the ban
    with pytest.raises(Exception, match="fallback to CPU EP has been explicitly disabled"):
        open_session(tiny_onnx, plan)


def test_a_required_option_that_onnxruntime_drops_fails_the_session(tiny_onnx):
    # the CPU EP silently ignores options it does not know, as a failed TensorRT retry drops them
    plan = ProviderPlan([(CPU_EP, {"use_tf32": "0"})], required={CPU_EP: ("use_tf32",)})
    with pytest.raises(RuntimeError, match=r"did not apply CPUExecutionProvider option use_tf32=None, asked '0'"):
        open_session(tiny_onnx, plan)
    optional = ProviderPlan([(CPU_EP, {"prefer_nhwc": "1"})])
    assert open_session(tiny_onnx, optional).lit_notes == ["CPUExecutionProvider option prefer_nhwc=None, asked '1'"]


def test_gpu_plans_ask_for_ieee_fp32_exhaustive_search_caches_and_nhwc():
    cuda = dict(provider_plan("cuda", torch.randn(1, 3, 8, 8)).providers)
    assert cuda[CUDA_EP]["use_tf32"] == "0" and cuda[CUDA_EP]["cudnn_conv_algo_search"] == "EXHAUSTIVE"
    assert cuda[CUDA_EP]["prefer_nhwc"] == "0"
    assert dict(provider_plan("cuda", torch.randn(1, 3, 8, 8).half()).providers)[CUDA_EP]["prefer_nhwc"] == "1"
    trt_plan = provider_plan("trt", torch.randn(1, 3, 8, 8).half())
    assert [name for name, _ in trt_plan.providers] == [TRT_EP, CUDA_EP]
    trt = dict(trt_plan.providers)[TRT_EP]
    assert trt["trt_fp16_enable"] == "1" and trt["trt_engine_cache_enable"] == "1" and trt["trt_timing_cache_enable"] == "1"
    assert "trt_fp16_enable" in trt_plan.required[TRT_EP] and "use_tf32" in trt_plan.required[CUDA_EP]


def test_a_provider_whose_library_is_missing_or_does_not_load_is_not_offered(tmp_path):
    if TRT_EP not in ort.get_available_providers():  # the CPU package: not in the build at all
        assert "has no TensorrtExecutionProvider" in provider_problem(TRT_EP)
        assert "lit-bench[gpu]" in provider_problem(CUDA_EP)
    else:
        assert "is not in" in provider_problem(TRT_EP, capi_dir=tmp_path)
    missing = tmp_path / "libonnxruntime_providers_tensorrt.so"
    assert "is not in" in library_problem(str(missing), TRT_EP)


def test_the_provider_probe_reads_the_providers_of_a_real_session():
    assert session_problem(CPU_EP) is None
    if CUDA_EP not in ort.get_available_providers():
        # the CPU package drops the CUDA EP from the session (as onnxruntime-gpu does when its
        # CUDA libraries fail to load): the probe sees it in get_providers() and says so
        why = session_problem(CUDA_EP)
        assert why.startswith("CUDAExecutionProvider: onnxruntime ") and "created the session without it" in why
        assert "CUDA 13 and cuDNN 9" in why


def test_gpu_ort_backends_say_why_they_are_unavailable_here():
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    for name in ("ort_cuda", "ort_trt"):
        assert get_backend(name).available() == "needs a CUDA GPU (none visible)"


def test_a_broken_onnxruntime_install_is_a_reason_not_a_crash(tmp_path):
    # what uninstalling one of onnxruntime/onnxruntime-gpu leaves of the other: a package without
    # its files (here an empty one, first on the path)
    (tmp_path / "onnxruntime").mkdir()
    (tmp_path / "onnxruntime" / "__init__.py").write_text("")
    code = ("import json; from lit_bench.backends import get_backend; from lit_bench.timing import environment; "
            "print(json.dumps([get_backend('onnxrt').available(), environment('cpu')['onnxruntime']]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", ""), *sys.path])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=True)
    reason, version = json.loads(out.stdout.strip().splitlines()[-1])
    assert "onnxruntime is installed but broken" in reason and "--force-reinstall" in reason
    assert version is None


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
    assert run.info == "ORT CPUExecutionProvider"
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


@pytest.fixture
def ieee_fp32():
    """References in IEEE fp32: cuDNN and cuBLAS TF32 off (on by default for cuDNN convolutions)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


_GPU_NAMES = ["eager", "eager_folded", "cuda_graphs", "ort_cuda", "ort_trt", "compile"]
_CPU_NAMES = ["eager", "eager_folded", "onnxrt"]  # compile on CPU: test above, tiny model
_DEVICE_NAMES = [("cpu", n) for n in _CPU_NAMES] + [
    pytest.param("cuda", n, marks=pytest.mark.cuda) for n in _GPU_NAMES
]


@pytest.mark.parametrize(("device", "name"), _DEVICE_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_backends_match_eager_fp32(resnet20, device, name, dtype, ieee_fp32):
    backend = get_backend(name)
    why = backend.supports(device, dtype)  # e.g. only the CPU onnxruntime installed: says so
    if why:
        pytest.skip(why)
    ref_model = copy.deepcopy(resnet20).to(device)  # .to() acts in place: the model under test is a copy
    x = torch.randn(4, 3, 32, 32, device=device)
    model = (fold_bn(resnet20) if backend.folds_bn else copy.deepcopy(resnet20)).to(device).to(dtype)
    assert next(ref_model.parameters()).dtype == torch.float32
    run = backend.prepare(model, x.to(dtype))
    with torch.inference_mode():
        y, ref = run(x.to(dtype)), ref_model(x)
    assert y.dtype == dtype and y.device.type == device
    assert relative_error(y, ref) <= (1e-4 if dtype == torch.float32 else 2e-2)
