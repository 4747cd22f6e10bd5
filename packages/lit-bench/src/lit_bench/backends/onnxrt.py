"""ONNX Runtime: ``onnxrt`` (CPU EP), ``ort_cuda`` (CUDA EP) and ``ort_trt`` (TensorRT EP).

Export uses the TorchScript exporter (``dynamo=False``): for these CNNs it is ~20× faster than the
dynamo exporter under torch 2.14 and gives the same graph; if it is missing or fails, the dynamo
exporter (onnxscript) is tried. The bench exports each model for its static input shape, so ORT
folds the shape arithmetic of the option-A shortcut into constants (no shape nodes that the CUDA
EP would place on the CPU). Runs use IO binding to torch tensors on the device.

No silent fallback. ORT's Python session drops a requested provider that this build lacks (a
warning), and when creating a session with a provider fails it retries without the provider
options or on the CPU. Here a GPU provider is offered only when a tiny session created with it
lists it in ``get_providers()`` (ORT loads a provider's library lazily, with its own
``providers_shared``: loading the library by hand fails on ``Provider_GetHost``), the
session is created with ``enable_fallback=0``, nodes may not fall back to the CPU EP
(``session.disable_cpu_ep_fallback``), and after creation ``check_session`` compares the
session's providers and options with what was asked: any difference fails the row, with the
reason. Settings: CUDA EP — cuDNN algorithm search EXHAUSTIVE (settled during warm-up), TF32 off
(fp32 is IEEE fp32, as for PyTorch), PyTorch's current stream, NHWC kernels for half types (as
the channels_last PyTorch backends); TensorRT EP — fp16 only for fp16 (fp32 without TF32: the
CLI sets ``NVIDIA_TF32_OVERRIDE=0`` on CUDA runs), engine and timing caches on (``LIT_TRT_CACHE``,
default ``~/.cache/lit/trt``) so engines are not rebuilt on every run.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from . import Backend, RunFn, register_backend

__all__ = ["GPU_INSTALL_HINT", "ONNXRT", "OPSET", "ORT_CUDA", "ORT_TRT", "PROVIDER_LIBS", "WARMUP_ITERS", "ProviderPlan", "check_session", "dry_check_onnx", "export_onnx", "library_problem", "onnxruntime_problem", "open_session", "preload_gpu_libraries", "provider_plan", "provider_problem", "session_problem"]

OPSET = 17
WARMUP_ITERS = 3  # first runs do cuDNN's exhaustive algorithm search; keep it out of the timing
CUDA_EP, TRT_EP, CPU_EP = "CUDAExecutionProvider", "TensorrtExecutionProvider", "CPUExecutionProvider"
#: shared library of each GPU provider, in onnxruntime/capi (it pulls CUDA, cuDNN, TensorRT in)
PROVIDER_LIBS = {CUDA_EP: "libonnxruntime_providers_cuda.so", TRT_EP: "libonnxruntime_providers_tensorrt.so"}
GPU_INSTALL_HINT = "pip install 'packages/lit-bench[gpu]' (onnxruntime-gpu)"

_NP_DTYPES = {torch.float32: np.float32, torch.float16: np.float16, torch.int64: np.int64}


def onnxruntime_problem() -> str | None:
    """None if ``import onnxruntime`` gives a working package, else what is wrong with it."""
    try:
        import onnxruntime as ort

        ort.get_available_providers(), ort.InferenceSession  # an empty package lacks them
    except ImportError:
        return "onnxruntime is not installed (pip install 'packages/lit-bench[ort]', or [gpu] for CUDA)"
    except AttributeError as exc:
        return (f"onnxruntime is installed but broken ({exc}); reinstall it: pip install "
                "--force-reinstall onnxruntime (or onnxruntime-gpu), with only one of the two installed")
    return None


def provider_problem(provider: str, capi_dir: str | os.PathLike | None = None) -> str | None:
    """None if ORT can use ``provider`` here, else why not (missing from the build or its libraries).

    A GPU provider's shared library must be in onnxruntime/capi, and then a tiny session is
    created with it: ORT loads the provider (and ``providers_shared``, CUDA, cuDNN, TensorRT) only
    then, and drops a provider that fails, so ``get_providers()`` is the test.
    """
    problem = onnxruntime_problem()
    if problem:
        return problem
    import onnxruntime as ort

    if provider not in ort.get_available_providers():
        return f"onnxruntime {ort.__version__} here has no {provider} (CPU package?); {GPU_INSTALL_HINT}"
    lib = PROVIDER_LIBS.get(provider)
    if lib is None:
        return None
    path = Path(capi_dir) if capi_dir is not None else Path(ort.__file__).parent / "capi"
    return library_problem(str(path / lib), provider) or session_problem(provider)


@functools.cache
def library_problem(path: str, provider: str) -> str | None:
    """None if the provider's shared library file is at ``path``, else why not (loading is
    ``session_problem``'s test: the library needs ORT's ``providers_shared``, loaded by ORT)."""
    if not Path(path).is_file():
        return f"{provider}: {Path(path).name} is not in {Path(path).parent}; {GPU_INSTALL_HINT}"
    return None


def _tiny_model() -> bytes:
    """A one-node ONNX model (y = x + x, fp32 [1, 4]) for probing providers."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every ORT this package supports
    return model.SerializeToString()


def preload_gpu_libraries() -> None:
    """Put pip-installed CUDA/cuDNN (ORT's ``preload_dlls``) and TensorRT 10 libraries on the loader path."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)  # onnxruntime-gpu >= 1.21
    if preload is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # a missing nvidia-* wheel: the session probe then says what failed
            with contextlib.suppress(Exception):
                preload()
    try:  # tensorrt-cu13 10.x ships libnvinfer.so.10 in tensorrt_libs (not on the loader path)
        import tensorrt_libs
    except ImportError:
        return
    for lib in sorted(Path(tensorrt_libs.__file__).parent.glob("libnvinfer*.so.10*")):
        with contextlib.suppress(OSError):
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)


@functools.cache
def session_problem(provider: str) -> str | None:
    """None if a tiny session created with ``provider`` really uses it, else why not."""
    import onnxruntime as ort

    preload_gpu_libraries()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(_tiny_model(), sess_options=opts, providers=[provider, CPU_EP])
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"{provider}: creating a session with it failed ({first})"
    if provider not in session.get_providers():
        need = ("libnvinfer.so.10: pip install 'packages/lit-bench[trt]' (tensorrt-cu13 10.x)"
                if provider == TRT_EP else "CUDA 13 and cuDNN 9: pip install 'packages/lit-bench[gpu]'")
        return (f"{provider}: onnxruntime {ort.__version__} created the session without it (its "
                f"libraries did not load; it needs {need})")
    return None


def export_onnx(model: nn.Module, example: torch.Tensor, *, dynamic_batch: bool = True) -> bytes:
    """Serialized ONNX model of ``model`` with input ``x`` and output ``y`` (batch axis dynamic or fixed)."""
    errors = []
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic_batch else None
    try:
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
            torch.onnx.export(
                model, (example,), buf, dynamo=False, opset_version=OPSET,
                input_names=["x"], output_names=["y"], dynamic_axes=axes,
            )
        return buf.getvalue()
    except Exception as exc:
        errors.append(f"TorchScript exporter: {type(exc).__name__}: {exc}")
    try:
        shapes = {"x": {0: torch.export.Dim("batch")}} if dynamic_batch else None
        program = torch.onnx.export(
            model, (example,), dynamo=True, input_names=["x"], output_names=["y"],
            dynamic_shapes=shapes, verbose=False,
        )
        return program.model_proto.SerializeToString()
    except Exception as exc:
        errors.append(f"dynamo exporter: {type(exc).__name__}: {exc}")
    raise RuntimeError("ONNX export failed; " + " | ".join(errors))


@dataclass(frozen=True)
class ProviderPlan:
    """Providers (with options) to ask for, the options that must read back unchanged, session config."""

    providers: list[tuple[str, dict[str, str]]]
    required: dict[str, tuple[str, ...]] = field(default_factory=dict)  # provider → option keys
    config: dict[str, str] = field(default_factory=dict)


def _trt_cache_dir() -> str:
    path = Path(os.environ.get("LIT_TRT_CACHE", Path.home() / ".cache" / "lit" / "trt"))
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def provider_plan(kind: str, example: torch.Tensor) -> ProviderPlan:
    """What to ask ORT for: ``kind`` "cpu", "cuda" (CUDA EP) or "trt" (TensorRT EP, CUDA EP for the rest)."""
    if kind == "cpu":
        return ProviderPlan([(CPU_EP, {})])
    device_id = str(example.device.index or 0)
    half = example.dtype in (torch.float16, torch.bfloat16)
    stream = str(torch.cuda.current_stream(example.device).cuda_stream) if example.is_cuda else "0"
    cuda = {
        "device_id": device_id,
        "cudnn_conv_algo_search": "EXHAUSTIVE",
        "use_tf32": "0",  # fp32 means IEEE fp32, as for the PyTorch backends
        "has_user_compute_stream": "1",
        "user_compute_stream": stream,
        "prefer_nhwc": "1" if half else "0",
    }
    required = {CUDA_EP: ("device_id", "cudnn_conv_algo_search", "use_tf32", "has_user_compute_stream")}
    providers: list[tuple[str, dict[str, str]]] = [(CUDA_EP, cuda)]
    if kind == "trt":
        cache = _trt_cache_dir()
        trt = {
            "device_id": device_id,
            "trt_fp16_enable": "1" if example.dtype == torch.float16 else "0",
            "trt_engine_cache_enable": "1",
            "trt_engine_cache_path": cache,
            "trt_timing_cache_enable": "1",
            "trt_timing_cache_path": cache,
            "has_user_compute_stream": "1",
            "user_compute_stream": stream,
        }
        providers.insert(0, (TRT_EP, trt))
        required[TRT_EP] = ("device_id", "trt_fp16_enable", "trt_engine_cache_enable", "trt_timing_cache_enable")
    elif kind != "cuda":
        raise ValueError(f"unknown ORT provider kind {kind!r}; valid: cpu, cuda, trt")
    # GPU rows: a node that would run on the CPU EP fails session creation (with the reason)
    return ProviderPlan(providers, required, {"session.disable_cpu_ep_fallback": "1"})


def check_session(session, plan: ProviderPlan) -> list[str]:
    """Raise if the session does not run the asked providers with the required options; returns
    notes on optional options that were not applied."""
    asked = [name for name, _ in plan.providers]
    got = list(session.get_providers())
    if got[: len(asked)] != asked:
        raise RuntimeError(f"ONNX Runtime session runs on {got}, not the asked {asked} (provider dropped)")
    options = session.get_provider_options()
    notes = []
    for name, wanted in plan.providers:
        have = options.get(name, {})
        for key, value in wanted.items():
            if str(have.get(key)) == value:
                continue
            msg = f"{name} option {key}={have.get(key)!r}, asked {value!r}"
            if key in plan.required.get(name, ()):
                raise RuntimeError(f"ONNX Runtime did not apply {msg}")
            if key != "user_compute_stream":
                notes.append(msg)
    return notes


def open_session(model_bytes: bytes, plan: ProviderPlan, *, threads: int | None = None):
    """An InferenceSession for ``plan`` with fallbacks disabled, checked by ``check_session``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads  # same thread budget as PyTorch
        # no busy-waiting between runs: spinning ORT threads would steal the cores from PyTorch
        # candidates interleaved with this one
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    for key, value in plan.config.items():
        opts.add_session_config_entry(key, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "provider not in available providers": check_session says it
        session = ort.InferenceSession(model_bytes, opts, providers=plan.providers, enable_fallback=0)
    session.lit_notes = check_session(session, plan)
    return session


def _make_prepare(kind: str):
    def prepare(model: nn.Module, example: torch.Tensor) -> RunFn:
        """Export for the example's shape, open a checked session, bind input/output, warm up."""
        if example.dtype not in _NP_DTYPES:
            raise ValueError(f"ONNX Runtime backends take float32/float16 (or int64 token ids), "
                             f"not {example.dtype}")
        with torch.inference_mode():
            probe = model(example)
        out_shape, out_dtype = tuple(probe.shape), probe.dtype
        threads = torch.get_num_threads() if kind == "cpu" else None
        session = open_session(export_onnx(model, example, dynamic_batch=False),
                               provider_plan(kind, example), threads=threads)
        device_type = "cuda" if example.is_cuda else "cpu"
        device_id = example.device.index or 0
        elem, out_elem = _NP_DTYPES[example.dtype], _NP_DTYPES[out_dtype]
        binding = session.io_binding()
        out = torch.empty(out_shape, dtype=out_dtype, device=example.device)
        binding.bind_output("y", device_type, device_id, out_elem, list(out.shape), out.data_ptr())

        def run(x: torch.Tensor) -> torch.Tensor:
            x = x.contiguous()
            if tuple(x.shape) != tuple(example.shape):
                raise ValueError(f"ORT run prepared for {tuple(example.shape)}, got {tuple(x.shape)}")
            binding.bind_input("x", device_type, device_id, elem, list(x.shape), x.data_ptr())
            session.run_with_iobinding(binding)
            return out

        for _ in range(WARMUP_ITERS):
            run(example)
        run.info = "; ".join([f"ORT {session.get_providers()[0]}", *session.lit_notes])
        return run

    return prepare


def dry_check_onnx(model: nn.Module, example: torch.Tensor) -> str:
    """Export (CPU, fp32) and check the graph; what a GPU run would do first."""
    import onnx

    x = example.float() if example.dtype.is_floating_point else example
    proto = onnx.load_from_string(export_onnx(model, x.cpu(), dynamic_batch=False))
    onnx.checker.check_model(proto)
    ops = sorted({n.op_type for n in proto.graph.node})
    return f"ONNX export ok ({len(proto.graph.node)} nodes: {', '.join(ops)})"


def _cpu_available() -> str | None:
    return onnxruntime_problem()


def _gpu_available(*providers: str):
    def available() -> str | None:
        if not torch.cuda.is_available():
            return "needs a CUDA GPU (none visible)"
        return next((p for p in map(provider_problem, providers) if p), None)

    return available


ONNXRT = register_backend(Backend(
    name="onnxrt", devices=("cpu",), dtypes=(torch.float32, torch.float16), folds_bn=True,
    prepare=_make_prepare("cpu"), available=_cpu_available, dry_check=dry_check_onnx,
))

ORT_CUDA = register_backend(Backend(
    name="ort_cuda", devices=("cuda",), dtypes=(torch.float32, torch.float16), folds_bn=True,
    prepare=_make_prepare("cuda"), available=_gpu_available(CUDA_EP), own_memory=True,
    dry_check=dry_check_onnx,
))

ORT_TRT = register_backend(Backend(
    name="ort_trt", devices=("cuda",), dtypes=(torch.float32, torch.float16), folds_bn=True,
    prepare=_make_prepare("trt"), available=_gpu_available(TRT_EP, CUDA_EP), own_memory=True,
    dry_check=dry_check_onnx,
))
