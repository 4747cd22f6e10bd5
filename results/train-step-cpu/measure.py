"""Issue 15 items 4-5 on CPU: autocast's casts of the frozen teacher, ops and time per LIT step.

Run from the repository root (one thread, Inductor's caches off so compile times are cold):

    OMP_NUM_THREADS=1 TORCHINDUCTOR_FORCE_DISABLE_CACHES=1 nice python results/train-step-cpu/measure.py

Writes ``results/train-step-cpu/train_step_cpu.json`` and ``.md``. On CPU the host also does the
arithmetic, so "time per step" is the whole step; what transfers to a GPU is the op counts (each
eager op is at least one kernel launch there) and the casts.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import time
from collections import Counter
from pathlib import Path

import torch
from torch.profiler import profile
from torch.utils._python_dispatch import TorchDispatchMode

from lit_core import TrainConfig
from lit_core.method.lit import make_plan, teacher_forward
from lit_core.training.step import make_train_step
from lit_core.training.teacher_copy import inference_copy, plan_for
from lit_models import create_model

HERE = Path(__file__).parent


class CountOps(TorchDispatchMode):
    """Every aten op that reaches the dispatcher below autocast (autocast's casts included)."""

    def __init__(self):
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def top_level_aten_ops(fn) -> int:
    """aten ops called from Python or a compiled graph (not those nested inside another aten op)."""
    with profile() as prof:
        fn()
    return sum(
        1 for e in prof.events()
        if e.name.startswith("aten::")
        and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))
    )


def batch(size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(size, 3, 32, 32, generator=g), torch.randint(0, 10, (size,), generator=g)


def teacher_casts(teacher_name: str, student_name: str, size: int) -> dict:
    """Ops per teacher forward (with the LIT plan) under bf16 autocast: the teacher vs its copy."""
    teacher = create_model(teacher_name).eval().requires_grad_(False)
    plan = make_plan(teacher, create_model(student_name))
    copy = inference_copy(teacher, torch.bfloat16)
    x, _ = batch(size)
    out = {}
    for name, model, p in (("teacher", teacher, plan), ("copy", copy, plan_for(plan, teacher, copy))):
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16), CountOps() as c:
            teacher_forward(model, x, p)
        out[name] = {"casts": c.ops["_to_copy"] + c.ops["to"], "ops": sum(c.ops.values()),
                     "batch_norm": c.ops["native_batch_norm"]}
    return out


def step_numbers(teacher_name: str, student_name: str, size: int, steps: int, warmup: int,
                 **cfg) -> dict:
    """Compile time (first ``warmup`` steps), then median wall time and ops of a LIT step."""
    torch.manual_seed(0)
    step = make_train_step(create_model(student_name), create_model(teacher_name), "lit",
                           TrainConfig(device="cpu", **cfg))
    data = [batch(size, seed=i) for i in range(4)]
    t0 = time.perf_counter()
    for i in range(warmup):
        step(*data[i % 4])
    first_s = time.perf_counter() - t0
    times = []
    for i in range(steps):
        t = time.perf_counter()
        step(*data[i % 4])
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    casts = None
    if cfg.get("compile", "off") == "off":  # a dispatch mode makes compiled code run eagerly
        with CountOps() as c:
            step(*data[0])
        casts = c.ops["_to_copy"] + c.ops["to"]
    return {
        "teacher": teacher_name, "student": student_name, "batch": size, **cfg,
        "median_step_ms": round(1e3 * median, 2), "min_step_ms": round(1e3 * min(times), 2),
        "steps_timed": steps,
        "warmup_s": round(first_s, 2),
        "compile_s_estimate": round(first_s - warmup * median, 2),
        "top_level_aten_ops_per_step": top_level_aten_ops(lambda: step(*data[1])),
        "casts_per_step": casts,
    }


def markdown(r: dict) -> str:
    """The tables of ``train_step_cpu.md``."""
    t = r["teacher_forward_resnet110_bf16"]
    lines = [
        "# LIT training step on CPU: teacher casts, ops and time per step (issue 15 items 4-5)",
        "",
        f"Command: `{r['command']}`  ",
        f"Device: {r['device']}; torch {r['torch']}; {r['date']}; git commit {r['git_commit']}",
        "",
        "## ResNet-110 teacher forward (LIT plan, batch 32) under bf16 autocast",
        "",
        "| teacher | casts (`aten._to_copy`) | aten ops | batch_norm ops |",
        "|---|---|---|---|",
    ]
    for name in ("teacher", "copy"):
        lines.append(f"| {name} | {t[name]['casts']} | {t[name]['ops']} | {t[name]['batch_norm']} |")
    lines += [
        "",
        "## LIT step (IR phase), batch 32, 1 thread",
        "",
        "| teacher → student | precision | teacher_copy | compile | median ms/step | "
        "compile s (est.) | top-level aten ops/step | casts/step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in r["steps"]:
        lines.append(
            f"| {s['teacher']} → {s['student']} | {s['precision']} | {s.get('teacher_copy', True)} "
            f"| {s.get('compile', 'off')} | {s['median_step_ms']} | {s['compile_s_estimate']} | "
            f"{s['top_level_aten_ops_per_step']} | {s['casts_per_step'] if s['casts_per_step'] is not None else '–'} |"
        )
    return "\n".join(lines) + "\n"


def copy_vs_plain(teacher_name: str, student_name: str, size: int, steps: int) -> list[dict]:
    """bf16 LIT steps with and without the teacher copy, timed alternately (the machine is shared,
    so both see the same load)."""
    made = {}
    for copy in (False, True):
        torch.manual_seed(0)
        made[copy] = make_train_step(create_model(student_name), create_model(teacher_name), "lit",
                                     TrainConfig(device="cpu", precision="bf16", teacher_copy=copy))
    data = [batch(size, seed=i) for i in range(4)]
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(steps + 2):
        for copy, step in made.items():
            t = time.perf_counter()
            step(*data[i % 4])
            if i >= 2:  # two warm-up steps each
                times[copy].append(time.perf_counter() - t)
    rows = []
    for copy, step in made.items():
        with CountOps() as c:
            step(*data[0])
        rows.append({
            "teacher": teacher_name, "student": student_name, "batch": size, "precision": "bf16",
            "teacher_copy": copy, "median_step_ms": round(1e3 * statistics.median(times[copy]), 2),
            "min_step_ms": round(1e3 * min(times[copy]), 2), "steps_timed": steps,
            "warmup_s": None, "compile_s_estimate": 0.0,
            "top_level_aten_ops_per_step": top_level_aten_ops(lambda s=step: s(*data[1])),
            "casts_per_step": c.ops["_to_copy"] + c.ops["to"],
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    args = ap.parse_args()
    steps = 3 if args.quick else args.steps
    torch.set_num_threads(1)
    rows = []
    # item 4: casts and time per LIT step, ResNet-110 → ResNet-20, bf16, with and without the copy
    rows += copy_vs_plain("resnet110", "resnet20", 32, steps)
    print(rows[-2:], flush=True)
    # item 5: compile modes, ResNet-20 → ResNet-8, fp32 and bf16
    for precision in ("fp32", "bf16"):
        for mode in ("off", "teacher", "step"):
            rows.append(step_numbers("resnet20", "resnet8", 32, steps, 3, precision=precision,
                                     compile=mode))
            print(rows[-1], flush=True)
    result = {
        "command": "OMP_NUM_THREADS=1 TORCHINDUCTOR_FORCE_DISABLE_CACHES=1 nice python "
                   "results/train-step-cpu/measure.py" + (" --quick" if args.quick else ""),
        "device": f"CPU ({platform.processor() or platform.machine()}), 2 cores shared, 1 thread",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip(),
        "torch": torch.__version__,
        "teacher_forward_resnet110_bf16": teacher_casts("resnet110", "resnet20", 32),
        "steps": rows,
    }
    (HERE / "train_step_cpu.json").write_text(json.dumps(result, indent=2) + "\n")
    (HERE / "train_step_cpu.md").write_text(markdown(result))
    print(json.dumps(result["teacher_forward_resnet110_bf16"]))


if __name__ == "__main__":
    main()
