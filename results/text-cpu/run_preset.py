"""Stand-in for `lit train --preset text-cpu` until the CLI reads text presets (measurement only).

Loads a preset TOML as the CLI does (data table -> load_data, [models] + DataSplits.model_kwargs()
-> lit_models, job_config -> TrainConfig), trains the teacher from scratch, then each method's
student, and prints one row per model: test accuracy, epochs, wall time.

Run: OMP_NUM_THREADS=2 nice python results/text-cpu/run_preset.py PRESET.toml OUT_DIR [TEACHER.pt [KEY=VALUE ...]]
(TEACHER.pt: reuse a trained teacher's best.pt instead of training one; KEY=VALUE: override a
[train] setting of every student job, e.g. finetune_lr=0.01, or methods=lit,kd.)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

import lit_models
from lit_core.io.checkpoint import load_model_weights
from lit_core.data import BatchLoader, load_data
from lit_core.app.presets import job_config, load_toml
from lit_core.training.trainer import fit


def main() -> None:
    cfg, out = load_toml(sys.argv[1]), Path(sys.argv[2])
    teacher_ckpt = sys.argv[3] if len(sys.argv) > 3 else None
    for kv in sys.argv[4:]:
        key, value = kv.split("=", 1)
        if key == "methods":
            cfg["run"]["methods"] = value.split(",")
        else:
            cfg["train"][key] = type(cfg["train"][key])(value) if key in cfg["train"] else float(value)
    d = {k: v for k, v in cfg["data"].items() if k != "eval_batch_size"}
    t0 = time.perf_counter()
    data = load_data(**d)
    print(f"data: {data.describe()} (loaded in {time.perf_counter() - t0:.1f}s)", flush=True)
    ev = cfg["data"].get("eval_batch_size", 500)
    val, test = (BatchLoader(s, ev, shuffle=False) for s in (data.val, data.test))
    models = cfg["models"]

    def build(role: str, seed: int):
        torch.manual_seed(seed)
        return lit_models.create_model(models[role], **data.model_kwargs(), **models.get(f"{role}_kwargs", {}))

    rows = []

    def run(job: str, method: str, student, teacher):
        tc = job_config(cfg, job).replace(progress=False, device="cpu")
        train = BatchLoader(data.train, tc.batch_size, shuffle=True, seed=tc.seed)
        res = fit(student, teacher, train, val, method=method, config=tc, run_dir=out / job,
                  test_loader=test, overwrite=True)
        epochs = [(h["phase"], round(h["val_acc"], 4), round(h["epoch_time_s"], 1)) for h in res.history]
        row = {"job": job, "model": models["teacher" if job == "teacher" else "student"],
               "test_acc": res.test_acc, "best_val_acc": res.best_val_acc,
               "wall_time_s": round(res.wall_time_s, 1), "epochs": epochs}
        rows.append(row)
        print(json.dumps(row), flush=True)

    teacher = build("teacher", 0)
    if teacher_ckpt:
        load_model_weights(teacher, teacher_ckpt)
    else:
        run("teacher", "scratch", teacher, None)
    teacher.eval()
    for method in cfg["run"]["methods"]:
        run(method, method, build("student", 1), teacher)
    total = time.perf_counter() - t0
    (out / "summary.json").write_text(json.dumps({"rows": rows, "total_wall_s": round(total, 1),
                                                  "threads": torch.get_num_threads()}, indent=2))
    print(f"total wall time {total:.0f}s, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
