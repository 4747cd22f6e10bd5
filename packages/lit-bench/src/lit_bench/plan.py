"""The plan of a bench run and what it costs on one GPU, computed without building anything expensive.

Two GPU plans (``BenchConfig.defaults_for("cuda", full=...)``):

* **quick** (the default of ``python -m lit_bench`` / ``nox -s bench`` on a GPU): the teacher
  resnet110, the LIT student resnet20 and two pruned teachers (resnet110 l1-B, depgraph); every
  CUDA backend; batch 1 and batch 1024. The cheap backends (eager, eager_folded, cuda_graphs,
  fused, fused_graphs) run in fp32 and bf16; the three that compile or build an engine per row
  run in one half type each: ``compile`` in bf16 with mode "reduce-overhead" (Inductor's CUDA
  graphs, no autotuning), ``ort_cuda`` and ``ort_trt`` in fp16 (ONNX Runtime has no bf16 here).
* **full** (``--full``): every model, variant, backend and dtype at batches 1-4096, ``compile``
  with "max-autotune".

The cost model (``row_cost_s``) is a sum per planned row, documented by its constants below:
building the candidate (once per model), the eager fp32 reference (once per model and batch),
preparing the row (per backend; a shape-agnostic backend only at its first batch size, see
``Backend.shape_agnostic``), and its calls (warm-up, timed, steady-state and check calls) at an
estimated time per call: launch overhead per conv layer plus MACs at a per-dtype rate. The
constants are estimates for an H100/H200-class GPU, set before any GPU run of this bench; each
row's measured ``prepare_s`` (results.json) is what to calibrate them with. ``estimate_s`` is the
sum over the plan's rows plus the one-time costs (process start, building the fused op on first
use). The plan's sizes need no expensive build: dense models are built and counted (a second),
l1-A/l1-B pruned (a tenth of a second each), and DepGraph / unstructured variants take the size
their pruning targets (half the MACs; the student's MACs; dense kernels) without pruning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from .backends import get_backend, list_backends

__all__ = [
    "CALL_FIXED_S",
    "LAUNCH_S_PER_CONV",
    "MAC_RATE",
    "ONE_TIME_S",
    "PREPARE_S",
    "QUICK_BUDGET_S",
    "Plan",
    "PlannedModel",
    "PlannedRow",
    "call_s",
    "full_gpu_config",
    "make_plan",
    "minutes",
    "planned_models",
    "quick_gpu_config",
    "row_cost_s",
]

QUICK_BUDGET_S = 600.0  # the quick plan's estimate must stay within 10 minutes on one H100/H200

#: seconds to prepare one row: (fixed, per conv layer); ``compile`` per Inductor mode
PREPARE_S: dict[str, tuple[float, float]] = {
    "eager": (0.3, 0.0),
    "eager_folded": (0.3, 0.0),
    "fused": (1.0, 0.0),  # pack the weights per block
    "cuda_graphs": (1.0, 0.005),  # side-stream warm-up and capture
    "fused_graphs": (1.5, 0.005),
    "compile:reduce-overhead": (10.0, 0.15),  # Dynamo + Inductor codegen + Triton compile + graphs
    "compile:max-autotune": (30.0, 0.6),  # + benchmarking conv/matmul templates
    "compile:default": (10.0, 0.15),
    "ort_cuda": (3.0, 0.03),  # ONNX export + session + exhaustive cuDNN algorithm search
    "ort_trt": (15.0, 0.35),  # ONNX export + TensorRT engine build (cached across runs)
    "onnxrt": (1.0, 0.02),
}
PREPARE_FALLBACK_S = (5.0, 0.1)  # a backend registered by a plug-in
REUSE_S = 0.1  # a shape-agnostic row at a later batch size (its run is reused)
ROW_FIXED_S = 0.3  # verification, memory probe, the input step's own timing
REFERENCE_S = 0.5  # the eager fp32 reference of one model at one batch size
#: seconds to build (and BN-calibrate) one candidate, by variant
BUILD_S = {"dense": 0.5, "unstructured": 1.0, "l1-A": 0.5, "l1-B": 0.5, "depgraph": 8.0,
           "depgraph-r8": 8.0, "depgraph-matched": 60.0}
#: per call: host launch overhead per conv layer, by backend (eager launches conv, bias/BN, ReLU
#: and add kernels one by one; graphs and engines replay them)
LAUNCH_S_PER_CONV = {"eager": 30e-6, "eager_folded": 20e-6, "fused": 12e-6, "compile": 3e-6,
                     "cuda_graphs": 3e-6, "fused_graphs": 3e-6, "ort_cuda": 15e-6, "ort_trt": 4e-6}
CALL_FIXED_S = 30e-6  # per call, every backend
#: MACs per second reached on CIFAR-sized convolutions (16-64 channels: far below peak)
MAC_RATE = {"fp32": 8e12, "bf16": 25e12, "fp16": 25e12}
#: once per run: process start and imports; building the fused op on first use (0 if cached)
ONE_TIME_S = {"start": 15.0, "fused op build": 90.0}
CHECK_CALLS = 2  # the first call after prepare and the verification call


def quick_gpu_config():
    """The default GPU plan (see the module docstring): ≤ 10 minutes on one H100/H200."""
    from .bench import BenchConfig

    cheap = ("eager", "eager_folded", "cuda_graphs", "fused", "fused_graphs")
    return BenchConfig(
        device="cuda", models=("resnet110", "resnet20"), variants=("dense", "l1-B", "depgraph"),
        backends=tuple(b for b in list_backends() if "cuda" in get_backend(b).devices),
        dtypes=("fp32", "bf16"), backend_dtypes={"compile": ("bf16",), "ort_cuda": ("fp16",), "ort_trt": ("fp16",)}
        | {b: ("fp32", "bf16") for b in cheap},
        backend_models={b: ("resnet110/dense", "resnet20/dense") for b in ("compile", "ort_trt")},
        options={"compile": {"mode": "reduce-overhead"}},
        batch_sizes=(1, 1024), runs=1000, throughput_runs=20, warmup=20, threads=None, plan="quick",
    )


def full_gpu_config():
    """The whole GPU matrix (``--full``): every model, variant, backend, dtype; batches 1-4096."""
    from .bench import BenchConfig
    from .catalog import DEFAULT_MODELS, VARIANTS

    return BenchConfig(
        device="cuda", models=DEFAULT_MODELS, variants=VARIANTS,
        backends=tuple(b for b in list_backends() if "cuda" in get_backend(b).devices),
        dtypes=("fp32", "bf16", "fp16"), options={"compile": {"mode": "max-autotune"}},
        batch_sizes=(1, 64, 256, 1024, 4096), runs=1000, throughput_runs=20, warmup=20, threads=None, plan="full",
    )


@dataclass(frozen=True)
class PlannedModel:
    """A candidate as planned: its size from a cheap build or its pruning target (``how``)."""

    model: str
    variant: str
    macs: int
    conv_layers: int
    how: str  # "counted" or what the size is taken from


@dataclass(frozen=True)
class PlannedRow:
    """One row the run would time, with what its preparation does."""

    model: PlannedModel
    backend: str
    dtype: str
    batch_size: int
    calls: int  # warm-up + timed + steady-state + check calls
    prepare: str  # "prepare", "reuse" (a shape-agnostic run from an earlier batch)
    mode: str | None = None  # compile's Inductor mode


@dataclass
class Plan:
    """The rows of a run and their cost; counts of compiles, exports, engine builds and calls."""

    rows: list[PlannedRow] = field(default_factory=list)
    models: list[PlannedModel] = field(default_factory=list)
    batch_sizes: tuple[int, ...] = ()
    problems: list[str] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)

    @property
    def compiles(self) -> int:
        return sum(r.backend == "compile" for r in self.rows)

    @property
    def onnx_exports(self) -> int:
        return sum(r.backend.startswith("ort") or r.backend == "onnxrt" for r in self.rows)

    @property
    def trt_builds(self) -> int:
        return sum(r.backend == "ort_trt" for r in self.rows)

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.rows)

    def one_time_s(self) -> float:
        """Process start, candidate builds, references, and the fused op's build if it is used."""
        fused = any(r.backend.startswith("fused") for r in self.rows)
        builds = sum(BUILD_S.get(m.variant, 1.0) for m in self.models)
        refs = REFERENCE_S * len(self.models) * len(self.batch_sizes)
        return ONE_TIME_S["start"] + (ONE_TIME_S["fused op build"] if fused else 0.0) + builds + refs

    def estimate_s(self) -> float:
        """Estimated seconds on one H100/H200: one-time costs + the sum of ``row_cost_s``."""
        return self.one_time_s() + sum(row_cost_s(r) for r in self.rows)


def call_s(row: PlannedRow) -> float:
    """Estimated seconds per call: fixed + launch overhead per conv layer + MACs at the dtype's rate."""
    launch = LAUNCH_S_PER_CONV.get(row.backend, 20e-6) * row.model.conv_layers
    return CALL_FIXED_S + launch + row.model.macs * row.batch_size / MAC_RATE.get(row.dtype, 8e12)


def _prepare_s(row: PlannedRow) -> float:
    if row.prepare == "reuse":
        return REUSE_S
    key = f"compile:{row.mode or 'default'}" if row.backend == "compile" else row.backend
    fixed, per_conv = PREPARE_S.get(key, PREPARE_FALLBACK_S)
    return fixed + per_conv * row.model.conv_layers


def row_cost_s(row: PlannedRow) -> float:
    """Estimated seconds of one row: preparing it, verifying it, and all its calls."""
    return _prepare_s(row) + ROW_FIXED_S + row.calls * call_s(row)


_TARGETS = {
    "depgraph": (0.5, "DepGraph's target, half the MACs"),
    "depgraph-r8": (0.5, "DepGraph's target, half the MACs"),
    "unstructured": (1.0, "dense kernels: the dense model's MACs"),
}


def planned_models(cfg, log: Callable[[str], None] = lambda _: None) -> tuple[list[PlannedModel], list[str]]:
    """The candidates ``build_candidates`` would build for ``cfg``, sized cheaply; and problems."""
    from .catalog import (
        EXTRA_VARIANTS,
        TEACHERS,
        VARIANTS,
        create_base_model,
        describe,
        input_of,
        make_variant,
    )

    valid = VARIANTS + EXTRA_VARIANTS
    problems = [f"unknown variant {v!r}; valid: {', '.join(valid)}" for v in dict.fromkeys(cfg.variants) if v not in valid]
    variants = [v for v in dict.fromkeys(cfg.variants) if v in valid]
    target_macs = None
    if "depgraph-matched" in variants:
        try:
            student = create_base_model(cfg.unstructured_target, cfg.spec)
            target_macs = describe(cfg.unstructured_target, "dense", student, cfg.spec).macs
        except Exception as exc:
            problems.append(f"cannot build the target student {cfg.unstructured_target}: {exc}")
    out: list[PlannedModel] = []
    for name in dict.fromkeys(cfg.models):
        try:
            base = create_base_model(name, cfg.spec)
            dense = describe(name, "dense", base, cfg.spec)
        except Exception as exc:
            problems.append(f"{name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            continue
        for variant in variants:
            if variant != "dense" and (name not in TEACHERS or not name.startswith("resnet")):
                continue
            if variant == "dense":
                out.append(PlannedModel(name, variant, dense.macs, dense.conv_layers, "counted"))
            elif variant in _TARGETS:
                factor, how = _TARGETS[variant]
                out.append(PlannedModel(name, variant, int(dense.macs * factor), dense.conv_layers, how))
            elif variant == "depgraph-matched":
                if target_macs is not None:
                    out.append(PlannedModel(name, variant, target_macs, dense.conv_layers,
                                            f"the student's MACs ({cfg.unstructured_target})"))
            else:  # l1-A / l1-B: cheap to prune, so counted
                try:
                    module = make_variant(base, name, variant, unstructured_target=0,
                                          input_shape=input_of(name, cfg.spec)[0])
                    size = describe(name, variant, module, cfg.spec)
                    out.append(PlannedModel(name, variant, size.macs, size.conv_layers, "counted"))
                except Exception as exc:
                    problems.append(f"{name}/{variant}: {str(exc).splitlines()[0]}")
    return out, problems


def make_plan(cfg, models: list[PlannedModel] | None = None) -> Plan:
    """Every row a run of ``cfg`` would time (models × backend/dtype pairs × batch sizes), with
    their calls, in the order the bench runs them; pairs a backend cannot run become ``skips``."""
    from .bench import DTYPES, STEADY_CALLS

    plan = Plan(batch_sizes=tuple(sorted(set(cfg.batch_sizes))))
    if models is None:
        models, plan.problems = planned_models(cfg)
    plan.models = list(models)
    pairs = []
    for name in dict.fromkeys(cfg.backends):
        try:
            backend = get_backend(name)
        except ValueError as exc:
            plan.problems.append(str(exc))
            continue
        for dtype in cfg.dtypes_of(name):
            if dtype not in DTYPES:
                plan.problems.append(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
                continue
            why = backend.fits(cfg.device, DTYPES[dtype])
            if why:
                plan.skips.append(f"{name} {dtype}: {why}")
                continue
            pairs.append((backend, dtype))
    mode = cfg.options.get("compile", {}).get("mode", "max-autotune" if cfg.device == "cuda" else None)
    for i, batch in enumerate(plan.batch_sizes):
        timed = cfg.runs if batch == 1 else cfg.throughput_runs
        calls = cfg.warmup + timed + STEADY_CALLS + CHECK_CALLS
        for m in plan.models:
            for backend, dtype in pairs:
                if not cfg.runs_model(backend.name, f"{m.model}/{m.variant}"):
                    continue
                plan.rows.append(PlannedRow(
                    model=m, backend=backend.name, dtype=dtype, batch_size=batch, calls=calls,
                    prepare="reuse" if backend.shape_agnostic and i > 0 else "prepare",
                    mode=mode if backend.name == "compile" else None,
                ))
    return plan


def minutes(seconds: float) -> str:
    """``12.3 min``."""
    return f"{math.ceil(seconds / 6) / 10:.1f} min"
