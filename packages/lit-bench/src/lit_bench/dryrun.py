"""``python -m lit_bench --dry-run``: the plan of a bench run and its estimated GPU time, in seconds.

Plans without building anything expensive (``lit_bench.plan``: dense models are built and counted,
no pruning search, no export, no compile) and prints rows, torch.compile compiles, ONNX exports,
TensorRT engine builds, calls and the estimated minutes on one H100/H200. ``--dry-run --check``
also builds every candidate (pruning included), folds BN and runs each backend's ``dry_check``
once per model on the CPU — ONNX export for the ORT backends, a Dynamo full-graph trace for
``compile`` — so a broken export or a graph break shows before a GPU hour is spent (this takes
minutes: the DepGraph pruning and the exports).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .backends import get_backend
from .bench import BenchConfig
from .catalog import Candidate, Skipped, example_input
from .fold import fold_bn
from .plan import Plan, PlannedModel, make_plan, minutes

__all__ = ["dry_run"]


def _from_candidates(candidates: list[Candidate]) -> list[PlannedModel]:
    return [PlannedModel(c.model, c.variant, c.macs, c.conv_layers, "built") for c in candidates]


def _check(cfg: BenchConfig, plan: Plan, candidates: list[Candidate], lines: list[str]) -> None:
    """Each backend's CPU check (export, trace) once per candidate; failures become problems."""
    backends = [get_backend(b) for b in dict.fromkeys(r.backend for r in plan.rows)]
    for cand in candidates:
        x = example_input(cand.input_shape, cand.input_dtype, 1)
        try:
            folded = fold_bn(cand.module)
        except Exception as exc:
            plan.problems.append(f"{cand.key}: BN folding failed: {type(exc).__name__}: {exc}")
            continue
        for backend in backends:
            if backend.dry_check is None:
                continue
            t0 = time.perf_counter()
            try:
                what = backend.dry_check(folded if backend.folds_bn else cand.module, x)
                lines.append(f"  ok   {cand.key} {backend.name}: {what} ({time.perf_counter() - t0:.1f} s on CPU)")
            except Exception as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                plan.problems.append(f"{cand.key} {backend.name}: {type(exc).__name__}: {first}")


def dry_run(cfg: BenchConfig, candidates: list[Candidate] | None = None, skipped: list[Skipped] = (),
            log: Callable[[str], None] = print) -> Plan:
    """Print the plan of ``cfg`` and its estimate; with ``candidates`` (built beforehand, for
    ``--check``) their sizes are used and each backend's CPU check runs on each of them."""
    t0 = time.perf_counter()
    models = None if candidates is None else _from_candidates(candidates)
    plan = make_plan(cfg, models)
    plan.problems += [f"{s.model}/{s.variant}: {s.reason}" for s in skipped]
    lines = [f"  skip {s}" for s in plan.skips]
    for backend in dict.fromkeys(r.backend for r in plan.rows):
        here = get_backend(backend).available()
        if here:
            lines.append(f"  note {backend}: not available on this machine ({here})")
    if candidates is not None:
        _check(cfg, plan, candidates, lines)
    pairs = {(r.backend, r.dtype) for r in plan.rows}
    log(f"lit-bench dry run for --device {cfg.device} ({cfg.plan} plan): {len(plan.models)} models "
        f"({', '.join(f'{m.model}/{m.variant}' for m in plan.models)}), {len(pairs)} backend/dtype pairs, "
        f"batches {','.join(map(str, plan.batch_sizes))}")
    sized = sorted({m.how for m in plan.models} - {"counted", "built"})
    if sized:
        log("  sizes not counted but taken from: " + "; ".join(sized))
    for line in lines:
        log(line)
    log(f"plan: {len(plan.rows)} rows; {plan.compiles} torch.compile compiles; {plan.onnx_exports} ONNX exports; "
        f"{plan.trt_builds} TensorRT engine builds; {plan.calls} timed or warm-up calls")
    if cfg.device == "cuda":
        log(f"estimate: {minutes(plan.estimate_s())} on one H100/H200 ({plan.estimate_s():.0f} s: "
            f"{plan.one_time_s():.0f} s start, builds and references + the rows; lit_bench.plan's cost model)")
    else:
        log("estimate: the cost model is for one H100/H200 (--device cuda); none for the CPU")
    for problem in plan.problems:
        log(f"problem: {problem}")
    log(f"dry run: {'no problems found' if not plan.problems else f'{len(plan.problems)} problem(s)'} "
        f"({time.perf_counter() - t0:.1f} s)")
    return plan
