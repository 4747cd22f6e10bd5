"""Train the StarGAN teacher (G with ``models.teacher_blocks``, and D) once, with a training record."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from ..errors import RunDirExistsError
from ..io.atomic import write_text_atomic
from ..io.runlock import hold_run_lock
from .config import job_settings, validate
from .data import load_domain_data
from .models import build_discriminator, build_generator, conv_layers, param_count
from .teacher_files import save_teacher
from .train import train_gan

__all__ = ["environment", "train_teacher"]


def environment() -> dict:
    """Where and when a run happened: command, date, device, versions, git commit."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, check=False).stdout.strip() or "unknown"
    except OSError:
        sha = "unknown"
    argv = list(sys.argv)
    if argv and argv[0].endswith("__main__.py"):  # python -m <package>
        argv[0] = "-m " + ".".join(Path(argv[0]).parent.parts[-2:])
    return {"command": " ".join(["python", *argv]),
            "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "device": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s)",
            "torch": str(torch.__version__), "python": platform.python_version(), "git_commit": sha}


def train_teacher(config: dict, run_dir: Path, *, resume: bool = False, overwrite: bool = False,
                  export: Path | None = None) -> Path:
    """Train the teacher with the StarGAN objective; write ``run_dir/teacher/`` and return the
    portable teacher file (``export``, default ``run_dir/teacher/teacher.ckpt``, float16)."""
    validate(config)
    out = run_dir / "teacher"
    state = out / "state.pt"  # full training state (optimisers too): large, git-ignored
    if state.exists() and not (resume or overwrite):
        raise RunDirExistsError(f"{state} exists; pass resume=True to continue it or overwrite=True")
    run_dir.mkdir(parents=True, exist_ok=True)
    hold_run_lock(run_dir)  # one writer, as every lit run: a second command stops here
    out.mkdir(exist_ok=True)
    if overwrite and not resume:
        state.unlink(missing_ok=True)
        (out / "history.jsonl").unlink(missing_ok=True)
    data = load_domain_data(config.get("data", {}))
    models = config.get("models", {})
    sched, weights, rest = job_settings(config, "teacher")
    torch.manual_seed(int(rest.get("seed", 0)))
    g = build_generator(models, data, list(models.get("teacher_blocks", [6])))
    d = build_discriminator(models, data)
    log_file = (out / "history.jsonl").open("a")

    def log(rec: dict) -> None:
        log_file.write(json.dumps(rec) + "\n")
        log_file.flush()
        print(f"teacher {rec}", flush=True)

    t0 = time.perf_counter()
    history = train_gan(g, d, data, sched, weights, seed=int(rest.get("seed", 0)),
                        device=rest.get("device", "cpu"), ckpt_path=state, resume=resume, log=log)
    wall = time.perf_counter() - t0
    log_file.close()
    record = {**environment(), "data": data.describe(), "schedule": sched.__dict__, "weights": weights.__dict__,
              "g_params": param_count(g), "g_conv_layers": conv_layers(g), "d_params": param_count(d),
              "wall_seconds_this_session": round(wall, 1),
              "train_seconds_total": history[-1]["seconds"] if history else None, "iters": sched.iters,
              "last_log": history[-1] if history else None}
    write_text_atomic(out / "record.json", json.dumps(record, indent=2) + "\n")
    export = export or out / "teacher.ckpt"
    save_teacher(g, d, export, models=models, meta=record, dtype=torch.float16)
    return export
