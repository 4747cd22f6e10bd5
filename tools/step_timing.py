"""Time one LIT and one KD training step (resnet110 → resnet20) per ``train.compile`` setting.

The prepared GPU check's training step (tools/gpu_check.sh, issue 21 item 6): batch 128, bf16,
``train.compile`` off / teacher / step. Each setting: a fresh teacher, student and step
(``lit_core.make_train_step``, the set-up ``fit`` uses), ``--warmup`` untimed steps (the first
compiles; its seconds are recorded), then ``--steps`` back-to-back steps timed with lit-bench's
clock (CUDA events on a GPU, one sync at the end; the host clock on CPU), as the bench times its
rows. One JSON line per setting is appended to ``--out`` as soon as it is measured, so a step
timeout keeps what was finished; a markdown table goes to stdout. Random data: a step's time does
not depend on the values.

    python tools/step_timing.py --device cuda --out steps.jsonl
    python tools/step_timing.py --device cpu --batch 4 --steps 1 --warmup 1 --precision fp32 --compile off
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(prog="tools/step_timing.py", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--precision", default="bf16", choices=("fp32", "bf16", "fp16"))
    p.add_argument("--methods", type=_csv, default=["lit", "kd"])
    p.add_argument("--compile", type=_csv, default=["off", "teacher", "step"], dest="compile_modes")
    p.add_argument("--steps", type=int, default=20, help="timed steps per setting")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (the first compiles)")
    p.add_argument("--teacher", default="resnet110")
    p.add_argument("--student", default="resnet20")
    p.add_argument("--out", type=Path, default=None, help="append one JSON line per setting here")
    args = p.parse_args(argv)
    if args.batch < 1 or args.steps < 1 or args.warmup < 1:
        p.error("--batch, --steps and --warmup must be >= 1")
    return args


def time_setting(args: argparse.Namespace, method: str, compile_mode: str) -> dict:
    """Warm up and time one method under one ``train.compile`` setting; a row of the table."""
    from lit_bench.timing import clock_for, time_block
    from lit_core import TrainConfig, make_train_step
    from lit_models import create_model

    cfg = TrainConfig(device=args.device, precision=args.precision, channels_last=True, progress=False,
                      compile=compile_mode)
    torch.manual_seed(0)
    step = make_train_step(create_model(args.student), create_model(args.teacher), method, cfg, phase="first")
    device = step.device
    x = torch.randn(args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    clock = clock_for(device)
    t0 = time.perf_counter()
    step(x, y)
    clock.settle()
    first_s = time.perf_counter() - t0
    for _ in range(args.warmup - 1):
        step(x, y)
    clock.settle()
    (per_step_s,) = time_block(lambda: step(x, y), args.steps, clock, per_call=False)
    parts, _ = step(x, y)
    return {
        "method": method, "compile": compile_mode, "teacher": args.teacher, "student": args.student,
        "batch_size": args.batch, "precision": args.precision, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "step_ms": per_step_s * 1e3, "steps": args.steps, "first_step_s": first_s,
        "loss_finite": bool(torch.isfinite(parts.total).item()), "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    """Time every method × compile setting; exit 1 if any setting failed or gave a non-finite loss."""
    args = parse_args(argv)
    rows, failed = [], 0
    print("| method | train.compile | ms per step | first step s | loss finite |\n|---|---|--:|--:|---|")
    for compile_mode in args.compile_modes:
        for method in args.methods:
            try:
                row = time_setting(args, method, compile_mode)
            except Exception as exc:  # one setting failing must not hide the others
                text = str(exc).strip().splitlines()
                row = {"method": method, "compile": compile_mode,
                       "error": f"{type(exc).__name__}: {text[0] if text else ''}"}
            rows.append(row)
            if "error" in row or not row["loss_finite"]:
                failed += 1
            if args.out is not None:
                with args.out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
            if "error" in row:
                print(f"| {method} | {compile_mode} | failed: {row['error']} | – | – |", flush=True)
            else:
                print(f"| {method} | {compile_mode} | {row['step_ms']:.2f} | {row['first_step_s']:.1f} | "
                      f"{row['loss_finite']} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
