"""The bench: every candidate × backend × dtype, verified against eager fp32, then timed.

``run_bench(config)`` returns result rows (plain dicts, the columns of ``ROW_FIELDS``). Nothing
stops the run but a bug: an unknown model, variant or backend, a checkpoint that does not fit, an
export that fails, a backend whose output is off, an out-of-memory batch — each becomes a row with
``status`` "failed" or "skipped" and a one-line ``reason``, and everything else still runs.

Order: one batch size at a time (ascending); at each, a group of up to ``GROUP_MODELS`` models
(all of the quick plan's) with all their backends × dtypes is prepared, verified and timed
interleaved block by block (see ``lit_bench.timing``), so the teacher, the students and the pruned
teachers are timed under the same conditions, not one after another; then
``torch.compiler.reset()`` frees the group's compiled versions (each compile has its own Dynamo
cache, see ``lit_bench.backends.torch_compile``). Runs of shape-agnostic backends (eager,
eager_folded, fused: ``Backend.shape_agnostic``) are prepared once and reused at every batch size;
the others (CUDA graphs, Inductor with ``dynamic=False``, static ONNX / TensorRT engines) are
prepared per batch size. Each row records ``prepare_s``, the seconds its preparation took (what
``lit_bench.plan``'s cost model estimates), and a per-call input step (``timed_call``: the copy
into a CUDA graph's static input, the NHWC conversion of half-precision rows) is timed apart and
stated in the row's note, not in its latency.

Verification: before timing, the prepared backend runs on a seeded random input of the timed
batch size and its output is compared with the unfolded model in eager fp32 on the same device.
Error = max|y − y_ref| / max|y_ref| (relative to the logits' scale, so near-zero logits do not
blow it up); bounds in ``TOLERANCE``: fp32 1e-4 (BN folding and kernel choice reorder sums),
bf16 5e-2 and fp16 2e-2 (8- and 11-bit mantissas, rounding at every one of up to 110
layers; measured on CPU with BN-calibrated random weights: bf16 up to 3e-2 for resnet56).
"""

from __future__ import annotations

import copy
import gc
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from .backends import Backend, get_backend, timed_call
from .catalog import (
    DEFAULT_MODELS,
    VARIANTS,
    Candidate,
    InputSpec,
    Skipped,
    build_candidates,
    example_input,
)
from .fold import fold_bn
from .timing import (
    MemoryProbe,
    environment,
    gpu_state,
    is_oom,
    noise,
    summarise,
    time_interleaved,
    time_mean,
    wants_per_call,
)

__all__ = ["DTYPES", "ROW_FIELDS", "TOLERANCE", "BenchConfig", "relative_error", "run_bench"]

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
TOLERANCE = {torch.float32: 1e-4, torch.bfloat16: 5e-2, torch.float16: 2e-2}

ROW_FIELDS = (
    "model", "variant", "role", "backend", "device", "dtype", "batch_size",
    "latency_ms_p50", "latency_ms_p90", "latency_ms_p99", "throughput_items_s", "runs",
    "repeats", "spread_pct", "noisy",
    "peak_mem_bytes", "params", "macs", "conv_layers", "accuracy", "accuracy_std", "accuracy_n",
    "max_rel_error", "prepare_s",
    "device_name", "threads", "torch", "onnxruntime", "cuda", "driver", "git_sha", "gpu_state",
    "status", "reason", "note",
)
CPU_BACKENDS = ("eager", "eager_folded", "compile", "onnxrt")
STEADY_CALLS = 3  # calls after warm-up whose peak memory is reported
GROUP_MODELS = 8  # models prepared and timed together at one batch size (memory bounds it)
INPUT_STEP_CALLS = 50  # calls that time a per-call input step (reported beside the latency)


@dataclass
class BenchConfig:
    """What to run and how long; ``defaults_for(device)`` gives the GPU or the small CPU setting.

    Attributes:
        device: ``"cpu"`` or ``"cuda"``.
        models: lit-models names to bench.
        variants: ``"dense"`` and the pruned variants (``"unstructured"``, ``"l1-A"``, …).
        backends: names from ``list_backends()``.
        dtypes: ``"fp32"``, ``"bf16"``, ``"fp16"``.
        batch_sizes: batch 1 is timed for latency, larger ones for throughput.
        runs: timed batch-1 calls per candidate.
        throughput_runs: timed calls at each larger batch.
        repeats: groups the timed calls are split into (``spread_pct``, ``noisy``).
        warmup: untimed calls first.
        checkpoints: ``{model or model/variant: best.pt}`` weights to load.
        spec: the input (channels, image size, classes, sequence length).
        unstructured_target: the model whose parameter count unstructured pruning matches.
        seed: for the inputs and the pruning.
        threads: CPU threads for PyTorch and ONNX Runtime (None: leave as is).

    Examples:
        >>> BenchConfig.defaults_for("cpu").batch_sizes
        (1, 16, 64)
    """

    device: str = "cpu"
    models: tuple[str, ...] = DEFAULT_MODELS
    variants: tuple[str, ...] = VARIANTS
    backends: tuple[str, ...] = CPU_BACKENDS
    dtypes: tuple[str, ...] = ("fp32",)
    batch_sizes: tuple[int, ...] = (1, 16, 64)
    runs: int = 100  # timed batch-1 calls per candidate (p99 reported from 1000 on)
    throughput_runs: int = 10  # timed calls per candidate at each larger batch
    repeats: int = 5  # groups the timed calls are split into to measure spread_pct / noisy
    warmup: int = 5
    checkpoints: dict[str, str] = field(default_factory=dict)
    spec: InputSpec = field(default_factory=InputSpec)
    unstructured_target: str = "resnet20"
    seed: int = 0
    threads: int | None = 1  # CPU threads for PyTorch and ONNX Runtime (None: leave as is)
    #: backend → the dtypes it runs in (instead of ``dtypes``), e.g. the quick plan's one dtype
    #: for the backends that compile or build an engine per row
    backend_dtypes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: backend → the only models (``model/variant`` keys) it runs, e.g. the quick plan's TensorRT
    #: rows for the teacher and the student only (an engine build per row)
    backend_models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: backend → keyword options for its ``prepare`` (e.g. ``{"compile": {"mode": ...}}``)
    options: dict[str, dict] = field(default_factory=dict)
    plan: str = "cpu"  # "quick" (the GPU default), "full" (the whole GPU matrix) or "cpu"

    @staticmethod
    def defaults_for(device: str, full: bool = False) -> BenchConfig:
        """The quick GPU plan (``full``: the whole GPU matrix), or the small CPU setting."""
        if device == "cuda":
            from .plan import full_gpu_config, quick_gpu_config

            return full_gpu_config() if full else quick_gpu_config()
        return BenchConfig()

    def dtypes_of(self, backend: str) -> tuple[str, ...]:
        """The dtypes ``backend`` runs in under this config."""
        return self.backend_dtypes.get(backend, self.dtypes)

    def runs_model(self, backend: str, key: str) -> bool:
        """Whether ``backend`` runs the model ``key`` (``model/variant``) under this config."""
        return backend not in self.backend_models or key in self.backend_models[backend]


def relative_error(y: torch.Tensor, ref: torch.Tensor) -> float:
    """max|y − ref| / max|ref| in fp32 (the verification metric)."""
    y, ref = y.detach().float(), ref.detach().float()
    if y.shape != ref.shape:
        return float("inf")
    err = (y - ref).abs().max() / ref.abs().max().clamp_min(1e-12)
    return float(err) if torch.isfinite(err) else float("inf")


def _dtype_name(dtype: torch.dtype) -> str:
    return next(k for k, v in DTYPES.items() if v == dtype)


@dataclass
class _Combo:
    cand: Candidate
    backend: Backend
    dtype: torch.dtype
    oom_at: int | None = None
    reused: tuple[Callable, int] | None = None  # a shape-agnostic run and its model's tensor bytes


class _Rows:
    """Accumulates result rows with the shared environment columns filled in."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.env = environment(device)
        self.rows: list[dict] = []

    def add(self, **kw) -> dict:
        row = dict.fromkeys(ROW_FIELDS)
        row.update({k: self.env.get(k) for k in ("device_name", "torch", "onnxruntime", "cuda", "driver", "git_sha")})
        row["device"] = self.device
        row["threads"] = torch.get_num_threads() if self.device == "cpu" else None
        row.update(kw)
        self.rows.append(row)
        return row

    def for_combo(self, c: _Combo, batch_size: int, **kw) -> dict:
        return self.add(
            model=c.cand.model, variant=c.cand.variant, role=c.cand.role, backend=c.backend.name,
            dtype=_dtype_name(c.dtype), batch_size=batch_size, params=c.cand.params,
            macs=c.cand.macs, conv_layers=c.cand.conv_layers, accuracy=c.cand.accuracy,
            accuracy_std=c.cand.accuracy_std, accuracy_n=c.cand.accuracy_n, note=c.cand.note, **kw,
        )

    def skipped(self, s: Skipped) -> None:
        self.add(model=s.model, variant=s.variant, backend=s.backend or None, status="skipped", reason=s.reason)


def _resolve_backends(cfg: BenchConfig, rows: _Rows, log: Callable[[str], None]) -> list[tuple[Backend, torch.dtype]]:
    pairs = []
    wanted = dict.fromkeys(d for b in dict.fromkeys(cfg.backends) for d in cfg.dtypes_of(b))
    for name in wanted:
        if name not in DTYPES:
            msg = f"unknown dtype {name!r}; valid: {', '.join(DTYPES)}"
            log(f"lit-bench: skipping dtype {name}: {msg}")
            rows.add(model="*", variant="*", dtype=name, status="skipped", reason=msg)
    for name in dict.fromkeys(cfg.backends):
        try:
            backend = get_backend(name)
        except ValueError as exc:
            log(f"lit-bench: skipping backend {name}: {exc}")
            rows.skipped(Skipped("*", "*", str(exc), backend=name))
            continue
        for dtype in (DTYPES[d] for d in cfg.dtypes_of(name) if d in DTYPES):
            why = backend.supports(cfg.device, dtype)
            if why:
                log(f"lit-bench: skipping {name} {_dtype_name(dtype)}: {why}")
                rows.add(model="*", variant="*", backend=name, dtype=_dtype_name(dtype), status="skipped", reason=why)
            else:
                pairs.append((backend, dtype))
    return pairs


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def _cast(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Floating inputs in the row's dtype; token ids stay int64."""
    return x.to(dtype) if x.dtype.is_floating_point else x


def _tensor_bytes(model: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])


def _prepare(c: _Combo, x: torch.Tensor, device: torch.device, options: dict) -> tuple[Callable, int | None]:
    """Fold (or copy), move, prepare and warm up; then the steady-state peak memory of a few calls
    (weights and activations, not the one-time autotuning or export peaks; the input excluded).
    A shape-agnostic backend's run is prepared once and reused (its peak: the activations of
    these calls plus its model's weights and buffers)."""
    if c.reused is not None:
        run, weights = c.reused
        with MemoryProbe(device) as probe, torch.inference_mode():
            run(x)
            probe.reset_peak()
            for _ in range(STEADY_CALLS):
                run(x)
        peak = None if probe.peak_bytes is None else probe.peak_bytes + weights
        return run, peak
    with MemoryProbe(device) as probe:
        model = fold_bn(c.cand.module) if c.backend.folds_bn else copy.deepcopy(c.cand.module)
        model = model.eval().to(device=device, dtype=c.dtype)
        with torch.inference_mode():
            run = c.backend.prepare(model, x, **options) if options else c.backend.prepare(model, x)
            run(x)
            probe.reset_peak()
            for _ in range(STEADY_CALLS):
                run(x)
    if c.backend.shape_agnostic:
        c.reused = (run, _tensor_bytes(model))
    if device.type == "cuda" and c.backend.own_memory:
        return run, None  # its own allocator: invisible to torch.cuda's peak
    return run, probe.peak_bytes


def _input_step_note(step: Callable[[], object] | None, what: str | None, device: torch.device) -> str:
    """The per-call input step's time, for the row's note (it is not in the latency)."""
    if step is None:
        return ""
    ms = time_mean(step, INPUT_STEP_CALLS, device) * 1e3
    return f"{what}: {ms:.4g} ms per call, timed apart (not in the latency)"


def _run_group(
    group: list[_Combo], batch: int, cfg: BenchConfig, rows: _Rows, log: Callable[[str], None]
) -> None:
    """Prepare and verify each combo of ``group`` at ``batch``, then time the good ones interleaved."""
    device = torch.device(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed + batch)
    refs: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    ready = []
    for c in group:
        if c.oom_at is not None:
            rows.for_combo(c, batch, status="skipped", reason=f"out of memory already at batch {c.oom_at}")
            continue
        try:
            if id(c.cand) not in refs:
                x_check = example_input(c.cand.input_shape, c.cand.input_dtype, batch, gen).to(device)
                ref_model = copy.deepcopy(c.cand.module).to(device)
                with torch.inference_mode():
                    refs[id(c.cand)] = (x_check, ref_model(x_check))
                del ref_model
            x_check, ref = refs[id(c.cand)]
            x = _cast(example_input(c.cand.input_shape, c.cand.input_dtype, batch, gen).to(device), c.dtype)
            t0 = time.perf_counter()
            run, peak = _prepare(c, x, device, cfg.options.get(c.backend.name, {}))
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            prepare_s = time.perf_counter() - t0
            with torch.inference_mode():
                err = relative_error(run(_cast(x_check, c.dtype)), ref)
                call, step, what = timed_call(run, x)
                step_note = _input_step_note(step, what, device)
        except Exception as exc:
            if is_oom(exc):
                c.oom_at = batch
                rows.for_combo(c, batch, status="skipped", reason=f"out of memory at batch {batch}")
            else:
                reason = _one_line(exc)
                log(f"lit-bench: {c.cand.key} {c.backend.name} {_dtype_name(c.dtype)} b{batch} failed: {reason}")
                rows.for_combo(c, batch, status="failed", reason=reason)
            continue
        bound = TOLERANCE[c.dtype]
        if not err <= bound:
            reason = f"output differs from eager fp32: relative error {err:.2e} > bound {bound:.0e}"
            log(f"lit-bench: {c.cand.key} {c.backend.name} {_dtype_name(c.dtype)} b{batch} failed: {reason}")
            rows.for_combo(c, batch, status="failed", reason=reason, max_rel_error=err)
            continue
        info = getattr(run, "info", None)  # e.g. which ONNX Runtime provider really ran
        if device.type == "cuda" and c.backend.own_memory:
            info = "; ".join(filter(None, [info, "peak memory not measured (ORT's own CUDA arena)"]))
        info = "; ".join(filter(None, [info, step_note]))
        ready.append((c, call, peak, err, info, prepare_s))
    if not ready:
        return
    reps = cfg.runs if batch == 1 else cfg.throughput_runs
    state_before = gpu_state(device)
    try:
        samples = time_interleaved(
            [call for _, call, *_ in ready], repetitions=reps, warmup=cfg.warmup, device=device,
            per_call=wants_per_call(device, batch, reps),
        )
    except Exception as exc:
        reason = "timing failed: " + _one_line(exc)
        for c, *_ in ready:
            rows.for_combo(c, batch, status="failed", reason=reason)
        return
    state = state_before and f"{state_before} → {gpu_state(device)}"
    for (c, _, peak, err, info, prepare_s), s in zip(ready, samples, strict=True):
        st = summarise(s.seconds, batch, s.calls_per_sample)
        nz = noise(s.seconds, cfg.repeats)
        row = rows.for_combo(
            c, batch, status="ok", reason="", latency_ms_p50=st.p50_ms, latency_ms_p90=st.p90_ms,
            latency_ms_p99=st.p99_ms, throughput_items_s=st.throughput, runs=st.runs,
            repeats=nz.repeats, spread_pct=nz.spread_pct, noisy=nz.noisy, peak_mem_bytes=peak, max_rel_error=err,
            prepare_s=round(prepare_s, 3), gpu_state=state,
        )
        if info:
            row["note"] = "; ".join(filter(None, [row["note"], str(info)]))


def _groups(combos: list[_Combo], batches: Iterable[int]) -> Iterable[tuple[list[_Combo], int]]:
    """For each batch size (ascending), groups of up to ``GROUP_MODELS`` models with all their
    backends × dtypes (timed interleaved across models and backends)."""
    by_cand: dict[int, list[_Combo]] = {}
    for c in combos:
        by_cand.setdefault(id(c.cand), []).append(c)
    per_model = list(by_cand.values())
    chunks = [per_model[i:i + GROUP_MODELS] for i in range(0, len(per_model), GROUP_MODELS)]
    for batch in sorted(set(batches)):
        for chunk in chunks:
            yield [c for model in chunk for c in model], batch


def run_bench(
    cfg: BenchConfig,
    *,
    candidates: list[Candidate] | None = None,
    skipped: Iterable[Skipped] = (),
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Run the whole bench for ``cfg`` and return its rows (ok, failed and skipped).

    Every candidate (model × variant) runs on every backend × dtype × batch size; each output
    is verified against eager fp32 before it is timed.

    Args:
        cfg: what to run and how long (``BenchConfig``; ``BenchConfig.defaults_for(device)``).
        candidates: models built beforehand (``build_candidates``), e.g. to evaluate their
            accuracy first; None builds them from ``cfg``.
        skipped: the catalog's problems that came with ``candidates`` (reported as rows).
        log: where progress lines go.

    Returns:
        One dict per row (``model``, ``variant``, ``backend``, ``batch_size``,
        ``latency_ms_p50``, ``throughput_items_s``, ``status`` ``ok``/``failed``/``skipped``, …).

    Examples:
        >>> cfg = BenchConfig(models=("resnet20",), variants=("dense",), backends=("eager",),
        ...                   batch_sizes=(1,), runs=3, throughput_runs=1, repeats=1, warmup=1)
        >>> row = run_bench(cfg, log=lambda line: None)[0]
        >>> row["model"], row["backend"], row["status"], row["latency_ms_p50"] > 0
        ('resnet20', 'eager', 'ok', True)
    """
    saved = (torch.get_num_threads(), torch.backends.cudnn.benchmark,
             torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device == "cuda":
        # fp32 means IEEE fp32 (TF32 would put eager fp32 itself ~1e-3 off); cuDNN autotunes
        # eager convolutions as ONNX Runtime's exhaustive search does for its own.
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return _run_bench(cfg, candidates, list(skipped), log)
    finally:
        torch.set_num_threads(saved[0])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32 = saved[1], saved[2]
        torch.backends.cuda.matmul.allow_tf32 = saved[3]


def _run_bench(
    cfg: BenchConfig, candidates: list[Candidate] | None, skipped: list[Skipped], log: Callable[[str], None]
) -> list[dict]:
    rows = _Rows(cfg.device)
    if candidates is None:
        candidates, skipped = build_candidates(
            cfg.models, cfg.variants, checkpoints=cfg.checkpoints, spec=cfg.spec,
            unstructured_target=cfg.unstructured_target, log=log,
        )
    for s in skipped:
        rows.skipped(s)
    pairs = _resolve_backends(cfg, rows, log)
    bad = [b for b in cfg.batch_sizes if b < 1]
    if bad:
        raise ValueError(f"batch sizes must be ≥ 1, got {bad[0]}")
    combos = [_Combo(cand, b, dt) for cand in candidates for b, dt in pairs if cfg.runs_model(b.name, cand.key)]
    log(f"lit-bench: {len(candidates)} models × {len(pairs)} backend/dtype pairs × "
        f"{len(set(cfg.batch_sizes))} batch sizes on {cfg.device}")
    for group, batch in _groups(combos, cfg.batch_sizes):
        keys = list(dict.fromkeys(c.cand.key for c in group))
        log(f"lit-bench: batch {batch}: {', '.join(keys)}")
        torch.compiler.reset()  # frees the previous group's compiled versions
        _run_group(group, batch, cfg, rows, log)
        gc.collect()
        if cfg.device == "cuda":
            torch.cuda.empty_cache()
    torch.compiler.reset()
    return rows.rows

