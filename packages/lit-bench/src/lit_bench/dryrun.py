"""``python -m lit_bench --dry-run``: the plan of a bench run and the checks that need no GPU.

Builds every candidate (so pruning, checkpoints and sizes are checked), folds BN, and runs each
backend's ``dry_check`` once per model on the CPU — ONNX export for the ORT backends, a Dynamo
full-graph trace for ``compile`` — then prints the plan: rows, compiles, ONNX exports, TensorRT
engine builds and timed calls. A user with a GPU sees a broken export or a graph break in seconds,
not after an hour of timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .backends import Backend, get_backend
from .bench import DTYPES, STEADY_CALLS, BenchConfig
from .catalog import Candidate, Skipped, example_input
from .fold import fold_bn

__all__ = ["DryRunPlan", "dry_run"]


class DryRunPlan:
    """What a run would do (counts) and what failed in the CPU checks."""

    def __init__(self) -> None:
        self.rows = 0
        self.compiles = 0
        self.onnx_exports = 0
        self.trt_builds = 0
        self.timed_calls = 0
        self.problems: list[str] = []
        self.lines: list[str] = []


def _pairs(cfg: BenchConfig, plan: DryRunPlan) -> list[tuple[Backend, str]]:
    pairs = []
    for name in dict.fromkeys(cfg.backends):
        try:
            backend = get_backend(name)
        except ValueError as exc:
            plan.problems.append(str(exc))
            continue
        here = backend.available()
        for dtype in cfg.dtypes:
            if dtype not in DTYPES:
                plan.problems.append(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
                continue
            why = backend.fits(cfg.device, DTYPES[dtype])
            if why:
                plan.lines.append(f"  skip {name} {dtype}: {why}")
                continue
            pairs.append((backend, dtype))
            if here:
                plan.lines.append(f"  note {name} {dtype}: not available on this machine ({here})")
    return pairs


def dry_run(cfg: BenchConfig, candidates: list[Candidate], skipped: list[Skipped],
            log: Callable[[str], None] = print) -> DryRunPlan:
    """Check what can be checked without the target device and count what the run would do."""
    plan = DryRunPlan()
    plan.problems += [f"{s.model}/{s.variant}: {s.reason}" for s in skipped]
    pairs = _pairs(cfg, plan)
    batches = sorted(set(cfg.batch_sizes))
    per_row = {b: (cfg.runs if b == 1 else cfg.throughput_runs) + cfg.warmup + STEADY_CALLS + 2 for b in batches}
    for cand in candidates:
        x = example_input(cand.input_shape, cand.input_dtype, 1)
        try:
            folded = fold_bn(cand.module)
        except Exception as exc:
            plan.problems.append(f"{cand.key}: BN folding failed: {type(exc).__name__}: {exc}")
            continue
        for backend in dict.fromkeys(b for b, _ in pairs):
            if backend.dry_check is None:
                continue
            t0 = time.perf_counter()
            try:
                what = backend.dry_check(folded if backend.folds_bn else cand.module, x)
                plan.lines.append(f"  ok   {cand.key} {backend.name}: {what} ({time.perf_counter() - t0:.1f} s on CPU)")
            except Exception as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                plan.problems.append(f"{cand.key} {backend.name}: {type(exc).__name__}: {first}")
        for backend, _ in pairs:
            plan.rows += len(batches)
            plan.timed_calls += sum(per_row.values())
            if backend.name == "compile":
                plan.compiles += len(batches)
            if backend.name.startswith("ort") or backend.name == "onnxrt":
                plan.onnx_exports += len(batches)
            if backend.name == "ort_trt":
                plan.trt_builds += len(batches)
    log(f"lit-bench dry run for --device {cfg.device}: {len(candidates)} models, {len(pairs)} backend/dtype "
        f"pairs, batches {','.join(map(str, batches))}")
    for line in plan.lines:
        log(line)
    log(f"plan: {plan.rows} rows; {plan.compiles} torch.compile compiles (one Dynamo cache per model "
        f"group, reset between groups); {plan.onnx_exports} ONNX exports; {plan.trt_builds} TensorRT "
        f"engine builds (cached across runs); {plan.timed_calls} timed or warm-up calls")
    for problem in plan.problems:
        log(f"problem: {problem}")
    log("dry run: " + ("no problems found" if not plan.problems else f"{len(plan.problems)} problem(s)"))
    return plan
