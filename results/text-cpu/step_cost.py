"""CPU seconds per training step of each text-cpu job, to estimate the preset's wall time.

Process CPU time (not wall time) is measured, so a loaded shared machine still gives a usable
per-step cost: on a quiet machine, wall time ≈ CPU time / threads used.

Run: OMP_NUM_THREADS=1 nice python results/text-cpu/step_cost.py [STEPS]
"""

from __future__ import annotations

import sys
import time

import torch

import lit_models
from lit_core.data import BatchLoader, load_data
from lit_core.app.presets import job_config, load_toml
from lit_core.training.step import make_train_step


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    cfg = load_toml("configs/text-cpu.toml")
    d = {k: v for k, v in cfg["data"].items() if k != "eval_batch_size"}
    data = load_data(**d)
    m = cfg["models"]
    torch.manual_seed(0)
    teacher = lit_models.create_model(m["teacher"], **data.model_kwargs(), **m["teacher_kwargs"])
    batches = list(BatchLoader(data.train, cfg["train"]["batch_size"], shuffle=True))[: steps + 2]
    jobs = [("teacher", "scratch", "first", None), ("scratch", "scratch", "first", teacher),
            ("kd", "kd", "first", teacher), ("lit-ir", "lit", "first", teacher),
            ("lit-finetune", "lit", "last", teacher)]
    print(f"threads={torch.get_num_threads()} batch={cfg['train']['batch_size']} "
          f"steps/epoch={len(data.train) // cfg['train']['batch_size'] + 1}")
    for name, method, phase, t in jobs:
        model = teacher if name == "teacher" else lit_models.create_model(
            m["student"], **data.model_kwargs(), **m["student_kwargs"])
        tc = job_config(cfg, "teacher" if name == "teacher" else method).replace(device="cpu")
        step = make_train_step(model, None if name in ("teacher", "scratch") else t, method, tc, phase)
        for x, y in batches[:2]:  # warm-up
            step(x, y)
        c0, w0 = time.process_time(), time.perf_counter()
        for x, y in batches[2:]:
            step(x, y)
        cpu, wall = (time.process_time() - c0) / steps, (time.perf_counter() - w0) / steps
        print(f"{name:13s} cpu {cpu * 1000:7.1f} ms/step  wall {wall * 1000:7.1f} ms/step", flush=True)
        if name == "teacher":
            teacher.eval()


if __name__ == "__main__":
    main()
