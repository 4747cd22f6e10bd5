"""Teacher-forward share of a LIT and a KD training step on CPU, and the step with cached outputs.

For each teacher → student pair: the real ``lit_core`` TrainStep of LIT's IR phase (eq. 1) and
of KD (eq. 2), timed as is ("full"), with ``lit_core.method.lit.teacher_forward`` replaced by a lookup
in a ``TeacherCache`` ("cached", what the integrated cache will cost), and the teacher's forward
alone (no_grad). Also the teacher's own from-scratch step (for the study's cost estimate).
Variants are interleaved round by round so load changes on a shared machine hit all alike.

    OMP_NUM_THREADS=1 python results/teacher-cache/measure.py --pairs resnet20:resnet8
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

import lit_core.method.lit as lit_module
from lit_core import TrainConfig, make_train_step
from lit_core.data import ArrayDataset
from lit_core.method.lit import make_plan, teacher_forward
from lit_core.training.teacher_cache import TeacherCache
from lit_models import create_model


def build(name: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model(name, num_classes=10, in_chans=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default="resnet20:resnet8")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "measured.json")
    args = ap.parse_args()
    torch.manual_seed(0)
    pool = ArrayDataset(torch.randn(args.batch * 4, 1, 28, 28), torch.randint(0, 10, (args.batch * 4,)))
    cfg = TrainConfig(device="cpu", batch_size=args.batch, progress=False)
    results = []
    original = lit_module.teacher_forward
    for pair in args.pairs.split(","):
        t_name, s_name = pair.split(":")
        teacher = build(t_name, 1).eval().requires_grad_(False)
        plan = make_plan(teacher, build(s_name, 2), "all", True)
        caches = {"lit": TeacherCache.build(teacher, pool, plan=plan),
                  "kd": TeacherCache.build(teacher, pool)}
        steps = {"lit": make_train_step(build(s_name, 2), teacher, "lit", cfg, "first"),
                 "kd": make_train_step(build(s_name, 3), teacher, "kd", cfg, "first"),
                 "teacher_scratch": make_train_step(build(t_name, 4), None, "scratch", cfg, "first")}
        current = {"idx": torch.arange(args.batch)}

        def cached_forward(_teacher, _x, p, cache=None):
            return (caches["lit"] if p is not None else caches["kd"]).lookup(current["idx"])

        def run(variant: str, k: int) -> None:
            idx = torch.arange(k * args.batch, (k + 1) * args.batch) % len(pool)
            current["idx"] = idx
            x, y = pool.images[idx], pool.labels[idx]
            method, _, mode = variant.partition("/")
            if mode == "teacher_forward":
                with torch.no_grad():
                    teacher_forward(teacher, x, plan if method == "lit" else None)
                return
            lit_module.teacher_forward = cached_forward if mode == "cached" else original
            try:
                steps[method](x, y)
            finally:
                lit_module.teacher_forward = original

        variants = ["lit/full", "lit/cached", "lit/teacher_forward", "kd/full", "kd/cached",
                    "kd/teacher_forward", "teacher_scratch/full"]
        times: dict[str, list[float]] = {v: [] for v in variants}
        for v in variants:  # warm-up
            for k in range(2):
                run(v, k)
        for _ in range(args.rounds):
            for v in variants:
                for k in range(args.steps):
                    t0 = time.perf_counter()
                    run(v, k)
                    times[v].append(time.perf_counter() - t0)
        # min: the least-disturbed step on a shared machine; median for the record
        ms = {v: 1e3 * min(t) for v, t in times.items()}
        row = {"teacher": t_name, "student": s_name, "batch": args.batch, "ms_per_step_min": ms,
               "ms_per_step_median": {v: 1e3 * statistics.median(t) for v, t in times.items()}}
        for m in ("lit", "kd"):
            row[f"{m}_teacher_share"] = ms[f"{m}/teacher_forward"] / ms[f"{m}/full"]
            row[f"{m}_saving"] = 1 - ms[f"{m}/cached"] / ms[f"{m}/full"]
        results.append(row)
        print(json.dumps(row, indent=1), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    meta = {"command": "OMP_NUM_THREADS=1 python results/teacher-cache/measure.py --pairs "
                       + args.pairs, "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "commit": commit,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "input": "1x28x28 (Fashion-MNIST shape), random data, 10 classes",
            "steps": args.steps, "rounds": args.rounds,
            "loadavg_1_5_15_at_end": list(__import__("os").getloadavg())}
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
